package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hubagent/hubagent/internal/enrollwire"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)} }
func ports(t testing.TB, s string) Ports { p, err := ParsePorts(s); must(t, err); return p }
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
func hostKeyLine(t testing.TB) string { return enrollwire.KeyString(newSigner(t).PublicKey()) }

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	must(t, err)
	return s
}

func openTest(t testing.TB, clk *fakeClock, relays ...Info) (*Registry, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), SQLiteFile)
	r, err := Open(context.Background(), path)
	must(t, err)
	t.Cleanup(func() { r.Close() })
	r.SetClock(clk.now)
	for _, i := range relays {
		must(t, r.Announce(context.Background(), i))
	}
	return r, path
}

func info(t testing.TB, name, p string) Info {
	return Info{Name: name, SSHAddr: name + ".example:22", User: "hubagent", HostKey: hostKeyLine(t), Domain: name + ".example", Ports: ports(t, p)}
}

func req(hub string, s ssh.Signer, tok string) *enrollwire.EnrollRequest {
	return &enrollwire.EnrollRequest{HubID: hub, PublicKey: enrollwire.KeyString(s.PublicKey()), Token: tok}
}

const hubA, hubB = "00000000000000aa", "00000000000000bb"

func TestTokensAreSingleUseHashedAtRestAndExpire(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r, path := openTest(t, clk, info(t, "r1", "20001-20010"))
	toks, _, err := r.CreateTokens(ctx, 2, time.Hour)
	must(t, err)
	a, b := newSigner(t), newSigner(t)
	if _, err := r.Enroll(ctx, "r1", req(hubA, a, toks[0]), a.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Enroll(ctx, "r1", req(hubB, b, toks[0]), b.PublicKey()); !errors.Is(err, ErrTokenRefused) {
		t.Fatalf("reused token: %v, want ErrTokenRefused", err)
	}
	clk.add(time.Hour + time.Second)
	if _, err := r.Enroll(ctx, "r1", req(hubB, b, toks[1]), b.PublicKey()); !errors.Is(err, ErrTokenRefused) {
		t.Fatalf("expired token: %v, want ErrTokenRefused", err)
	}
	if _, err := r.Enroll(ctx, "r1", req(hubB, b, "hrt_notatokenatallnotatoken"), b.PublicKey()); !errors.Is(err, ErrTokenRefused) {
		t.Fatalf("unknown token: %v", err)
	}
	count := func() (n int) {
		must(t, r.db.QueryRow(`SELECT COUNT(*) FROM relay_tokens`).Scan(&n))
		return n
	}
	must(t, r.PurgeTokens(ctx, 2*time.Hour))
	if n := count(); n != 2 {
		t.Fatalf("purge within retention left %d tokens, want 2", n)
	}
	clk.add(3 * time.Hour)
	must(t, r.PurgeTokens(ctx, 2*time.Hour))
	if n := count(); n != 0 {
		t.Fatalf("purge after retention left %d tokens", n)
	}
	r.Close()
	for _, f := range []string{path, path + "-wal"} {
		raw, _ := os.ReadFile(f)
		for _, tok := range toks {
			if bytes.Contains(raw, []byte(tok)) || bytes.Contains(raw, []byte(strings.TrimPrefix(tok, tokenPrefix))) {
				t.Fatalf("token stored in clear in %s", f)
			}
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("registry mode %o, want 600", fi.Mode().Perm())
	}
}

func TestEnrollGivesEachHubItsOwnPortAndKeyLineOnlyThatPort(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t, newClock(), info(t, "r1", "20001-20002"))
	toks, _, err := r.CreateTokens(ctx, 3, time.Hour)
	must(t, err)
	a, b, c := newSigner(t), newSigner(t), newSigner(t)
	ea, err := r.Enroll(ctx, "r1", req(hubA, a, toks[0]), a.PublicKey())
	must(t, err)
	eb, err := r.Enroll(ctx, "r1", req(hubB, b, toks[1]), b.PublicKey())
	must(t, err)
	if ea.RemoteListen != "127.0.0.1:20001" || eb.RemoteListen != "127.0.0.1:20002" {
		t.Fatalf("ports %s %s", ea.RemoteListen, eb.RemoteListen)
	}
	if ea.PublicURL != "https://hub-"+hubA+".r1.example" || ea.Relay != "r1.example:22" || ea.User != "hubagent" {
		t.Fatalf("answer %+v", ea)
	}
	if _, err := r.Enroll(ctx, "r1", req("00000000000000cc", c, toks[2]), c.PublicKey()); !errors.Is(err, ErrRelayFull) {
		t.Fatalf("third hub on two ports: %v", err)
	}
	line, err := r.KeyLine(ctx, "r1", a.PublicKey())
	must(t, err)
	want := `restrict,port-forwarding,permitlisten="127.0.0.1:20001" ` + enrollwire.KeyString(a.PublicKey()) + " hubagent-" + hubA
	if line != want {
		t.Fatalf("key line\n%s\nwant\n%s", line, want)
	}
	if line, _ := r.KeyLine(ctx, "r2", a.PublicKey()); line != "" {
		t.Fatalf("another relay's lookup gave %q", line)
	}
	if line, _ := r.KeyLine(ctx, "r1", c.PublicKey()); line != "" {
		t.Fatalf("unknown key gave %q", line)
	}
}

func TestTakingOverAnEnrolledIDNeedsItsKeyAndRotationKeepsThePort(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t, newClock(), info(t, "r1", "20001-20010"))
	toks, _, err := r.CreateTokens(ctx, 3, time.Hour)
	must(t, err)
	old, thief, next := newSigner(t), newSigner(t), newSigner(t)
	e1, err := r.Enroll(ctx, "r1", req(hubA, old, toks[0]), old.PublicKey())
	must(t, err)
	if _, err := r.Enroll(ctx, "r1", req(hubA, thief, toks[1]), thief.PublicKey()); !errors.Is(err, ErrHubTaken) {
		t.Fatalf("takeover with a token: %v", err)
	}
	// The refused takeover did not burn the token.
	if _, err := r.Enroll(ctx, "r1", req(hubB, thief, toks[1]), thief.PublicKey()); err != nil {
		t.Fatalf("token after refused takeover: %v", err)
	}
	bad := req(hubA, next, "")
	sig, _ := thief.Sign(rand.Reader, enrollwire.EnrollMessage(hubA, bad.PublicKey))
	bad.Proof = enrollwire.EncodeProof(sig)
	if _, err := r.Enroll(ctx, "r1", bad, next.PublicKey()); !errors.Is(err, ErrProofRefused) {
		t.Fatalf("proof by another key: %v", err)
	}
	good := req(hubA, next, "")
	sig, _ = old.Sign(rand.Reader, enrollwire.EnrollMessage(hubA, good.PublicKey))
	good.Proof = enrollwire.EncodeProof(sig)
	e2, err := r.Enroll(ctx, "r1", good, next.PublicKey())
	must(t, err)
	if e2.RemoteListen != e1.RemoteListen {
		t.Fatalf("rotation moved the hub: %s -> %s", e1.RemoteListen, e2.RemoteListen)
	}
	if l, _ := r.KeyLine(ctx, "r1", old.PublicKey()); l != "" {
		t.Fatalf("old key still works after rotation: %s", l)
	}
	if l, _ := r.KeyLine(ctx, "r1", next.PublicKey()); !strings.Contains(l, e1.RemoteListen) {
		t.Fatalf("new key: %q", l)
	}
	// A key cannot serve two hubs.
	if _, err := r.Enroll(ctx, "r1", req("00000000000000cc", next, toks[2]), next.PublicKey()); !errors.Is(err, ErrKeyInUse) {
		t.Fatalf("same key for a second hub: %v", err)
	}
}

