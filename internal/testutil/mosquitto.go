package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Mosquitto is a real mosquitto broker started by a test on a free
// loopback port, with its config, persistence file and log in a temp dir.
// Retained messages survive Stop/Restart (persistence is on and mosquitto
// saves on SIGTERM), as they would on a household's broker.
type Mosquitto struct {
	t    testing.TB
	bin  string
	dir  string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartMosquitto starts mosquitto and waits until it accepts connections.
// extra lines are appended to its config (for example
// "max_queued_messages 0"). It is stopped when the test ends. The test is
// skipped (or fails under CI) when mosquitto is not installed.
func StartMosquitto(t testing.TB, extra ...string) *Mosquitto {
	t.Helper()
	m := &Mosquitto{t: t, bin: LookTool(t, "mosquitto"), dir: t.TempDir(), addr: FreeAddr(t)}
	_, port, _ := net.SplitHostPort(m.addr)
	conf := []string{
		"listener " + port + " 127.0.0.1",
		"allow_anonymous true",
		// Run as root, mosquitto would switch to its own user, which cannot
		// write the test's temp dir; stay who we are.
		"user " + currentUser(t),
		"persistence true",
		"persistence_location " + m.dir + "/",
		"log_dest file " + filepath.Join(m.dir, "mosquitto.log"),
		"log_type error",
		"log_type warning",
		"log_type notice",
	}
	conf = append(conf, extra...)
	if err := os.WriteFile(filepath.Join(m.dir, "mosquitto.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(m.Stop)
	return m
}

func currentUser(t testing.TB) string {
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	return u.Username
}

// Addr is the broker's host:port.
func (m *Mosquitto) Addr() string { return m.addr }

// URL is the broker's tcp:// URL.
func (m *Mosquitto) URL() string { return "tcp://" + m.addr }

// Log returns what the broker logged so far (for failure messages).
func (m *Mosquitto) Log() string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "mosquitto.log"))
	return string(b)
}

func (m *Mosquitto) start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", filepath.Join(m.dir, "mosquitto.conf"))
	m.cmd.Dir = m.dir
	m.done = make(chan struct{})
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(m.cmd, m.done)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", m.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-m.done:
			m.t.Fatalf("mosquitto exited: %v\n%s", m.cmd.ProcessState, m.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	m.t.Fatalf("mosquitto does not listen on %s after 10s\n%s", m.addr, m.Log())
}

// Stop terminates the broker (SIGTERM, so it saves retained messages) and
// waits for it to exit. Stopping a stopped broker does nothing.
func (m *Mosquitto) Stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

// Restart stops the broker if it runs and starts it again on the same port
// with the same persistence.
func (m *Mosquitto) Restart() {
	m.t.Helper()
	m.Stop()
	m.start()
}

// String names the broker in test output.
func (m *Mosquitto) String() string { return fmt.Sprintf("mosquitto on %s", m.addr) }
