package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestCheckRefusesDirectoriesOthersCanWrite(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		want string // "" = accepted
	}{
		{0o700, ""}, {0o750, ""}, {0o755, ""},
		{0o777, "writable by group or others (mode 0777): run 'chmod go-w"},
		{0o770, "mode 0770"}, {0o702, "mode 0702"}, {0o720, "mode 0720"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := Check(dir)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("mode %04o refused: %v", tc.mode, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir)):
			t.Errorf("mode %04o: %v, want it to name %s and say %q", tc.mode, err, dir, tc.want)
		}
	}
}

func TestCheckRefusesAnotherUsersDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "data")
	os.Mkdir(dir, 0o700)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("another user's directory: %v", err)
	}
	// Like sshd, a directory root owns is accepted (a packaged /var/lib).
	os.Chown(dir, 0, 0)
	if err := Check(dir); err != nil {
		t.Fatalf("root's directory: %v", err)
	}
}

func TestCheckRefusesMissingDirectoryWithoutCreatingIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nonexistent")
	if err := Check(dir); !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("missing directory: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("Check created the directory")
	}
}

func TestCheckDatabaseRefusesEmptyDatabaseBesideKeys(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "hubagent.db")
	os.WriteFile(db, nil, 0o600)
	if err := CheckDatabase(dir, "hubagent.db", "oauth-signing.key"); err != nil {
		t.Fatalf("empty database, no keys (a new hub): %v", err)
	}
	os.WriteFile(filepath.Join(dir, "oauth-signing.key"), []byte("k"), 0o600)
	if err := CheckDatabase(dir, "hubagent.db", "oauth-signing.key"); err == nil || !strings.Contains(err.Error(), "empty (0 bytes)") {
		t.Fatalf("empty database beside a key: %v", err)
	}
	os.WriteFile(db, []byte("SQLite format 3\x00"), 0o600)
	if err := CheckDatabase(dir, "hubagent.db", "oauth-signing.key"); err != nil {
		t.Fatalf("non-empty database: %v", err)
	}
}

func TestAcquireIsExclusiveUntilReleased(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	l.Release()
	l2, err := Acquire(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}
