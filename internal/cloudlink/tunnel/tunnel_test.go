package tunnel_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel/tunneltest"
	"github.com/hubagent/hubagent/internal/testutil"
)

func TestTunnelServesHandlerEndToEnd(t *testing.T) {
	key := hubKey(t)
	remote := testutil.FreeAddr(t)
	relay := tunneltest.StartSSHD(t, authLine(key, remote))
	opts := fastOptions(t, relay.Addr, relay.User, relay.HostKeyLine(), remote, key)
	opts.TrustForwarded = true
	tun := runTunnel(t, opts)
	st := waitFor(t, tun, 15*time.Second, "connected", isConnected)
	if st.Since == nil || st.RelayKey == "" || st.Attempts != 1 || st.Reconnects != 0 {
		t.Errorf("status after first connect: %+v", st)
	}

	code, body := get(t, remote, "/healthz", nil)
	var h struct{ Status, HubID string }
	if err := json.Unmarshal([]byte(body), &h); code != 200 || err != nil || h.Status != "ok" || h.HubID != "hub-test" {
		t.Fatalf("/healthz through the relay: %d %q", code, body)
	}
	// Loopback-only routes must not be reachable through the tunnel, even
	// though forwarded connections come from the relay's loopback.
	if code, _ := get(t, remote, "/metrics", nil); code != 404 {
		t.Errorf("/metrics through the tunnel: %d, want 404", code)
	}
	// The relay's headers are applied on the tunnel when trusted.
	_, body = get(t, remote, "/test/whoami", map[string]string{
		"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "hub-test.relay.example"})
	var w whoami
	json.Unmarshal([]byte(body), &w)
	if want := (whoami{RemoteAddr: "203.0.113.9:0", Host: "hub-test.relay.example", Proto: "https", FromTunnel: true}); w != want {
		t.Errorf("whoami through the tunnel = %+v, want %+v", w, want)
	}
	// Many requests on one keep-alive connection and in parallel.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if code, _ := get(t, remote, "/healthz", nil); code != 200 {
					t.Errorf("parallel /healthz: %d", code)
				}
			}
		})
	}
	wg.Wait()
}

func TestTunnelReconnectsAfterRelayRestart(t *testing.T) {
	key := hubKey(t)
	remote := testutil.FreeAddr(t)
	relay := tunneltest.StartSSHD(t, authLine(key, remote))
	tun := runTunnel(t, fastOptions(t, relay.Addr, relay.User, relay.HostKeyLine(), remote, key))
	waitFor(t, tun, 15*time.Second, "connected", isConnected)

	relay.Kill()
	st := waitFor(t, tun, 10*time.Second, "noticing the relay went away", func(s tunnel.Status) bool { return s.State != tunnel.StateConnected })
	t.Logf("after kill: %+v", st)
	time.Sleep(time.Second) // a few failed attempts while the relay is down
	relay.Start()

	st = waitFor(t, tun, 15*time.Second, "reconnected", func(s tunnel.Status) bool { return isConnected(s) && s.Reconnects == 1 })
	if st.LastError == "" || st.LastErrorAt == nil || st.Attempts < 3 {
		t.Errorf("status after reconnect should keep the last error and count attempts: %+v", st)
	}
	if code, _ := get(t, remote, "/healthz", nil); code != 200 {
		t.Fatalf("/healthz after reconnect: %d", code)
	}
}

func TestTunnelRefusesWrongRelayHostKey(t *testing.T) {
	key := hubKey(t)
	remote := testutil.FreeAddr(t)
	relay := tunneltest.StartSSHD(t, authLine(key, remote))
	wrong := hubKey(t).PublicKey() // any other key
	opts := fastOptions(t, relay.Addr, relay.User, strings.TrimSpace(string(sshAuthorized(wrong))), remote, key)
	tun := runTunnel(t, opts)
	st := waitFor(t, tun, 10*time.Second, "in error", func(s tunnel.Status) bool { return s.State == tunnel.StateError })
	if !strings.Contains(st.LastError, "host key mismatch") || !strings.Contains(st.LastError, "refusing") {
		t.Errorf("last error = %q, want a host key mismatch", st.LastError)
	}
	// No session: sshd never saw the hub authenticate.
	time.Sleep(300 * time.Millisecond)
	if logs := relay.Logs(); strings.Contains(logs, "Accepted publickey") {
		t.Errorf("the hub authenticated to a relay with the wrong key:\n%s", logs)
	}
	if c, err := net.DialTimeout("tcp", remote, 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("the forward is up although the host key was wrong")
	}
}

func TestTunnelReportsRefusedForward(t *testing.T) {
	hubA, hubB := hubKey(t), hubKey(t)
	portA, portB := testutil.FreeAddr(t), testutil.FreeAddr(t)
	tests := []struct {
		name string
		keys string // authorized_keys
		runA bool   // hub A holds portA first
	}{
		{"second hub's key may not listen on the first hub's port", authLine(hubA, portA) + authLine(hubB, portB), false},
		{"port already taken by the first hub", authLine(hubA, portA) + authLine(hubB, portA), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := tunneltest.StartSSHD(t, tt.keys)
			if tt.runA {
				a := runTunnel(t, fastOptions(t, relay.Addr, relay.User, relay.HostKeyLine(), portA, hubA))
				waitFor(t, a, 15*time.Second, "connected", isConnected)
			}
			b := runTunnel(t, fastOptions(t, relay.Addr, relay.User, relay.HostKeyLine(), portA, hubB))
			st := waitFor(t, b, 10*time.Second, "in error", func(s tunnel.Status) bool { return s.State == tunnel.StateError })
			for _, want := range []string{"relay refused to listen on " + portA, "permitlisten", "port is taken"} {
				if !strings.Contains(st.LastError, want) {
					t.Errorf("last error %q lacks %q", st.LastError, want)
				}
			}
			if st.Sessions != 0 {
				t.Errorf("a refused forward counted as a session: %+v", st)
			}
		})
	}
}

