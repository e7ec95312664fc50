// Package datadir guards the agent's data directory: who may write it, that
// only one agent uses it, and that its database belongs with its keys.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotExist is returned (wrapped) by Check for a missing data directory.
var ErrNotExist = errors.New("data directory does not exist")

type notExistError struct{ dir string }

func (e notExistError) Error() string {
	return fmt.Sprintf("data directory %s does not exist: pass the agent's --data DIR (or 'hubagent run --data %s' makes a new hub there)", e.dir, e.dir)
}

func (e notExistError) Unwrap() error { return ErrNotExist }

// Prepare creates the data directory (0700) when missing and then checks it
// as Check does.
func Prepare(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, unwrapPath(err))
	}
	return Check(dir)
}

// Check refuses, as sshd's StrictModes does for ~/.ssh, a data directory
// that anyone but its user can write: whoever can write it can replace the
// signing key and mint tokens, or the database and its partners. It also
// refuses one owned by another user, and a missing one (read commands must
// not create it: a mistyped --data would otherwise print an empty hub).
func Check(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notExistError{dir}
	case err != nil:
		return fmt.Errorf("data directory %s: %w", dir, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("data directory %s is writable by group or others (mode %04o): run 'chmod go-w %s' (0700 recommended)", dir, perm, dir)
	}
	// Like sshd, root may own it too (a packaged /var/lib directory).
	if uid, ok := owner(fi); ok && uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("data directory %s is owned by uid %d, not by uid %d running hubagent: run 'chown %d %s' or use a directory of your own", dir, uid, os.Geteuid(), os.Geteuid(), dir)
	}
	return nil
}

// CheckDatabase refuses an empty (0-byte) database beside existing keys: a
// truncated file would otherwise start a new hub with a new identity and no
// partners, silently, next to the old hub's keys. keys are file names in
// dir.
func CheckDatabase(dir, dbName string, keys ...string) error {
	db := filepath.Join(dir, dbName)
	fi, err := os.Stat(db)
	if err != nil || fi.Size() > 0 {
		return nil // missing (a new hub) or not empty; Open reports the rest
	}
	for _, k := range keys {
		if _, err := os.Stat(filepath.Join(dir, k)); err == nil {
			return fmt.Errorf("database %s is empty (0 bytes) but this hub's key %s is beside it: restore the database from a backup, or move %s aside to start a new hub", db, k, dir)
		}
	}
	return nil
}

// unwrapPath drops the *PathError's own path, which the caller names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