func TestRemovedHubIsRefusedAndItsPortQuarantined(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r, _ := openTest(t, clk, info(t, "r1", "20001-20002"))
	toks, _, err := r.CreateTokens(ctx, 3, 24*time.Hour)
	must(t, err)
	a, b, c := newSigner(t), newSigner(t), newSigner(t)
	_, err = r.Enroll(ctx, "r1", req(hubA, a, toks[0]), a.PublicKey())
	must(t, err)
	g0, _ := r.Gen(ctx, "r1")
	if _, err := r.Remove(ctx, hubA); err != nil {
		t.Fatal(err)
	}
	if g1, _ := r.Gen(ctx, "r1"); g1 == g0 {
		t.Fatal("remove did not move the relay's generation")
	}
	if l, _ := r.KeyLine(ctx, "r1", a.PublicKey()); l != "" {
		t.Fatalf("removed hub's key still allowed: %s", l)
	}
	if _, err := r.Remove(ctx, hubA); !errors.Is(err, ErrNoSuchHub) {
		t.Fatalf("second remove: %v", err)
	}
	eb, err := r.Enroll(ctx, "r1", req(hubB, b, toks[1]), b.PublicKey())
	must(t, err)
	if eb.RemoteListen != "127.0.0.1:20002" {
		t.Fatalf("a new hub got the quarantined port: %s", eb.RemoteListen)
	}
	clk.add(Quarantine + time.Minute)
	ec, err := r.Enroll(ctx, "r1", req("00000000000000cc", c, toks[2]), c.PublicKey())
	must(t, err)
	if ec.RemoteListen != "127.0.0.1:20001" {
		t.Fatalf("port not reused after quarantine: %s", ec.RemoteListen)
	}
	hubs, err := r.Hubs(ctx, "")
	must(t, err)
	if len(hubs) != 2 || hubs[0].ID != "00000000000000cc" || hubs[1].ID != hubB {
		t.Fatalf("hubs %+v", hubs)
	}
}

