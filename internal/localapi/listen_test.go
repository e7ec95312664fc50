package localapi

import (
	"os"
	"path/filepath"
	"testing"
)

// A process removes the control socket only while it is still the one it
// created: an agent closing late never deletes another agent's socket.
func TestCloseRemovesOnlyItsOwnSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	first, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path) // the socket of the first is gone; another takes its place
	second, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("closing the first listener removed the second's socket: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v", fi.Mode().Perm())
	}
	second.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("closing the second listener left its socket: %v", err)
	}
}
