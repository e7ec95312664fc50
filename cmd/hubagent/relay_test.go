package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hubagent/hubagent/internal/cloudlink/enroll"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/relay"
	"github.com/hubagent/hubagent/internal/testutil"
)

// hubStatus reads `tunnel status --json` of the hub in dir.
func hubStatus(t *testing.T, dir string) tunnel.Status {
	t.Helper()
	out, errOut, code := hubagent(t, dir, "tunnel", "status", "--json")
	if code != 0 {
		t.Fatalf("tunnel status: exit %d: %s", code, errOut)
	}
	var st tunnel.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("tunnel status: %v\n%s", err, out)
	}
	return st
}

// viaRelay is the partner p calling the hub at its public name, through
// the relay's nginx.
func viaRelay(p *partnerCloud, r *testRelay, publicURL string) *partnerCloud {
	return &partnerCloud{t: p.t, api: strings.TrimPrefix(publicURL, "https://"), clientID: p.clientID, secret: p.secret,
		cfg: p.cfg, ts: p.ts, hc: r.client()}
}

// get fetches url through the relay's nginx and returns the status code.
func (r *testRelay) get(t *testing.T, url string) int {
	resp, err := r.client().Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// steady says whether url answered want five times in a row.
func (r *testRelay) steady(t *testing.T, url string, want int) bool {
	for i := 0; i < 5; i++ {
		if r.get(t, url) != want {
			return false
		}
	}
	return true
}

// TestRelayEnrollmentEndToEnd is the installer's path against real sshd
// and nginx: a token, `tunnel enroll` on a running hub with no tunnel
// configured, and partners reach /cic/v1 at the hub's public name through
// nginx -> sshd -> hub, with no file edited and no restart. Then the
// abuse cases: a reused token, another hub's port, removal.
func TestRelayEnrollmentEndToEnd(t *testing.T) {
	t.Parallel()
	tlsFiles := testutil.NewTLS(t, "r1.relay.test", "*.r1.relay.test", "127.0.0.1")
	r := startRelay(t, "r1", "", tlsFiles)
	toks := r.tokens(t, 2, "1h")

	hubDir := t.TempDir()
	a := startAgent(t, hubDir)
	a.healthz(t, 15*time.Second)
	addUser(t, hubDir)
	p := linkPartner(t, hubDir, a.api, "Acme Voice", "devices.read", nil)
	if st := hubStatus(t, hubDir); st.State != tunnel.StateOff {
		t.Fatalf("before enrollment the tunnel is %s", st.State)
	}

	// The relay's certificate is verified: without the private CA the
	// enrollment fails, and the token is not spent.
	_, errOut, code := hubagent(t, hubDir, "tunnel", "enroll", r.enrollURL(), "--token", toks[0])
	if code != 1 || !strings.Contains(errOut, "certificate") {
		t.Fatalf("enroll without the CA: exit %d: %s", code, errOut)
	}
	out, errOut, code := hubagent(t, hubDir, "tunnel", "enroll", r.enrollURL(), "--token", toks[0], "--ca-file", tlsFiles.CAFile)
	if code != 0 {
		t.Fatalf("enroll: exit %d: %s\nserve: %s", code, errOut, r.serveLog)
	}
	if !strings.Contains(out, "tunnel: connected") {
		t.Fatalf("enroll did not bring the tunnel up:\n%s\nagent: %s\nsshd: %s", out, a.stderr, r.sshd.Logs())
	}
	st := hubStatus(t, hubDir)
	hubID := strings.TrimPrefix(strings.Fields(out)[2], "")
	wantURL := "https://hub-" + hubID + ".r1.relay.test"
	if st.State != tunnel.StateConnected || st.PublicURL != wantURL || st.Source != "enrollment" || st.Relay != r.sshd.Addr {
		t.Fatalf("status after enroll: %+v (want public url %s)", st, wantURL)
	}
	select {
	case <-a.done:
		t.Fatal("the agent exited during enrollment")
	default:
	}
	if _, err := os.Stat(filepath.Join(hubDir, "hubagent.toml")); err == nil {
		t.Fatal("enrollment wrote a configuration file")
	}
	if fi, err := os.Stat(filepath.Join(hubDir, "hubagent-data", enroll.StateFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("enrollment file: %v %v", err, fi)
	}

	// The household's status page shows the public address.
	if page := statusPageOf(t, a.api); !strings.Contains(page, wantURL) {
		t.Fatalf("status page lacks %s:\n%s", wantURL, page)
	}

	// A partner reaches /cic/v1 at the public name: nginx -> sshd -> hub.
	pr := viaRelay(p, r, wantURL)
	var ans answer
	// nginx's reload lets old workers (without the hub's name) take
	// connections for a moment; wait until the name answers steadily.
	testutil.Eventually(t, 10*time.Second, "hub's public name answers", func() bool { return r.steady(t, wantURL+"/healthz", 200) })
	ans = pr.call("CIC.Discovery", "Discover", map[string]any{})
	if ans.name != "DiscoverResponse" {
		t.Fatalf("Discover through the relay: %d %s", ans.status, ans.raw)
	}
	if code := r.get(t, "https://hub-0000000000000000.r1.relay.test/healthz"); code != 404 {
		t.Fatalf("an unknown hub name: HTTP %d, want 404", code)
	}

	// A reused token is refused, and says nothing of the hub that used it.
	hub2 := t.TempDir()
	_, errOut, code = hubagent(t, hub2, "tunnel", "enroll", r.enrollURL(), "--token", toks[0], "--ca-file", tlsFiles.CAFile)
	if code != 1 || !strings.Contains(errOut, relay.ErrTokenRefused.Error()) || strings.Contains(errOut, hubID) {
		t.Fatalf("reused token: exit %d: %s", code, errOut)
	}

	// A second hub gets its own port, and its key cannot listen on the
	// first hub's (its own works: the refusal is about the port).
	out, errOut, code = hubagent(t, hub2, "tunnel", "enroll", r.enrollURL(), "--token", toks[1], "--ca-file", tlsFiles.CAFile)
	if code != 0 || !strings.Contains(out, "no agent is running") {
		t.Fatalf("second hub (no agent running): exit %d: %s%s", code, out, errOut)
	}
	st2, err := enroll.Load(filepath.Join(hub2, "hubagent-data"))
	if err != nil || st2 == nil {
		t.Fatal(err)
	}
	if st2.RemoteListen == st.RemoteListen {
		t.Fatalf("both hubs got %s", st.RemoteListen)
	}
	key2, err := tunnel.LoadOrCreateKey(filepath.Join(hub2, "hubagent-data", "tunnel_ed25519"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := tryListen(r, key2, st.RemoteListen); err == nil {
		t.Fatalf("hub 2 could listen on hub 1's %s", st.RemoteListen)
	}
	if err := tryListen(r, key2, st2.RemoteListen); err != nil {
		t.Fatalf("hub 2 on its own port: %v", err)
	}

	// Re-enrollment rotates the key (no token: proof by the current key)
	// and keeps the hub's port and name; the agent follows without a
	// restart.
	keyFile := filepath.Join(hubDir, "hubagent-data", "tunnel_ed25519")
	before, _ := os.ReadFile(keyFile)
	out, errOut, code = hubagent(t, hubDir, "tunnel", "enroll", r.enrollURL(), "--ca-file", tlsFiles.CAFile)
	if code != 0 || !strings.Contains(out, "tunnel: connected") || !strings.Contains(out, st.RemoteListen) {
		t.Fatalf("re-enroll: exit %d: %s%s", code, out, errOut)
	}
	if after, _ := os.ReadFile(keyFile); bytes.Equal(before, after) {
		t.Fatal("re-enrollment kept the old key")
	}
	testutil.Eventually(t, 10*time.Second, "hub answers after key rotation", func() bool { return r.steady(t, wantURL+"/healthz", 200) })

	// The registry's view, with state.
	out, _, _ = r.cli(t, "relay", "hubs", "--json")
	var hubs []relay.Hub
	if err := json.Unmarshal([]byte(out), &hubs); err != nil || len(hubs) != 2 {
		t.Fatalf("relay hubs: %v %s", err, out)
	}
	for _, h := range hubs {
		if h.ID == hubID && (h.State != "connected" || "127.0.0.1:"+strconv.Itoa(h.Port) != st.RemoteListen) {
			t.Fatalf("hub 1 listed as %+v", h)
		}
	}

	// Removal drops the tunnel within seconds and its key is refused.
	removed := time.Now()
	if out, errOut, code := r.cli(t, "relay", "remove", hubID); code != 0 {
		t.Fatalf("relay remove: exit %d: %s%s", code, out, errOut)
	}
	testutil.Eventually(t, 10*time.Second, "tunnel dropped after relay remove", func() bool {
		return r.get(t, wantURL+"/healthz") == 404 && hubStatus(t, hubDir).State != tunnel.StateConnected
	})
	t.Logf("relay remove -> tunnel gone in %v", time.Since(removed).Round(time.Millisecond))
	testutil.Eventually(t, 15*time.Second, "removed hub's key refused", func() bool {
		return strings.Contains(hubStatus(t, hubDir).LastError, "refused this hub's key")
	})

	// Hub 2 leaves on its own.
	if out, errOut, code := hubagent(t, hub2, "tunnel", "leave"); code != 0 {
		t.Fatalf("leave: exit %d: %s%s", code, out, errOut)
	}
	out, _, _ = r.cli(t, "relay", "hubs", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("after remove and leave: %s", out)
	}

	// Every relay command and enrollment is in the audit.
	out, _, _ = r.cli(t, "relay", "audit", "--json")
	var entries []relay.AuditEntry
	json.Unmarshal([]byte(out), &entries)
	seen := map[string]int{}
	for _, e := range entries {
		seen[e.Action+" "+strings.SplitN(e.Result, " ", 2)[0]]++
		if strings.Contains(e.Subject+e.Result, toks[0]) {
			t.Fatalf("a token in clear in the audit: %+v", e)
		}
	}
	for _, want := range []string{"token.create ok", "enroll ok", "enroll enrollment", "remove ok", "leave ok", "hubs ok", "serve.start ok"} {
		if seen[want] == 0 {
			t.Errorf("audit lacks %q: %v", want, seen)
		}
	}
}

// statusPageOf signs in to the agent's status page as the household's
// user (addUser) and returns the page.
func statusPageOf(t *testing.T, api string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: insecure().Transport}
	get := func() string {
		resp, err := c.Get("https://" + api + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	m := csrfField.FindStringSubmatch(get())
	if m == nil {
		t.Fatal("no sign-in form on /status")
	}
	resp, err := c.PostForm("https://"+api+"/signin", url.Values{"csrf_token": {m[1]}, "username": {"alice"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return get()
}

// tryListen logs in to the relay's sshd with key and asks it to listen on
// addr, the way a hub's tunnel does.
func tryListen(r *testRelay, key ssh.Signer, addr string) error {
	c, err := ssh.Dial("tcp", r.sshd.Addr, &ssh.ClientConfig{User: r.sshd.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(key)},
		HostKeyCallback: ssh.FixedHostKey(r.sshd.HostKey), Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close()
	ln, err := c.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ln.Close()
	return nil
}