func TestLeaveNeedsAFreshProofByTheHubsKey(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r, _ := openTest(t, clk, info(t, "r1", "20001-20010"))
	toks, _, _ := r.CreateTokens(ctx, 1, time.Hour)
	a, other := newSigner(t), newSigner(t)
	_, err := r.Enroll(ctx, "r1", req(hubA, a, toks[0]), a.PublicKey())
	must(t, err)
	leave := func(s ssh.Signer, at time.Time) error {
		sig, _ := s.Sign(rand.Reader, enrollwire.LeaveMessage(hubA, at.Unix()))
		return r.Leave(ctx, &enrollwire.LeaveRequest{HubID: hubA, At: at.Unix(), Proof: enrollwire.EncodeProof(sig)})
	}
	if err := leave(other, clk.now()); !errors.Is(err, ErrProofRefused) {
		t.Fatalf("leave signed by another key: %v", err)
	}
	if err := leave(a, clk.now().Add(-time.Hour)); !errors.Is(err, ErrStaleLeave) {
		t.Fatalf("old leave: %v", err)
	}
	must(t, leave(a, clk.now()))
	if err := leave(a, clk.now()); !errors.Is(err, ErrProofRefused) {
		t.Fatalf("leave of a removed hub: %v", err)
	}
}

func TestFleetAssignsNewHubsToTheLeastLoadedLiveRelay(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r, _ := openTest(t, clk, info(t, "r1", "20001-20010"), info(t, "r2", "30001-30010"))
	toks, _, _ := r.CreateTokens(ctx, 4, time.Hour)
	var got []string
	for i, id := range []string{"0000000000000001", "0000000000000002", "0000000000000003"} {
		s := newSigner(t)
		e, err := r.Enroll(ctx, "r1", req(id, s, toks[i]), s.PublicKey())
		must(t, err)
		got = append(got, e.RelayName+" "+e.RemoteListen+" "+e.Relay)
	}
	want := []string{"r1 127.0.0.1:20001 r1.example:22", "r2 127.0.0.1:30001 r2.example:22", "r1 127.0.0.1:20002 r1.example:22"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("assignments\n%v\nwant\n%v", got, want)
	}
	// r2 stops heartbeating: new hubs go to r1 even though it is fuller.
	clk.add(2 * relayStale)
	must(t, r.Announce(ctx, info(t, "r1", "20001-20010")))
	s := newSigner(t)
	e, err := r.Enroll(ctx, "r1", req("0000000000000004", s, toks[3]), s.PublicKey())
	must(t, err)
	if e.RelayName != "r1" {
		t.Fatalf("hub assigned to a silent relay %s", e.RelayName)
	}
}

