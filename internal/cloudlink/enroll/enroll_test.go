package enroll

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hubagent/hubagent/internal/enrollwire"
	"github.com/hubagent/hubagent/internal/relay"
)

// world is a relay enrollment service (the real one, SQLite registry)
// behind TLS, and a hub's data directory.
type world struct {
	srv  *httptest.Server
	reg  *relay.Registry
	data string
	ca   string
}

func hostKey(t *testing.T) string {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := ssh.NewSignerFromKey(priv)
	return enrollwire.KeyString(s.PublicKey())
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	reg, err := relay.Open(ctx, filepath.Join(t.TempDir(), relay.SQLiteFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ports, _ := relay.ParsePorts("20001-20010")
	if err := reg.Announce(ctx, relay.Info{Name: "r1", SSHAddr: "relay.example:22", User: "hubagent", HostKey: hostKey(t),
		Domain: "relay.example", Ports: ports}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(relay.NewService(relay.ServiceOptions{Registry: reg, Self: "r1"}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	data := t.TempDir()
	return &world{srv: srv, reg: reg, data: data, ca: ca}
}

func (w *world) token(t *testing.T) string {
	toks, _, err := w.reg.CreateTokens(context.Background(), 1, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return toks[0]
}

func (w *world) opts(tok string) Options {
	return Options{URL: w.srv.URL, Token: tok, CAFile: w.ca, DataDir: w.data, HubID: "0123456789abcdef",
		KeyFile: filepath.Join(w.data, "tunnel_ed25519")}
}

func TestEnrollVerifiesTheRelayAndKeepsTheAnswerPrivately(t *testing.T) {
	w := newWorld(t)
	tok := w.token(t)
	o := w.opts(tok)
	o.CAFile = ""
	if _, err := Enroll(context.Background(), o); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("enroll against an unknown CA: %v", err)
	}
	st, err := Enroll(context.Background(), w.opts(tok)) // the token was not spent
	if err != nil {
		t.Fatal(err)
	}
	if st.RemoteListen != "127.0.0.1:20001" || st.PublicURL != "https://hub-0123456789abcdef.relay.example" || st.URL != w.srv.URL {
		t.Fatalf("state %+v", st)
	}
	for _, f := range []string{StatePath(w.data), filepath.Join(w.data, "tunnel_ed25519")} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, err, fi)
		}
	}
	back, err := Load(w.data)
	if err != nil || back.RemoteListen != st.RemoteListen {
		t.Fatalf("load: %v %+v", err, back)
	}
}

func TestRefusedReEnrollmentLosesNothing(t *testing.T) {
	w := newWorld(t)
	if _, err := Enroll(context.Background(), w.opts(w.token(t))); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(w.data, "tunnel_ed25519")
	key0, _ := os.ReadFile(keyFile)
	state0, _ := os.ReadFile(StatePath(w.data))

	// The relay forgot the hub: a rotation (proof, no token) is refused,
	// and the hub keeps its key and enrollment.
	if _, err := w.reg.Remove(context.Background(), "0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	_, err := Enroll(context.Background(), w.opts(""))
	var re *RefusedError
	if !errors.As(err, &re) || re.Status != http.StatusForbidden {
		t.Fatalf("rotation of a removed hub: %v", err)
	}
	if key1, _ := os.ReadFile(keyFile); !bytes.Equal(key0, key1) {
		t.Fatal("a refused enrollment replaced the key")
	}
	if state1, _ := os.ReadFile(StatePath(w.data)); !bytes.Equal(state0, state1) {
		t.Fatal("a refused enrollment changed the enrollment")
	}
	if _, err := os.Stat(keyFile + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("new key left behind: %v", err)
	}
}

func TestRotationChangesTheKeyAndLeaveDeregisters(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	first, err := Enroll(ctx, w.opts(w.token(t)))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(w.data, "tunnel_ed25519")
	key0, _ := os.ReadFile(keyFile)
	second, err := Enroll(ctx, w.opts(""))
	if err != nil {
		t.Fatal(err)
	}
	if key1, _ := os.ReadFile(keyFile); bytes.Equal(key0, key1) {
		t.Fatal("re-enrollment kept the key")
	}
	if second.RemoteListen != first.RemoteListen {
		t.Fatalf("rotation moved the hub: %s -> %s", first.RemoteListen, second.RemoteListen)
	}
	hubs, _ := w.reg.Hubs(ctx, "")
	s, _ := ssh.ParsePrivateKey(mustRead(t, keyFile))
	if len(hubs) != 1 || hubs[0].Key != enrollwire.KeyString(s.PublicKey()) {
		t.Fatalf("registry has %+v", hubs)
	}
	if err := Leave(ctx, w.opts(""), false); err != nil {
		t.Fatal(err)
	}
	if hubs, _ := w.reg.Hubs(ctx, ""); len(hubs) != 0 {
		t.Fatalf("after leave: %+v", hubs)
	}
	if st, err := Load(w.data); st != nil || err != nil {
		t.Fatalf("enrollment kept after leave: %+v %v", st, err)
	}
	if err := Leave(ctx, w.opts(""), false); err == nil {
		t.Fatal("leaving twice succeeded")
	}
}

func TestServiceRateLimitsAndRefusesBadRequests(t *testing.T) {
	w := newWorld(t)
	post := func(body string) int {
		resp, err := w.srv.Client().Post(w.srv.URL+enrollwire.PathEnroll, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(`{"hubId":"nope"}`); code != http.StatusBadRequest {
		t.Fatalf("bad request: %d", code)
	}
	var codes []int
	for range 15 {
		codes = append(codes, post(`{"hubId":"nope"}`))
	}
	if codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("no rate limit after 16 requests: %v", codes)
	}
}

func TestCheckURL(t *testing.T) {
	for in, ok := range map[string]bool{
		"https://relay.example":         true,
		"https://relay.example:8443/x/": true,
		"http://relay.example":          false,
		"https://u:p@relay.example":     false,
		"https://relay.example/?a=b":    false,
		"relay.example":                 false,
	} {
		if _, err := CheckURL(in); (err == nil) != ok {
			t.Errorf("%s: %v", in, err)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
