//go:build !unix

package datadir

import "os"

// Non-Unix builds are for development only; they do not lock.
func flockExclusive(*os.File) error { return nil }