func TestRateLimiterPerClientAndGlobal(t *testing.T) {
	l := newLimiter(1, 2, 10, 3)
	now := time.Unix(0, 0)
	var got []bool
	for _, c := range []string{"a", "a", "a", "b", "c"} {
		got = append(got, l.allow(c, now))
	}
	want := []bool{true, true, false, true, false} // a's burst is 2; the global burst of 3 is spent
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allow #%d = %v, want %v (all %v)", i, got[i], want[i], got)
		}
	}
	if !l.allow("a", now.Add(2*time.Second)) {
		t.Fatal("a not refilled after 2s")
	}
}

func TestParsePorts(t *testing.T) {
	for _, tt := range []struct {
		in   string
		ok   bool
		has  []int
		miss []int
	}{
		{"20000-29999", true, []int{20000, 29999}, []int{19999, 30000}},
		{"20001,20005-20006", true, []int{20001, 20005, 20006}, []int{20002, 20007}},
		{"80", false, nil, nil},
		{"3000-2000", false, nil, nil},
		{"1024-65536", false, nil, nil},
		{"", false, nil, nil},
		{"a-b", false, nil, nil},
	} {
		p, err := ParsePorts(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		for _, x := range tt.has {
			if !p.Contains(x) {
				t.Errorf("%q lacks %d", tt.in, x)
			}
		}
		for _, x := range tt.miss {
			if p.Contains(x) {
				t.Errorf("%q has %d", tt.in, x)
			}
		}
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "1s": time.Second} {
		if d, err := ParseLifetime(in); err != nil || d != want {
			t.Errorf("%s: %v %v", in, d, err)
		}
	}
	for _, in := range []string{"0d", "-1h", "366d", "x", "", "9000h"} {
		if _, err := ParseLifetime(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// A /proc/net/tcp table as Linux 6.x prints it (two listeners on
// 127.0.0.1, one on 0.0.0.0, one established connection).
const procNetTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4E21 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123456 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 22222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:4E22 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 654321 1 0000000000000000 100 0 0 10 0
   3: 0100007F:4E21 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 20 4 30 10 -1
`

func TestLoopbackListenersReadsProcNetTCP(t *testing.T) {
	got, err := loopbackListeners(strings.NewReader(procNetTCP))
	must(t, err)
	if len(got) != 2 || got[20001] != 123456 || got[20002] != 654321 {
		t.Fatalf("listeners %v", got)
	}
}

func TestRenderNginx(t *testing.T) {
	m, u := RenderNginx([]Hub{{ID: "00000000000000aa", PublicName: "hub-00000000000000aa.r1.example", Port: 20001}})
	if !strings.HasSuffix(string(m), "\nhub-00000000000000aa.r1.example hub_00000000000000aa;\n") {
		t.Fatalf("map %q", m)
	}
	if !strings.HasSuffix(string(u), "\nupstream hub_00000000000000aa { server 127.0.0.1:20001 max_fails=0; keepalive 2; keepalive_timeout 60s; }\n") {
		t.Fatalf("upstreams %q", u)
	}
}
