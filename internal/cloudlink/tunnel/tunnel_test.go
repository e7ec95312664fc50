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
	waitFor(t, tun, 10*time.Second, "failing a few attempts while the relay is down", func(s tunnel.Status) bool { return s.Attempts >= 3 })
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
	// No session: sshd never saw the hub authenticate. A success would be
	// in sshd's log, written by its own process a moment after the
	// handshake; there is no event that says "nothing more will be
	// logged", so give it that moment.
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
	// A fake clock: each wait between attempts is recorded and passes at
	// once; after the eighth the tunnel waits until the test ends.
	const rounds = 8
	var mu sync.Mutex
	var waits []time.Duration
	attempts := 0
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := fastOptions(t, relay, "hub", hubKey(t).PublicKey().Type()+" "+keyBase64(hubKey(t)), "127.0.0.1:1", hubKey(t))
	opts.MinBackoff, opts.MaxBackoff = 100*time.Millisecond, time.Second
	opts.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	opts.After = func(d time.Duration) <-chan time.Time {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		if len(waits) > rounds {
			return nil // blocks; Run leaves on the test's cancel
		}
		now = now.Add(d)
		c := make(chan time.Time, 1)
		c <- now
		return c
	}
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		attempts++
		mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	tun := runTunnel(t, opts)
	testutil.Eventually(t, 10*time.Second, "nine failed attempts", func() bool { mu.Lock(); defer mu.Unlock(); return len(waits) > rounds })
	st := tun.Status()
	mu.Lock()
	defer mu.Unlock()
	if attempts != rounds+1 {
		t.Errorf("%d attempts after %d waits, want one per wait", attempts, len(waits))
	}
	if st.State != tunnel.StateError || !strings.Contains(st.LastError, "connection refused") || st.NextAttempt == nil || st.LastErrorAt == nil {
		t.Fatalf("status = %+v", st)
	}
	if got, want := st.NextAttempt.Sub(*st.LastErrorAt), waits[rounds]; got != want {
		t.Errorf("next attempt announced %v after the last error, but the wait is %v", got, want)
	}
	t.Logf("waits between attempts: %v", waits)
	// Waits of [d/2, d] for d = 0.1, 0.2, 0.4, 0.8, 1, 1... s: they grow
	// while the delay doubles and stay under the cap after.
	d := 100 * time.Millisecond
	for i, w := range waits {
		if w < d/2 || w > d {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, d/2, d)
		}
		d = min(2*d, time.Second)
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
