package testutil

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// SafeCopy copies the executable at src into a directory whose whole path
// is owned by root or the test's user and writable by nobody else, as
// sshd requires of an AuthorizedKeysCommand (the temp dir, under the
// world-writable /tmp, is refused). It skips the test, saying why, when no
// such directory can be made.
func SafeCopy(t testing.TB, src string) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		t.Skipf("no safe directory for sshd's AuthorizedKeysCommand: %v", err)
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Skipf("no safe directory for sshd's AuthorizedKeysCommand: %v", err)
	}
	for d := base; d != "/"; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o022 != 0 {
			t.Skipf("no safe directory for sshd's AuthorizedKeysCommand: %s is writable by others", d)
		}
	}
	dir, err := os.MkdirTemp(base, "hubagent-test-")
	if err != nil {
		t.Skipf("no safe directory for sshd's AuthorizedKeysCommand: %v", err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(dir, filepath.Base(src))
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}
