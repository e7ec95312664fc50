package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel/tunneltest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// testRelay is one relay as an operator runs it: the real sshd with the
// packaged drop-in asking `hubagent relay keys` for keys, the real nginx
// with the packaged block, and `hubagent relay serve` between them.
type testRelay struct {
	name, domain, registry string
	data                   string // relay data dir (SQLite registry when registry is "")
	sshd                   *tunneltest.SSHD
	nginx                  *testutil.Nginx
	tls                    *testutil.TLSFiles
	https                  string // nginx's loopback address
	serveAddr              string
	ports                  string
	mapFile, hostKeyFile   string
	serve                  *exec.Cmd
	serveDone              chan struct{}
	serveLog               *bytes.Buffer
}

func startRelay(t *testing.T, name, registry string, tlsFiles *testutil.TLSFiles) *testRelay {
	t.Helper()
	r := &testRelay{name: name, domain: name + ".relay.test", registry: registry, data: t.TempDir(), tls: tlsFiles}
	if r.registry == "" {
		r.registry = filepath.Join(r.data, "relay.db")
	}
	var ps []string
	for i := 0; i < 3; i++ {
		_, p, _ := net.SplitHostPort(freePort(t))
		ps = append(ps, p)
	}
	r.ports = strings.Join(ps, ",")
	keysBin := testutil.SafeCopy(t, binPath)
	u := tunneltest.CurrentUser(t)
	r.sshd = tunneltest.StartSSHDWith(t, "", keysBin+" relay keys --registry "+r.registry+" --name "+name+" --user "+u+" %u %k")
	r.hostKeyFile = filepath.Join(r.data, "ssh_host_ed25519_key.pub")
	if err := os.WriteFile(r.hostKeyFile, []byte(r.sshd.HostKeyLine()+" root@relay\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.mapFile = filepath.Join(r.data, "enrolled.map")
	r.serveAddr = freePort(t)
	r.https = freePort(t)
	r.nginx = testutil.StartNginx(t, testutil.RelayNginxConf(t, r.https, r.domain, tlsFiles.CertFile, tlsFiles.KeyFile, r.data, r.serveAddr), r.https)
	r.startServe(t)
	return r
}

// startServe runs `hubagent relay serve` and waits for it to answer.
func (r *testRelay) startServe(t *testing.T) {
	t.Helper()
	r.serveLog = &bytes.Buffer{}
	r.serve = exec.Command(binPath, "relay", "serve", "--registry", r.registry, "--name", r.name, "--listen", r.serveAddr,
		"--ssh-addr", r.sshd.Addr, "--host-key", r.hostKeyFile, "--user", r.sshd.User, "--domain", r.domain,
		"--ports", r.ports, "--map", r.mapFile, "--upstreams", filepath.Join(r.data, "enrolled.upstreams"), "--nginx-pid", r.nginx.PIDFile())
	r.serve.Env = cleanEnv()
	r.serve.Stderr = r.serveLog
	if err := r.serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	r.serveDone = done
	cmd := r.serve
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	testutil.Eventually(t, 10*time.Second, "relay serve listening", func() bool {
		select {
		case <-done:
			t.Fatalf("relay serve exited: %s", r.serveLog)
		default:
		}
		c, err := net.DialTimeout("tcp", r.serveAddr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (r *testRelay) stopServe(t *testing.T) {
	r.serve.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.serveDone:
	case <-time.After(10 * time.Second):
		t.Fatal("relay serve did not stop")
	}
}

// cli runs a relay command against this relay's registry.
func (r *testRelay) cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return hubagent(t, r.data, append(args, "--registry", r.registry, "--name", r.name)...)
}

func (r *testRelay) tokens(t *testing.T, n int, expires string) []string {
	t.Helper()
	out, errOut, code := r.cli(t, "relay", "token", "create", "--count", itoa(int64(n)), "--expires", expires, "--json")
	if code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errOut)
	}
	var v struct{ Tokens []string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || len(v.Tokens) != n {
		t.Fatalf("token create: %v %q", err, out)
	}
	return v.Tokens
}

func (r *testRelay) enrollURL() string { return "https://" + r.https }

// client reaches names of this relay through its nginx, verifying the
// certificate against the test CA.
func (r *testRelay) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: r.tls.Pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, r.https)
		},
		DisableKeepAlives: true,
	}}
}
