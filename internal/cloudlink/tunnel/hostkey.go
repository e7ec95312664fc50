package tunnel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a relay host key that does not match the pinned one. No
// session is set up: it may be someone else answering at the relay's
// address.
type HostKeyError struct {
	Relay    string
	Got      ssh.PublicKey
	Want     ssh.PublicKey
	PinnedIn string // "" when pinned by tunnel.host_key in the configuration
}

func (e *HostKeyError) Error() string {
	where := "tunnel.host_key"
	fix := "if the relay's key really changed, update tunnel.host_key"
	if e.PinnedIn != "" {
		where = "the key pinned on first use in " + e.PinnedIn
		fix = "if the relay's key really changed, delete that file"
	}
	return fmt.Sprintf("relay host key mismatch: %s presented %s %s, but %s is %s %s; refusing to connect (possible impersonation; %s)",
		e.Relay, e.Got.Type(), ssh.FingerprintSHA256(e.Got), where, e.Want.Type(), ssh.FingerprintSHA256(e.Want), fix)
}

// hostKeys decides whether a relay's host key is trusted: the configured
// key when there is one, else (accept_new) the key pinned in the pin file,
// else the first key seen, which is then pinned.
type hostKeys struct {
	relay   string
	pinned  ssh.PublicKey // from the configuration; nil with accept_new
	pinFile string        // accept_new only
	log     *slog.Logger

	mu sync.Mutex // serialises first-use pinning
}

// current returns the key the relay must present, and where it was pinned
// ("" = configuration). nil means none yet (accept_new, first connection).
func (h *hostKeys) current() (ssh.PublicKey, string, error) {
	if h.pinned != nil {
		return h.pinned, "", nil
	}
	data, err := os.ReadFile(h.pinFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("relay host key pin %s: %w", h.pinFile, err)
	}
	k, err := FindPin(data, h.relay)
	if err != nil {
		return nil, "", fmt.Errorf("relay host key pin %s: %w", h.pinFile, err)
	}
	return k, h.pinFile, nil
}

// algorithms are the host key algorithms to offer for the pinned key, so
// a relay with several host keys presents the one that was pinned.
func algorithms(k ssh.PublicKey) []string {
	if k == nil {
		return nil
	}
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{k.Type()}
}

// callback returns the HostKeyCallback for one connection attempt and the
// algorithms to ask for.
func (h *hostKeys) callback() (ssh.HostKeyCallback, []string, error) {
	want, where, err := h.current()
	if err != nil {
		return nil, nil, err
	}
	cb := func(_ string, _ net.Addr, got ssh.PublicKey) error {
		if want != nil {
			if !bytes.Equal(got.Marshal(), want.Marshal()) {
				return &HostKeyError{Relay: h.relay, Got: got, Want: want, PinnedIn: where}
			}
			return nil
		}
		return h.pin(got)
	}
	return cb, algorithms(want), nil
}

// pin records the first key seen (accept_new). A key pinned meanwhile by
// another attempt wins and is checked against.
func (h *hostKeys) pin(got ssh.PublicKey) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, where, err := h.current(); err != nil {
		return err
	} else if k != nil {
		if !bytes.Equal(got.Marshal(), k.Marshal()) {
			return &HostKeyError{Relay: h.relay, Got: got, Want: k, PinnedIn: where}
		}
		return nil
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(h.relay)}, got) + "\n"
	if err := os.MkdirAll(filepath.Dir(h.pinFile), 0o700); err != nil {
		return fmt.Errorf("pin relay host key: %w", err)
	}
	f, err := os.OpenFile(h.pinFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pin relay host key: %w", err)
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("pin relay host key %s: %w", h.pinFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pin relay host key %s: %w", h.pinFile, err)
	}
	h.log.Warn("trusting the relay's host key on first use (tunnel.accept_new) and pinning it",
		"relay", h.relay, "key", got.Type()+" "+ssh.FingerprintSHA256(got), "file", h.pinFile)
	return nil
}

// FindPin returns the key pinned for relay in a pin file (known_hosts
// format, one line per relay), nil if there is none. Comment and blank
// lines are skipped; a malformed line is an error, since the file is ours.
func FindPin(data []byte, relay string) (ssh.PublicKey, error) {
	want := knownhosts.Normalize(relay)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		marker, hosts, key, _, _, err := ssh.ParseKnownHosts([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if marker != "" {
			continue
		}
		for _, host := range hosts {
			if host == want {
				return key, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, nil
}
