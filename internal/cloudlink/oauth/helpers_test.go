package oauth

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
	"github.com/hubagent/hubagent/internal/testutil"
)

const (
	testUser     = "alice"
	testPassword = "correct horse battery"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// env is a running hub HTTPS server with the OAuth routes, three devices
// (lamp, plug, front door lock), one user, one confidential and one public
// partner, and a partner callback server that records what arrives.
type env struct {
	t        testing.TB
	dir      string
	st       *store.Store
	hub      *hub.Hub
	srv      *Server
	base     string // https://127.0.0.1:port
	clk      *clock
	logs     *testutil.SyncBuffer
	callback *httptest.Server
	redirect string

	clientID, secret string // confidential partner
	publicID         string // public partner
	userID           string

	mu       sync.Mutex
	received []url.Values // query strings that reached the partner callback
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{t: t, dir: t.TempDir(), clk: &clock{t: time.Now()}, logs: &testutil.SyncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(ctx, filepath.Join(e.dir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	h, err := hub.New(ctx, hub.Options{Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	e.hub = h
	for _, d := range []*device.Device{
		{ID: "lamp-1", Name: "Living room lamp", Category: device.CategoryLight,
			Properties: []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}},
		{ID: "plug-1", Name: "Kettle plug", Category: device.CategorySwitch,
			Properties: []device.Property{{Name: "power", Type: device.TypeBool, Access: device.AccessReadWrite}}},
		{ID: "lock-1", Name: "Front door", Category: device.CategoryLock,
			Properties: []device.Property{{Name: "locked", Type: device.TypeBool, Access: device.AccessReadWrite}}},
	} {
		if err := h.UpsertDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e.callback = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" { // browsers also ask for /favicon.ico
			http.NotFound(w, r)
			return
		}
		e.mu.Lock()
		e.received = append(e.received, r.URL.Query())
		e.mu.Unlock()
		io.WriteString(w, "linked")
	}))
	e.redirect = e.callback.URL + "/callback"
	os := NewStore(st.DB())
	e.clientID, e.secret, err = os.AddPartner(ctx, NewPartner{Name: "Voice Cloud", RedirectURIs: []string{e.redirect}})
	if err != nil {
		t.Fatal(err)
	}
	e.publicID, _, err = os.AddPartner(ctx, NewPartner{Name: "Phone App", RedirectURIs: []string{e.redirect}, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := os.AddUser(ctx, testUser, testPassword, bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e.userID = u.ID
	e.srv, err = New(Options{Store: os, Hub: h, DataDir: e.dir, Logger: log, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	// A real HTTPS server on loopback. Not cloudlink's: cloudlink may import
	// this package, and a test import back would be a cycle.
	mux := http.NewServeMux()
	e.srv.Register(mux.Handle)
	ts := httptest.NewUnstartedServer(mux)
	ts.Config.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	ts.StartTLS()
	e.base = ts.URL
	done := make(chan struct{})
	go func() { <-ctx.Done(); ts.Close(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		e.callback.Close()
		h.Close()
		st.Close()
	})
	return e
}

// insecure trusts the hub's self-signed certificate.
func insecureTransport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // test against a self-signed loopback server
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests can see where the hub sends the user.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: insecureTransport(), Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// page GETs a URL and returns status, body and the form's CSRF token.
func (e *env) page(c *http.Client, u string) (int, string, string) {
	e.t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	csrf := ""
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		csrf = m[1]
	}
	return resp.StatusCode, string(b), csrf
}

// post sends a form and returns the response (body read into the string).
func (e *env) post(c *http.Client, u string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// authParams are the authorization request's parameters.
func (e *env) authParams(clientID, challenge string) url.Values {
	v := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {e.redirect},
		"state": {"st-" + newID()[:8]}, "scope": {"devices.read devices.control"}}
	if challenge != "" {
		v.Set("code_challenge", challenge)
		v.Set("code_challenge_method", "S256")
	}
	return v
}

// signIn signs the browser in through the authorization page.
func (e *env) signIn(c *http.Client, params url.Values) {
	e.t.Helper()
	st, _, csrf := e.page(c, e.base+"/oauth2/authorize?"+params.Encode())
	if st != 200 || csrf == "" {
		e.t.Fatalf("sign-in page: status %d csrf %q", st, csrf)
	}
	form := url.Values{"username": {testUser}, "password": {testPassword}, "csrf_token": {csrf}}
	for k, v := range params {
		form[k] = v
	}
	resp, body := e.post(c, e.base+"/oauth2/authorize", form)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in: status %d\n%s", resp.StatusCode, body)
	}
}

// consent posts the consent form with a decision and the given devices and
// returns the redirect's parsed query (what the partner receives).
func (e *env) consent(c *http.Client, params url.Values, decision string, devices ...string) url.Values {
	e.t.Helper()
	st, body, csrf := e.page(c, e.base+"/oauth2/authorize?"+params.Encode())
	if st != 200 || !strings.Contains(body, "Devices to share") {
		e.t.Fatalf("consent page: status %d\n%s", st, body)
	}
	form := url.Values{"decision": {decision}, "csrf_token": {csrf}, "device": devices}
	for k, v := range params {
		form[k] = v
	}
	resp, body := e.post(c, e.base+"/oauth2/authorize", form)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("consent: status %d\n%s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), e.redirect) {
		e.t.Fatalf("consent redirected to %q", resp.Header.Get("Location"))
	}
	return loc.Query()
}

// code runs the whole browser part for the confidential partner and
// returns a fresh code.
func (e *env) code(challenge string) (string, url.Values) {
	e.t.Helper()
	c := e.browser()
	p := e.authParams(e.clientID, challenge)
	e.signIn(c, p)
	q := e.consent(c, p, "approve", "lamp-1", "plug-1")
	if q.Get("code") == "" || q.Get("state") != p.Get("state") {
		e.t.Fatalf("redirect query %v", q)
	}
	return q.Get("code"), p
}

// tokenReq posts to the token endpoint with HTTP Basic client auth (or
// none when secret is "-") and decodes the answer.
func (e *env) tokenReq(clientID, secret string, form url.Values) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "-" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	} else if !form.Has("client_id") {
		form.Set("client_id", clientID)
		req.Body = io.NopCloser(strings.NewReader(form.Encode()))
		req.ContentLength = int64(len(form.Encode()))
	}
	resp, err := (&http.Client{Transport: insecureTransport(), Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			e.t.Fatalf("token answer %d not JSON: %s", resp.StatusCode, b)
		}
	}
	return resp.StatusCode, m
}

// exchange redeems a code for the confidential partner.
func (e *env) exchange(code, verifier string) (int, map[string]any) {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return e.tokenReq(e.clientID, e.secret, f)
}

func (e *env) refresh(tok string) (int, map[string]any) {
	return e.tokenReq(e.clientID, e.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}})
}

// auth runs Authenticate with a bearer token.
func (e *env) auth(access string) (Principal, error) {
	r := httptest.NewRequest("POST", "/cic/v1", nil)
	r.Header.Set("Authorization", "Bearer "+access)
	return e.srv.Authenticate(context.Background(), r)
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

// wantOAuthError checks an RFC 6749 §5.2 answer.
func wantOAuthError(t *testing.T, status int, m map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || str(m, "error") != wantCode {
		t.Fatalf("got %d %v, want %d %s", status, m, wantStatus, wantCode)
	}
}
