package tunnel_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/testutil"
)

// hubKey makes a hub's key in a temporary data directory.
func hubKey(t testing.TB) ssh.Signer {
	t.Helper()
	s, err := tunnel.LoadOrCreateKey(filepath.Join(t.TempDir(), "tunnel_ed25519"), "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// whoami is what the test route saw of a request.
type whoami struct {
	RemoteAddr string `json:"remoteAddr"`
	Host       string `json:"host"`
	Proto      string `json:"proto"`
	FromTunnel bool   `json:"fromTunnel"`
}

// testHandler is the real cloudlink handler (healthz, metrics) with a test
// route that echoes what the handler sees of the request.
func testHandler(hubID string) http.Handler {
	srv := cloudlink.NewServer(cloudlink.Options{HubID: hubID, Version: "test",
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "metrics\n") })})
	mux := http.NewServeMux()
	mux.Handle("/", srv.Handler())
	mux.HandleFunc("GET /test/whoami", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(whoami{RemoteAddr: r.RemoteAddr, Host: r.Host,
			Proto: r.Header.Get("X-Forwarded-Proto"), FromTunnel: tunnel.FromTunnel(r.Context())})
	})
	return mux
}

// testLogger sends the tunnel's log to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fastOptions are tunnel options with test-sized timings.
func fastOptions(t testing.TB, relay, user, hostKey, remote string, signer ssh.Signer) tunnel.Options {
	return tunnel.Options{
		Relay: relay, User: user, HostKey: hostKey, RemoteListen: remote, Signer: signer,
		Handler: testHandler("hub-test"), ConnContext: cloudlink.MarkTunnel, Logger: testLogger(t),
		KeepaliveInterval: 500 * time.Millisecond, MinBackoff: 100 * time.Millisecond,
		MaxBackoff: 800 * time.Millisecond, DialTimeout: 5 * time.Second,
	}
}

// runTunnel runs a tunnel until the test ends.
func runTunnel(t testing.TB, opts tunnel.Options) *tunnel.Tunnel {
	t.Helper()
	tun, err := tunnel.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tun.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("tunnel did not stop within 10s")
		}
	})
	return tun
}

// waitFor polls the tunnel's status until cond holds (bounded).
func waitFor(t testing.TB, tun *tunnel.Tunnel, within time.Duration, what string, cond func(tunnel.Status) bool) tunnel.Status {
	t.Helper()
	var st tunnel.Status
	if !testutil.Poll(within, func() bool { st = tun.Status(); return cond(st) }) {
		t.Fatalf("tunnel not %s within %v; status %+v", what, within, st)
	}
	return st
}

func isConnected(st tunnel.Status) bool { return st.State == tunnel.StateConnected }

// get fetches http://addr+path and returns status and body.
func get(t testing.TB, addr, path string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s through %s: %v", path, addr, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// authLine is an authorized_keys line for a hub key allowed to listen on
// remote.
func authLine(s ssh.Signer, remote string) string {
	return tunnel.AuthorizedKeysLine(s.PublicKey(), remote, "test") + "\n"
}

// freezeProxy forwards TCP to a target and can go silent without closing
// anything: what a relay behind a dead uplink looks like to the hub.
type freezeProxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	closed atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezeProxy(t testing.TB, target string) *freezeProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezeProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *freezeProxy) addr() string { return p.ln.Addr().String() }

func (p *freezeProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go p.pipe(c, u)
		go p.pipe(u, c)
	}
}

func (p *freezeProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.frozen.Load() && !p.closed.Load() { // a frozen link holds what it read until thawed or closed
			time.Sleep(10 * time.Millisecond)
		}
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

func (p *freezeProxy) close() {
	p.closed.Store(true)
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func sshAuthorized(k ssh.PublicKey) []byte { return ssh.MarshalAuthorizedKey(k) }

func keyBase64(s ssh.Signer) string {
	return strings.Fields(string(ssh.MarshalAuthorizedKey(s.PublicKey())))[1]
}
