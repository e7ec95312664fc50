// Package tunneltest runs a real OpenSSH sshd configured as a hubagent
// relay (the drop-in in packaging/relay) on a loopback port, for the tests
// of the tunnel and of the hubagent binary. Only _test files import it.
package tunneltest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hubagent/hubagent/internal/testutil"
)

// DropIn is the path of the relay's sshd drop-in in the source tree.
func DropIn(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("tunneltest: cannot locate the source tree")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "packaging", "relay", "sshd_config.d", "hubagent-relay.conf")
}

// SSHD is a relay sshd run by a test. Kill and Start simulate a relay
// restart on the same port.
type SSHD struct {
	t        testing.TB
	bin      string
	dir      string
	Addr     string        // 127.0.0.1:port
	User     string        // the user hubs log in as (the test's own user)
	HostKey  ssh.PublicKey // the relay's host key
	KeysFile string        // authorized_keys
	// KeysCommand, when set, is sshd's AuthorizedKeysCommand (an absolute
	// path in a directory tree sshd deems safe, then its arguments, e.g.
	// "%u %k"); run as the test's user.
	KeysCommand string

	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *testutil.SyncBuffer
	done chan struct{}
}

// StartSSHD starts sshd with the relay drop-in, applied to the test's own
// user, and a fresh ed25519 host key. authorizedKeys is the initial
// authorized_keys content.
func StartSSHD(t testing.TB, authorizedKeys string) *SSHD {
	t.Helper()
	return StartSSHDWith(t, authorizedKeys, "")
}

// StartSSHDWith is StartSSHD with sshd asking keysCommand for keys (as the
// relay drop-in does with 'hubagent relay keys'), after authorized_keys.
func StartSSHDWith(t testing.TB, authorizedKeys, keysCommand string) *SSHD {
	t.Helper()
	return startSSHD(t, authorizedKeys, keysCommand, "")
}

// StartSSHDAs is StartSSHD with hubs logging in as login, an unprivileged
// system user (such as nobody), the way a real relay's dedicated user
// does: sshd then separates privileges for each session, which changes
// what a hub costs the relay. It needs root, and skips the test (saying
// why) otherwise.
func StartSSHDAs(t testing.TB, authorizedKeys, login string) *SSHD {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("hubs logging in as %s needs sshd run as root", login)
	}
	if _, err := user.Lookup(login); err != nil {
		t.Skipf("no user %s to log hubs in as: %v", login, err)
	}
	return startSSHD(t, authorizedKeys, "", login)
}

func startSSHD(t testing.TB, authorizedKeys, keysCommand, login string) *SSHD {
	t.Helper()
	bin := testutil.LookTool(t, "sshd")
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// Privilege separation needs its empty directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if login != "" {
		// The login user reads authorized_keys: let it through the temp dirs.
		os.Chmod(filepath.Dir(dir), 0o755)
		os.Chmod(dir, 0o755)
	}
	s := &SSHD{t: t, bin: bin, dir: dir, Addr: testutil.FreeAddr(t), User: u.Username,
		KeysFile: filepath.Join(dir, "authorized_keys"), KeysCommand: keysCommand}
	if login != "" {
		s.User = login
	}
	s.HostKey = s.NewHostKey()
	s.SetAuthorizedKeys(authorizedKeys)
	s.writeConfig()
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// NewHostKey gives the relay a new host key (takes effect at the next
// Start) and returns its public half.
func (s *SSHD) NewHostKey() ssh.PublicKey {
	s.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "relay")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "host_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		s.t.Fatal(err)
	}
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		s.t.Fatal(err)
	}
	s.HostKey = pk
	return pk
}

// HostKeyLine is the relay's host key as the hub's tunnel.host_key.
func (s *SSHD) HostKeyLine() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey)))
}

// SetAuthorizedKeys replaces authorized_keys; sshd reads it at each login.
func (s *SSHD) SetAuthorizedKeys(content string) {
	s.t.Helper()
	// Readable by the login user (public keys only), written whole.
	tmp := s.KeysFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, s.KeysFile); err != nil {
		s.t.Fatal(err)
	}
}

// writeConfig writes sshd_config: the test-only basics, then the relay
// drop-in from packaging with its user and key file pointed at the test's.
func (s *SSHD) writeConfig() {
	s.t.Helper()
	dropIn, err := os.ReadFile(DropIn(s.t))
	if err != nil {
		s.t.Fatal(err)
	}
	d := strings.ReplaceAll(string(dropIn), "Match User hubagent", "Match User "+s.User)
	d = strings.ReplaceAll(d, "/etc/hubagent-relay/authorized_keys", s.KeysFile)
	var lines []string
	for _, l := range strings.Split(d, "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "AuthorizedKeysCommandUser "):
			if s.KeysCommand != "" {
				lines = append(lines, "\tAuthorizedKeysCommandUser "+s.User)
			}
		case strings.HasPrefix(strings.TrimSpace(l), "AuthorizedKeysCommand "):
			if s.KeysCommand != "" {
				lines = append(lines, "\tAuthorizedKeysCommand "+s.KeysCommand)
			}
		default:
			lines = append(lines, l)
		}
	}
	d = strings.Join(lines, "\n")
	if err := os.WriteFile(filepath.Join(s.dir, "relay.conf"), []byte(d), 0o600); err != nil {
		s.t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	cfg := fmt.Sprintf(`Port %s
ListenAddress 127.0.0.1
HostKey %s
PidFile none
UsePAM no
StrictModes no
LogLevel VERBOSE
PermitRootLogin prohibit-password
Include %s
`, port, filepath.Join(s.dir, "host_ed25519"), filepath.Join(s.dir, "relay.conf"))
	if err := os.WriteFile(filepath.Join(s.dir, "sshd_config"), []byte(cfg), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// Start runs sshd and waits (bounded) until it accepts connections.
func (s *SSHD) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = &testutil.SyncBuffer{}
	s.cmd = exec.Command(s.bin, "-D", "-e", "-f", filepath.Join(s.dir, "sshd_config"))
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	cmd := s.cmd
	go func() { cmd.Wait(); close(done) }()
	if !testutil.Poll(10*time.Second, func() bool {
		select {
		case <-done:
			s.t.Fatalf("sshd exited: %s", s.logs)
		default:
		}
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		s.t.Fatalf("sshd not listening on %s within 10s: %s", s.Addr, s.logs)
	}
}

// Kill stops sshd and every session process it forked (each in its own
// session, so not in its process group): a relay restart drops all hubs.
func (s *SSHD) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	pids := descendants(s.cmd.Process.Pid)
	s.cmd.Process.Kill()
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	<-s.done
	s.cmd = nil
}

// Logs returns what sshd logged since it last started.
func (s *SSHD) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		return ""
	}
	return s.logs.String()
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces; fields after ") " are fixed.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 1000 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// CurrentUser is the user the relay sshd lets hubs log in as (the test's
// own).
func CurrentUser(t testing.TB) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// PIDs lists sshd's listener process and every process it forked (the
// hubs' sessions), for measurements.
func (s *SSHD) PIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	return append([]int{s.cmd.Process.Pid}, descendants(s.cmd.Process.Pid)...)
}
