package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/testutil"
)

// binPath is the hubagent binary built once for the tests that run it as a
// separate process, the way an installer or a script does.
var binPath string

func TestMain(m *testing.M) {
	// The tests here run the real binary against real brokers, sshd and
	// partners: they mostly wait on other processes (and the conformance
	// kit waits out token lifetimes), so more of them run at once than
	// go test's default of one per CPU: 16 lets the long ones (the 20 s
	// Control flood, the conformance kit's worlds) start at once instead of
	// queueing behind short ones. An explicit -parallel wins.
	flag.Parse()
	testutil.ParallelAtLeast(16)
	dir, err := os.MkdirTemp("", "hubagent-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0o755) // reachable by the unprivileged user in permission tests
	binPath = filepath.Join(dir, "hubagent")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build hubagent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t testing.TB) string { t.Helper(); return testutil.FreeAddr(t) }

// agent is a hubagent run process started by a test.
type agent struct {
	cmd    *exec.Cmd
	api    string
	stderr *bytes.Buffer
	done   chan struct{} // closed once the process has exited
}

// cleanEnv drops HUBAGENT_* variables of the test's own environment, so an
// operator's settings cannot leak into the agent under test.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUBAGENT_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

func startAgent(t testing.TB, dir string, args ...string) *agent {
	t.Helper()
	return startAgentVia(t, dir, nil, args...)
}

// startAgentVia starts the agent through a wrapper command (wrap, then the
// binary and its arguments), e.g. in a mount namespace of its own.
func startAgentVia(t testing.TB, dir string, wrap []string, args ...string) *agent {
	t.Helper()
	a := &agent{api: freePort(t), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	full := append([]string{binPath, "run", "--api-listen", a.api, "--mqtt-listen", freePort(t)}, args...)
	full = append(append([]string{}, wrap...), full...)
	a.cmd = exec.Command(full[0], full[1:]...)
	a.cmd.Dir = dir
	// No mDNS on the machine's real interfaces from tests; mdns_test.go
	// runs it on a link of its own.
	a.cmd.Env = cleanEnv("HUBAGENT_MDNS_ENABLED=false")
	a.cmd.Stderr = a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		<-a.done
	})
	return a
}

// healthz polls /healthz until it answers or the deadline passes.
func (a *agent) healthz(t testing.TB, within time.Duration) map[string]any {
	t.Helper()
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var h map[string]any
	if !testutil.Poll(within, func() bool {
		select {
		case <-a.done:
			t.Fatalf("agent exited: %v\n%s", a.cmd.ProcessState, a.stderr)
		default:
		}
		resp, err := hc.Get("https://" + a.api + "/healthz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return true
	}) {
		t.Fatalf("no /healthz answer within %v\n%s", within, a.stderr)
	}
	return h
}

// stop sends SIGTERM and returns the exit code.
func (a *agent) stop(t testing.TB, within time.Duration) int {
	t.Helper()
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(within):
		t.Fatalf("agent did not stop within %v", within)
	}
	return a.cmd.ProcessState.ExitCode()
}

// hubagent runs one CLI command and returns stdout, stderr and exit code.
func hubagent(t testing.TB, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}
