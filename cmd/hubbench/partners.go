package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// partner is one simulated partner cloud: linked through the agent's real
// OAuth flow, holding an access token, subscribed with its callback on
// the run's notification server.
type partner struct {
	idx   int
	name  string
	token string
	sub   string
}

const (
	benchUser     = "bench"
	benchPassword = "hubbench correct horse battery"
	benchRedirect = "https://partner.example/oauth/callback"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// partnerClient is the HTTPS client partners use towards the agent. The
// agent's certificate is self-signed and on loopback; connections are
// kept and reused, as a partner cloud would.
func partnerClient(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed loopback agent
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		ForceAttemptHTTP2:   false,
	}}
}

// linkPartner registers partner k with `hubagent partner add`, signs in as
// the household on the authorization page, approves sharing every device
// (also devices added later: the fleet is announced after linking), and
// exchanges the code with golang.org/x/oauth2, PKCE included.
func linkPartner(ctx context.Context, a *agentProc, k int, hmacSecret string) (*partner, error) {
	name := fmt.Sprintf("Bench Partner %d", k)
	out, err := a.cli(ctx, "", "partner", "add", "--name", name, "--redirect-uri", benchRedirect,
		"--callback-host", "127.0.0.1", "--allow-private-callback", "--notify-hmac-secret", hmacSecret, "--json")
	if err != nil {
		return nil, err
	}
	var added struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(out), &added); err != nil {
		return nil, fmt.Errorf("partner add --json: %w", err)
	}
	cfg := &oauth2.Config{ClientID: added.ClientID, ClientSecret: added.ClientSecret, RedirectURL: benchRedirect,
		Scopes:   []string{"devices.read", "devices.control", "subscriptions"},
		Endpoint: oauth2.Endpoint{AuthURL: "https://" + a.api + "/oauth2/authorize", TokenURL: "https://" + a.api + "/oauth2/token"}}
	verifier := oauth2.GenerateVerifier()
	state := "st-" + strconv.Itoa(k)
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	formURL := authURL[:strings.Index(authURL, "?")]

	jar, _ := cookiejar.New(nil)
	browser := partnerClient(1)
	browser.Jar = jar
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer browser.CloseIdleConnections()
	page := func() (url.Values, error) {
		resp, err := browser.Get(authURL)
		if err != nil {
			return nil, fmt.Errorf("authorize page: %w", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := csrfField.FindSubmatch(b)
		if resp.StatusCode != http.StatusOK || m == nil {
			return nil, fmt.Errorf("authorize page: HTTP %d without a form", resp.StatusCode)
		}
		form := url.Values{"csrf_token": {string(m[1])}}
		u, _ := url.Parse(authURL)
		for key, v := range u.Query() {
			form[key] = v
		}
		return form, nil
	}
	post := func(form url.Values, what string) (*http.Response, error) {
		resp, err := browser.PostForm(formURL, form)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("%s: HTTP %d, want 303", what, resp.StatusCode)
		}
		return resp, nil
	}
	form, err := page()
	if err != nil {
		return nil, err
	}
	form.Set("username", benchUser)
	form.Set("password", benchPassword)
	if _, err := post(form, "sign-in"); err != nil {
		return nil, err
	}
	if form, err = page(); err != nil {
		return nil, err
	}
	form.Set("decision", "approve")
	form.Set("share_new", "on")
	resp, err := post(form, "consent")
	if err != nil {
		return nil, err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		return nil, fmt.Errorf("consent redirected to %q, want a code", resp.Header.Get("Location"))
	}
	xctx := context.WithValue(ctx, oauth2.HTTPClient, browser)
	tok, err := cfg.Exchange(xctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("code exchange: %w", err)
	}
	// The token lives [api] token_ttl (1h by default), longer than any run.
	return &partner{idx: k, name: name, token: tok.AccessToken}, nil
}

// cicBody is a /cic/v1 envelope with a raw JSON payload, built without
// reflection so that the load generator stays cheap beside the agent.
func cicBody(ns, name, msgID string, payload []byte) []byte {
	b := make([]byte, 0, 160+len(payload))
	b = append(b, `{"header":{"namespace":"`...)
	b = append(b, ns...)
	b = append(b, `","name":"`...)
	b = append(b, name...)
	b = append(b, `","messageId":"`...)
	b = append(b, msgID...)
	b = append(b, `","payloadVersion":"1","timestamp":`...)
	b = strconv.AppendInt(b, time.Now().UnixMilli(), 10)
	b = append(b, `},"payload":`...)
	b = append(b, payload...)
	return append(b, '}')
}

// call posts one message to /cic/v1 and returns the HTTP status and body.
func call(ctx context.Context, hc *http.Client, api, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+api+"/cic/v1", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST /cic/v1: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("read /cic/v1 answer: %w", err)
	}
	return resp.StatusCode, b, nil
}

// subscribe subscribes p to every event of every device shared with it,
// with its callback on the notification server.
func (p *partner) subscribe(ctx context.Context, hc *http.Client, api, callbackBase string) error {
	payload, _ := json.Marshal(map[string]any{"callbackUrl": fmt.Sprintf("%s/p%d/notify", callbackBase, p.idx),
		"events": []string{"StatusChanged", "OnlineChanged", "DevicesChanged"}, "deviceIds": []string{}})
	status, body, err := call(ctx, hc, api, p.token, cicBody("CIC.Subscription", "Subscribe", fmt.Sprintf("sub-%d", p.idx), payload))
	if err != nil {
		return err
	}
	var env struct {
		Payload struct{ SubscriptionID string }
	}
	if status != http.StatusOK || json.Unmarshal(body, &env) != nil || env.Payload.SubscriptionID == "" {
		return fmt.Errorf("%s Subscribe: HTTP %d: %s", p.name, status, body)
	}
	p.sub = env.Payload.SubscriptionID
	return nil
}
