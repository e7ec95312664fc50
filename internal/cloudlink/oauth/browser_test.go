package oauth

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/hubagent/hubagent/internal/testutil"
)

// TestLinkFlowInChromium drives the whole account linking with a real
// headless Chromium: the partner (golang.org/x/oauth2 with PKCE) sends the
// browser to the hub, the household signs in, unticks one device and
// approves; the browser lands on the partner's redirect URI with code and
// state; the partner exchanges the code and refreshes the token.
func TestLinkFlowInChromium(t *testing.T) {
	chromium := testutil.LookTool(t, "chromium")
	e := newEnv(t)
	conf := &oauth2.Config{
		ClientID: e.clientID, ClientSecret: e.secret, RedirectURL: e.redirect,
		Scopes:   []string{ScopeDevicesRead, ScopeDevicesControl, ScopeSubscriptions},
		Endpoint: oauth2.Endpoint{AuthURL: e.base + "/oauth2/authorize", TokenURL: e.base + "/oauth2/token"},
	}
	verifier := oauth2.GenerateVerifier()
	state := "state-" + newID()
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	// Other tests on the machine add and remove network interfaces, which
	// Chromium answers by aborting navigations with ERR_NETWORK_CHANGED (or,
	// seen too, by dropping the request and never finishing the load); only
	// that is retried, with a fresh browser. A real failure fails all three.
	var consentText, finalURL string
	var err error
	for attempt := 1; ; attempt++ {
		consentText, finalURL, err = browserLink(t, chromium, authURL, e.redirect)
		if err == nil || attempt == 3 || !(strings.Contains(err.Error(), "ERR_NETWORK_CHANGED") || errors.Is(err, context.DeadlineExceeded)) {
			break
		}
		t.Logf("attempt %d: %v; retrying", attempt, err)
	}
	if err != nil {
		t.Fatalf("%v\nlogs:\n%s", err, e.logs)
	}
	for _, want := range []string{"Voice Cloud", "Living room lamp", "Kettle plug", "Front door", "control the chosen devices"} {
		if !strings.Contains(consentText, want) {
			t.Errorf("consent page lacks %q:\n%s", want, consentText)
		}
	}
	if !strings.HasPrefix(finalURL, e.redirect+"?") {
		t.Fatalf("browser ended at %s", finalURL)
	}
	e.mu.Lock()
	got := e.received
	if len(got) > 1 { // an aborted earlier attempt may have arrived too
		got = got[len(got)-1:]
	}
	e.mu.Unlock()
	if len(got) != 1 || got[0].Get("state") != state || got[0].Get("code") == "" || got[0].Get("iss") != e.base {
		t.Fatalf("partner received %v", got)
	}

	// The partner side: exchange with the PKCE verifier, then refresh.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed loopback
	pctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	tok, err := conf.Exchange(pctx, got[0].Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Extra("scope") != "devices.read devices.control subscriptions" {
		t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	p, err := e.auth(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"lamp-1": true, "plug-1": false, "lock-1": false} {
		d, _ := e.hub.Device(id)
		if ok, err := e.srv.Exposed(pctx, p, d); err != nil || ok != want {
			t.Errorf("%s exposed %v (%v), want %v", id, ok, err, want)
		}
	}
	// An expired token makes the TokenSource use the refresh grant.
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(pctx, &old).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if _, err := e.auth(fresh.AccessToken); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("HUBAGENT_TEST_SHOW_LOGS") != "" {
		t.Log(e.logs)
	}
	assertNoSecrets(t, e.logs.String(), e.secret, testPassword, got[0].Get("code"), tok.AccessToken,
		tok.RefreshToken, fresh.AccessToken, fresh.RefreshToken, verifier)
}

// assertNoSecrets fails when any secret appears in the text.
func assertNoSecrets(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("secret %.6s… appears in the logs", s)
		}
	}
}

// browserLink runs the household's part in a fresh headless Chromium: sign
// in, untick the kettle plug (the lamp stays ticked, the lock never was),
// approve. It returns the consent form's text and where the browser ended.
func browserLink(t *testing.T, chromium, authURL, redirect string) (consentText, finalURL string, err error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("ignore-certificate-errors", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 30*time.Second)
	defer cancelT()
	type CSS = chromedp.CSS
	fail := func(step string, err error) (string, string, error) {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer dcancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		return "", "", fmt.Errorf("browser: %s: %w (at %s)", step, err, loc)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(CSS(`input[name=username]`)),
		chromedp.SendKeys(CSS(`input[name=username]`), testUser),
		chromedp.SendKeys(CSS(`input[name=password]`), testPassword),
		chromedp.Click(CSS(`button[type=submit]`)),
		chromedp.WaitVisible(CSS(`button[value=approve]`)),
	)
	if err != nil {
		return fail("sign in", err)
	}
	if consentText, err = chromedp.Run(ctx, chromedp.Text(CSS(`form`))); err != nil {
		return fail("read consent page", err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(CSS(`input[name=device][value="plug-1"]`)),
		chromedp.Click(CSS(`button[value=approve]`)),
		chromedp.WaitVisible(CSS(`body`)),
	)
	if err != nil {
		return fail("consent", err)
	}
	testutil.Poll(10*time.Second, func() bool { // the caller checks where the browser ended up
		finalURL, err = chromedp.Run(ctx, chromedp.Location())
		return err == nil && (strings.HasPrefix(finalURL, redirect) || strings.HasPrefix(finalURL, "chrome-error:"))
	})
	if strings.HasPrefix(finalURL, "chrome-error:") {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(CSS(`html`)))
		code := regexp.MustCompile(`ERR_[A-Z_]+`).FindString(html)
		return "", "", fmt.Errorf("browser: redirect to the partner failed: %s", code)
	}
	return consentText, finalURL, nil
}
