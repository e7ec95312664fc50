package tunnel

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestLoadOrCreateKeyMakesOnePrivateKeyAndKeepsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tunnel_ed25519")
	// Concurrent first runs (agent and `tunnel pubkey`) agree on one key.
	var wg sync.WaitGroup
	keys := make([]ssh.PublicKey, 4)
	for i := range keys {
		wg.Go(func() {
			s, err := LoadOrCreateKey(path, "hubagent")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = s.PublicKey()
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k == nil || keys[0] == nil || !bytes.Equal(k.Marshal(), keys[0].Marshal()) {
			t.Fatal("concurrent first runs made different keys")
		}
	}
	if keys[0].Type() != ssh.KeyAlgoED25519 {
		t.Errorf("key type %s, want ed25519", keys[0].Type())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tunnel-key-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	again, err := LoadOrCreateKey(path, "hubagent")
	if err != nil || !bytes.Equal(again.PublicKey().Marshal(), keys[0].Marshal()) {
		t.Fatalf("reload gave another key (%v)", err)
	}
}

func TestLoadOrCreateKeyRefusesKeyReadableByOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if _, err := LoadOrCreateKey(path, "x"); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	_, err := LoadOrCreateKey(path, "x")
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v, want a refusal naming chmod 600", err)
	}
}

func TestAuthorizedKeysLineRestrictsKeyToItsPort(t *testing.T) {
	s, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k"), "x")
	if err != nil {
		t.Fatal(err)
	}
	line := AuthorizedKeysLine(s.PublicKey(), "127.0.0.1:20001", "0123abcd")
	pub, comment, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil || len(rest) != 0 {
		t.Fatalf("line %q does not parse: %v", line, err)
	}
	if !bytes.Equal(pub.Marshal(), s.PublicKey().Marshal()) || comment != "hubagent-0123abcd" {
		t.Errorf("key or comment wrong: %q", line)
	}
	if want := []string{"restrict", "port-forwarding", `permitlisten="127.0.0.1:20001"`}; strings.Join(opts, ",") != strings.Join(want, ",") {
		t.Errorf("options %q, want %q", opts, want)
	}
}
