//go:build nethttpomithttp2

package cloudlink

// lanALPN offers HTTP/1.1 only: the packaged binary is built with the
// nethttpomithttp2 tag (HTTP/2 is 0.5 MB of the stripped arm64 binary and
// the profile's transport is HTTP/1.1 [§7.1]). Offering "h2" without it
// compiled in would let a browser pick a protocol the server cannot speak.
var lanALPN = []string{"http/1.1"}
