package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// partnerCloud is a partner linked to the agent through the real OAuth
// flow: `partner add`, the household's sign-in and consent forms, and the
// code exchange with golang.org/x/oauth2.
type partnerCloud struct {
	t        testing.TB
	api      string
	clientID string
	secret   string
	cfg      *oauth2.Config
	ts       oauth2.TokenSource
	hc       *http.Client
	msg      atomic.Int64
}

// insecure trusts the agent's self-signed certificate (loopback only).
func insecure() *http.Client {
	return &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed loopback agent
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

const testRedirect = "https://partner.example/oauth/callback"

// addUser makes the household account used to sign in.
func addUser(t testing.TB, dir string, args ...string) {
	t.Helper()
	if _, errOut, code := hubagentIn(t, dir, "correct horse battery\n", append([]string{"user", "add", "alice", "--password-stdin"}, args...)...); code != 0 {
		t.Fatalf("user add: exit %d: %s", code, errOut)
	}
}

// linkPartner registers a partner and links it, ticking exactly the given
// devices on the consent page.
func linkPartner(t testing.TB, dir, api, name, scope string, devices []string, addArgs ...string) *partnerCloud {
	t.Helper()
	args := append([]string{"partner", "add", "--name", name, "--redirect-uri", testRedirect, "--json"}, addArgs...)
	out, errOut, code := hubagent(t, dir, args...)
	if code != 0 {
		t.Fatalf("partner add: exit %d: %s", code, errOut)
	}
	var added struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		t.Fatal(err)
	}
	p := &partnerCloud{t: t, api: api, clientID: added.ClientID, secret: added.ClientSecret, hc: insecure()}
	p.cfg = &oauth2.Config{ClientID: added.ClientID, ClientSecret: added.ClientSecret, RedirectURL: testRedirect,
		Scopes:   strings.Fields(scope),
		Endpoint: oauth2.Endpoint{AuthURL: "https://" + api + "/oauth2/authorize", TokenURL: "https://" + api + "/oauth2/token"}}
	verifier := oauth2.GenerateVerifier()
	authCode := p.consent(name, scope, devices, verifier)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, insecure())
	tok, err := p.cfg.Exchange(ctx, authCode, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	p.ts = p.cfg.TokenSource(ctx, tok)
	return p
}

// consent runs the household's side of a (re-)link in a browser: sign-in,
// then approval with exactly the given devices and scope. It returns the
// authorization code, not yet exchanged.
func (p *partnerCloud) consent(name, scope string, devices []string, verifier string) string {
	t := p.t
	t.Helper()
	cfg := *p.cfg
	cfg.Scopes = strings.Fields(scope)
	authURL := cfg.AuthCodeURL("st-"+name, oauth2.S256ChallengeOption(verifier))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: insecure().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func() (string, url.Values) {
		resp, err := browser.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfField.FindSubmatch(b)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("authorize page: %d\n%s", resp.StatusCode, b)
		}
		form := url.Values{"csrf_token": {string(m[1])}}
		u, _ := url.Parse(authURL)
		for k, v := range u.Query() {
			form[k] = v
		}
		return string(b), form
	}
	_, form := page()
	form.Set("username", "alice")
	form.Set("password", "correct horse battery")
	if resp, err := browser.PostForm(authURL[:strings.Index(authURL, "?")], form); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %v %v", resp.StatusCode, err)
	}
	body, form := page()
	if !strings.Contains(body, name) {
		t.Fatalf("consent page does not name the partner %q", name)
	}
	form.Set("decision", "approve")
	form["device"] = devices
	resp, err := browser.PostForm(authURL[:strings.Index(authURL, "?")], form)
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent: %v %v", resp.StatusCode, err)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("state") != "st-"+name || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s", loc)
	}
	return loc.Query().Get("code")
}

// token returns a valid access token (refreshed by x/oauth2 when needed).
func (p *partnerCloud) token() string {
	tok, err := p.ts.Token()
	if err != nil {
		p.t.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

// answer is a /cic/v1 response.
type answer struct {
	status  int
	header  http.Header
	name    string
	payload map[string]any
	raw     []byte
}

func (a answer) code() string { s, _ := a.payload["errorCode"].(string); return s }

// call sends one message with the partner's current token.
func (p *partnerCloud) call(ns, name string, payload any) answer {
	return p.callAs(p.token(), ns, name, "m-"+time.Now().Format("150405")+"-"+itoa(p.msg.Add(1)), payload)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (p *partnerCloud) callAs(token, ns, name, msgID string, payload any) answer {
	env := map[string]any{"header": map[string]any{"namespace": ns, "name": name, "messageId": msgID,
		"payloadVersion": "1", "timestamp": time.Now().UnixMilli()}, "payload": payload}
	b, _ := json.Marshal(env)
	return p.raw(token, b)
}

func (p *partnerCloud) raw(token string, body []byte) answer {
	p.t.Helper()
	req, _ := http.NewRequest("POST", "https://"+p.api+"/cic/v1", bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Header  struct{ Name string }
		Payload map[string]any
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		p.t.Fatalf("answer is not an envelope: %v\n%s", err, raw)
	}
	return answer{status: resp.StatusCode, header: resp.Header, name: env.Header.Name, payload: env.Payload, raw: raw}
}
