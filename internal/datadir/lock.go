package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockName is the lock file in the data directory.
const LockName = "hubagent.lock"

// ErrLocked is returned (wrapped) by Lock when another process holds the
// data directory.
var ErrLocked = errors.New("data directory in use")

// Lock is the exclusive hold of one agent on a data directory. The kernel
// releases it when the process ends, however it ends, so a crashed agent
// never leaves a stale lock behind; the file itself stays (removing it
// would let two processes lock two different files of the same name).
type Lock struct {
	f *os.File
}

// Acquire takes the data directory's lock without waiting. It must come
// before the database is opened: the lock, not the socket, is what makes
// one agent per data directory.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, unwrapPath(err))
	}
	if err := flockExclusive(f); err != nil {
		f.Close()
		if errors.Is(err, ErrLocked) {
			holder := "another process"
			if b, err := os.ReadFile(path); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
					holder = "process " + strconv.Itoa(pid)
				}
			}
			return nil, fmt.Errorf("another hubagent (%s) is already running with data directory %s: %w", holder, dir, ErrLocked)
		}
		return nil, fmt.Errorf("data directory %s: lock %s: %w", dir, path, err)
	}
	// The holder's pid, for the message above and for people; informative
	// only, the flock is what counts.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) //nolint:errcheck // informative
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up (process exit does too).
func (l *Lock) Release() error { return l.f.Close() }