func TestTunnelBacksOffWhenRelayUnreachable(t *testing.T) {
	relay := testutil.FreeAddr(t) // nobody listens: connection refused at once
	var mu sync.Mutex
	var at []time.Time
	opts := fastOptions(t, relay, "hub", hubKey(t).PublicKey().Type()+" "+keyBase64(hubKey(t)), "127.0.0.1:1", hubKey(t))
	opts.MinBackoff, opts.MaxBackoff = 100*time.Millisecond, time.Second
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tun := runTunnel(t, opts)
	time.Sleep(3 * time.Second)
	st := tun.Status()
	mu.Lock()
	defer mu.Unlock()
	// Waits of [d/2, d] for d = 0.1, 0.2, 0.4, 0.8, 1, 1... s: at least 4
	// attempts in 3 s, and far fewer than a busy loop would make.
	if len(at) < 4 || len(at) > 10 {
		t.Fatalf("%d attempts in 3s, want 4..10 (times %v)", len(at), at)
	}
	if st.State != tunnel.StateError || !strings.Contains(st.LastError, "connection refused") || st.NextAttempt == nil {
		t.Errorf("status = %+v", st)
	}
	var gaps []time.Duration
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i].Sub(at[i-1]))
	}
	t.Logf("gaps between attempts: %v", gaps)
	for i := 1; i < len(gaps); i++ {
		// While the delay doubles (0.1 → 0.8 s) each wait is at least the
		// previous delay, so the waits grow; at the cap they only jitter.
		if i < 4 && gaps[i] < gaps[i-1]*8/10 {
			t.Errorf("backoff shrank before reaching the cap: %v", gaps)
		}
		if gaps[i] > 1500*time.Millisecond {
			t.Errorf("wait %v exceeds the 1s cap", gaps[i])
		}
	}
}

func TestTunnelDetectsSilentRelayByKeepalive(t *testing.T) {
	key := hubKey(t)
	remote := testutil.FreeAddr(t)
	relay := tunneltest.StartSSHD(t, authLine(key, remote))
	proxy := newFreezeProxy(t, relay.Addr)
	opts := fastOptions(t, proxy.addr(), relay.User, relay.HostKeyLine(), remote, key)
	opts.KeepaliveInterval = 200 * time.Millisecond
	tun := runTunnel(t, opts)
	waitFor(t, tun, 15*time.Second, "connected", isConnected)

	proxy.frozen.Store(true) // nothing gets through, nothing is closed
	frozeAt := time.Now()
	st := waitFor(t, tun, 5*time.Second, "noticing the silent relay", func(s tunnel.Status) bool { return s.State != tunnel.StateConnected })
	// Two keepalive intervals is the design bound (2 × 15 s = 30 s in
	// production); allow generous slack for a loaded machine.
	if took := time.Since(frozeAt); took > 2*time.Second {
		t.Errorf("took %v to notice the silent relay", took)
	}
	if !strings.Contains(st.LastError, "keepalive") {
		t.Errorf("last error = %q, want keepalive", st.LastError)
	}
}

func TestTunnelSurvivesPanicInAttempt(t *testing.T) {
	key := hubKey(t)
	remote := testutil.FreeAddr(t)
	relay := tunneltest.StartSSHD(t, authLine(key, remote))
	opts := fastOptions(t, relay.Addr, relay.User, relay.HostKeyLine(), remote, key)
	var mu sync.Mutex
	calls := 0
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch n {
		case 1:
			panic("injected fault")
		case 2:
			return nil, errors.New("injected error")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tun := runTunnel(t, opts)
	st := waitFor(t, tun, 15*time.Second, "connected after a panic and an error", isConnected)
	if st.Attempts != 3 || !strings.Contains(st.LastError, "injected error") {
		t.Errorf("status = %+v", st)
	}
	if code, _ := get(t, remote, "/healthz", nil); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
}

func TestTunnelAcceptNewPinsFirstKeyAndRequiresIt(t *testing.T) {
	key := hubKey(t)
	remote := testutil.FreeAddr(t)
	relay := tunneltest.StartSSHD(t, authLine(key, remote))
	pin := filepath.Join(t.TempDir(), "tunnel_known_hosts")
	opts := fastOptions(t, relay.Addr, relay.User, "", remote, key)
	opts.AcceptNew, opts.PinFile = true, pin
	tun := runTunnel(t, opts)
	waitFor(t, tun, 15*time.Second, "connected", isConnected)
	data, err := os.ReadFile(pin)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(pin); fi.Mode().Perm() != 0o600 {
		t.Errorf("pin file mode %v, want 0600", fi.Mode().Perm())
	}
	if k, err := tunnel.FindPin(data, relay.Addr); err != nil || k == nil || string(k.Marshal()) != string(relay.HostKey.Marshal()) {
		t.Fatalf("pinned key %v, %v; file %q", k, err, data)
	}

	// The relay comes back with another key: refused from now on.
	relay.Kill()
	relay.NewHostKey()
	relay.Start()
	st := waitFor(t, tun, 15*time.Second, "refusing the new key", func(s tunnel.Status) bool {
		return strings.Contains(s.LastError, "host key mismatch")
	})
	if !strings.Contains(st.LastError, pin) {
		t.Errorf("error %q should name the pin file", st.LastError)
	}
}
