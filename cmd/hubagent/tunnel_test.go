package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel/tunneltest"
	"github.com/hubagent/hubagent/internal/testutil"
)

// TestTunnelEndToEndWithRealBinary sets a hub up the way an operator does:
// `tunnel pubkey` on the hub, its line into the relay's authorized_keys,
// the agent started with a [tunnel] section; then partners' requests reach
// the hub through the relay's port.
func TestTunnelEndToEndWithRealBinary(t *testing.T) {
	t.Parallel()
	relay := tunneltest.StartSSHD(t, "")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	remote := freePort(t)
	cfg := filepath.Join(dir, "hubagent.toml")
	doc := fmt.Sprintf(`data_dir = %q
[tunnel]
relay = %q
user = %q
host_key = %q
remote_listen = %q
public_url = "https://hub-test.relay.example"
`, data, relay.Addr, relay.User, relay.HostKeyLine(), remote)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}

	_, stderr, code := hubagent(t, dir, "tunnel", "status", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "no agent is running") {
		t.Fatalf("status without an agent: exit %d, stderr %q", code, stderr)
	}

	line, stderr, code := hubagent(t, dir, "tunnel", "pubkey", "--config", cfg)
	if code != 0 {
		t.Fatalf("tunnel pubkey: exit %d: %s", code, stderr)
	}
	fields := strings.Fields(line)
	if len(fields) != 4 || fields[0] != fmt.Sprintf(`restrict,port-forwarding,permitlisten="%s"`, remote) ||
		fields[1] != "ssh-ed25519" || !strings.HasPrefix(fields[3], "hubagent-") {
		t.Fatalf("tunnel pubkey printed %q", line)
	}
	hubID := strings.TrimPrefix(fields[3], "hubagent-")
	if fi, err := os.Stat(filepath.Join(data, "tunnel_ed25519")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi)
	}
	again, _, _ := hubagent(t, dir, "tunnel", "pubkey", "--config", cfg)
	if again != line {
		t.Fatalf("second pubkey differs:\n%s%s", line, again)
	}
	relay.SetAuthorizedKeys(line)

	a := startAgent(t, dir, "--config", cfg)
	a.healthz(t, 15*time.Second)
	var st tunnel.Status
	if !testutil.Poll(20*time.Second, func() bool {
		out, stderr, code := hubagent(t, dir, "tunnel", "status", "--json", "--config", cfg)
		if code != 0 {
			t.Fatalf("tunnel status: exit %d: %s", code, stderr)
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("tunnel status --json: %v\n%s", err, out)
		}
		return st.State == tunnel.StateConnected
	}) {
		t.Fatalf("not connected within 20s: %+v\nagent: %s\nsshd: %s", st, a.stderr, relay.Logs())
	}
	if st.Relay != relay.Addr || st.RemoteListen != remote || st.PublicURL != "https://hub-test.relay.example" || st.Since == nil {
		t.Errorf("status = %+v", st)
	}

	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + remote + "/healthz")
	if err != nil {
		t.Fatalf("/healthz through the relay: %v", err)
	}
	var h struct{ HubID string }
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if resp.StatusCode != 200 || h.HubID != hubID {
		t.Fatalf("/healthz through the relay: %d, hub %q, want %q", resp.StatusCode, h.HubID, hubID)
	}
	// The public side is HTTPS-only for browsers (HSTS); the LAN side,
	// with its self-signed certificate, is not pinned.
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Errorf("no HSTS through the relay: %q", hsts)
	}
	if lan := lanHeader(t, a.api, "/healthz", "Strict-Transport-Security"); lan != "" {
		t.Errorf("HSTS on the LAN side: %q", lan)
	}

	out, _, _ := hubagent(t, dir, "tunnel", "status", "--config", cfg)
	for _, want := range []string{"connected", relay.User + "@" + relay.Addr, remote, "reconnects:"} {
		if !strings.Contains(out, want) {
			t.Errorf("tunnel status lacks %q:\n%s", want, out)
		}
	}
	if m := socketGet(t, data, "/metrics"); !strings.Contains(m, "hubagent_tunnel_connected 1") || !strings.Contains(m, "hubagent_tunnel_reconnects_total 0") {
		t.Errorf("metrics lack the tunnel gauges")
	}
}

func TestTunnelStatusSaysWhyRemoteAccessIsOff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := startAgent(t, dir)
	a.healthz(t, 15*time.Second)
	out, stderr, code := hubagent(t, dir, "tunnel", "status")
	if code != 0 || !strings.Contains(out, "off") || !strings.Contains(out, "tunnel.relay is not set") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, stderr, code = hubagent(t, dir, "tunnel", "pubkey")
	if code != 1 || !strings.Contains(stderr, "tunnel.remote_listen is not set") {
		t.Errorf("pubkey without remote_listen: exit %d, %q", code, stderr)
	}
	if _, _, code := hubagent(t, dir, "tunnel", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
}

// socketGet fetches path from the agent's local socket.
func socketGet(t *testing.T, dataDir, path string) string {
	t.Helper()
	sock := filepath.Join(dataDir, "hubagent.sock")
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}}}
	resp, err := c.Get("http://hubagent" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestAgentStartsWithoutWaitingForRelay points the tunnel at a relay that
// takes the TCP connection and never says a word: the agent still serves
// the LAN at once, and the tunnel reports it is still connecting.
func TestAgentStartsWithoutWaitingForRelay(t *testing.T) {
	t.Parallel()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hubagent.toml")
	doc := fmt.Sprintf("[tunnel]\nrelay = %q\naccept_new = true\nremote_listen = \"127.0.0.1:20001\"\n", silent.Addr())
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a := startAgent(t, dir, "--config", cfg)
	a.healthz(t, 10*time.Second)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("agent took %v to serve /healthz with a silent relay", took)
	}
	out, stderr, code := hubagent(t, dir, "tunnel", "status", "--json", "--config", cfg)
	var st tunnel.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.State != tunnel.StateConnecting || st.Attempts != 1 {
		t.Fatalf("status: exit %d, %s %s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "hubagent-data", "tunnel_known_hosts")); err == nil {
		t.Error("a relay key was pinned although the relay never presented one")
	}
}
