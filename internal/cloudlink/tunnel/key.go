package tunnel

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// LoadOrCreateKey returns the hub's SSH key at path, making an ed25519 key
// (OpenSSH format, mode 0600) when none exists. A key readable by others is
// refused, as OpenSSH does: it is the hub's identity on the relay.
func LoadOrCreateKey(path, comment string) (ssh.Signer, error) {
	s, err := loadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := createKey(path, comment); err != nil {
		return nil, err
	}
	return loadKey(path)
}

func loadKey(path string) (ssh.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tunnel key %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("tunnel key %s is accessible by others (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tunnel key %s: %w", path, err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			return nil, fmt.Errorf("tunnel key %s is protected by a passphrase; the agent needs an unprotected key", path)
		}
		return nil, fmt.Errorf("tunnel key %s: %w", path, err)
	}
	return s, nil
}

// createKey writes a new key next to path and links it into place, so two
// processes making the key at once (the agent and `tunnel pubkey`) end up
// with the same one: the second link fails and its key is dropped.
func createKey(path, comment string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("tunnel key: generate: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return fmt.Errorf("tunnel key: encode: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tunnel key %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".tunnel-key-*")
	if err != nil {
		return fmt.Errorf("tunnel key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; Chmod guards against an
	// unusual umask-less filesystem.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("tunnel key %s: %w", path, err)
	}
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return fmt.Errorf("tunnel key %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("tunnel key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tunnel key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("tunnel key %s: %w", path, err)
	}
	return nil
}

// AuthorizedKeysLine is the line the relay operator adds to the relay's
// authorized_keys for this hub: the key may do nothing but listen on
// remoteListen (restrict turns off pty, agent, X11 and forwarding;
// port-forwarding turns forwarding back on; permitlisten narrows it to the
// hub's own port, so one hub cannot take another's).
func AuthorizedKeysLine(pub ssh.PublicKey, remoteListen, hubID string) string {
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	return fmt.Sprintf(`restrict,port-forwarding,permitlisten="%s" %s hubagent-%s`, remoteListen, key, hubID)
}
