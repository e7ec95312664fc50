package oauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/hubagent/hubagent/internal/device"
)

func TestTokenIssuesJWTWithProfileClaims(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	st, m := e.exchange(code, "")
	if st != 200 || str(m, "token_type") != "Bearer" || m["expires_in"].(float64) != 3600 ||
		str(m, "refresh_token") == "" || str(m, "scope") != "devices.read devices.control" {
		t.Fatalf("token answer %d %v", st, m)
	}
	if len(str(m, "refresh_token")) < 43 {
		t.Fatalf("refresh token shorter than 256 bits: %q", str(m, "refresh_token"))
	}
	p, err := e.auth(str(m, "access_token"))
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != e.clientID || p.UserID != e.userID || p.GrantID == "" || p.TokenID == "" ||
		!p.HasScope(ScopeDevicesControl) || p.HasScope(ScopeSubscriptions) {
		t.Fatalf("principal %+v", p)
	}
	c, err := e.srv.parseAccessToken(str(m, "access_token"))
	if err != nil || c.Issuer != e.base || c.Audience[0] != e.clientID || c.IssuedAt == nil || c.ExpiresAt == nil {
		t.Fatalf("claims %+v %v", c, err)
	}
}

func TestTokenRejectsReusedCode(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	st, m := e.exchange(code, "")
	if st != 200 {
		t.Fatalf("first exchange %d %v", st, m)
	}
	st2, m2 := e.exchange(code, "")
	wantOAuthError(t, st2, m2, 400, "invalid_grant")
	// RFC 6749 §4.1.2: the tokens issued from the code are revoked.
	if _, err := e.auth(str(m, "access_token")); device.CodeOf(err) != device.CodeInvalidAccessToken {
		t.Fatalf("access token after code replay: %v", err)
	}
	st3, m3 := e.refresh(str(m, "refresh_token"))
	wantOAuthError(t, st3, m3, 400, "invalid_grant")
}

func TestTokenRejectsExpiredCode(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	e.clk.Add(61 * time.Second)
	st, m := e.exchange(code, "")
	wantOAuthError(t, st, m, 400, "invalid_grant")
}

func TestTokenRejectsRedirectURIMismatch(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	st, m := e.tokenReq(e.clientID, e.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {e.redirect + "/other"}})
	wantOAuthError(t, st, m, 400, "invalid_grant")
}

func TestAuthorizeRefusesUnregisteredRedirectURI(t *testing.T) {
	e := newEnv(t)
	for _, ru := range []string{e.redirect + "x", e.redirect + "?a=1", strings.ToUpper(e.redirect), "https://evil.example/cb", ""} {
		p := e.authParams(e.clientID, "")
		p.Set("redirect_uri", ru)
		resp, err := e.browser().Get(e.base + "/oauth2/authorize?" + p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Never redirect to an unregistered URI: an error page instead.
		if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
			t.Errorf("redirect_uri %q: status %d location %q", ru, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestTokenChecksPKCE(t *testing.T) {
	e := newEnv(t)
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	for _, tc := range []struct{ name, verifier string }{
		{"missing", ""},
		{"wrong", oauth2.GenerateVerifier()},
		{"too short", "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := e.code(challenge)
			st, m := e.exchange(code, tc.verifier)
			wantOAuthError(t, st, m, 400, "invalid_grant")
		})
	}
	t.Run("verifier without challenge", func(t *testing.T) {
		code, _ := e.code("")
		st, m := e.exchange(code, verifier)
		wantOAuthError(t, st, m, 400, "invalid_grant")
	})
	t.Run("right", func(t *testing.T) {
		code, _ := e.code(challenge)
		if st, m := e.exchange(code, verifier); st != 200 {
			t.Fatalf("%d %v", st, m)
		}
	})
}

func TestAuthorizeRequiresPKCEForPublicClients(t *testing.T) {
	e := newEnv(t)
	p := e.authParams(e.publicID, "")
	resp, err := e.browser().Get(e.base + "/oauth2/authorize?" + p.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != p.Get("state") {
		t.Fatalf("status %d location %v", resp.StatusCode, loc)
	}
	// With PKCE the public client links without a secret.
	verifier := oauth2.GenerateVerifier()
	c := e.browser()
	p = e.authParams(e.publicID, oauth2.S256ChallengeFromVerifier(verifier))
	e.signIn(c, p)
	q := e.consent(c, p, "approve", "lamp-1")
	st, m := e.tokenReq(e.publicID, "-", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {e.redirect}, "code_verifier": {verifier}})
	if st != 200 {
		t.Fatalf("public client exchange %d %v", st, m)
	}
}

func TestTokenRejectsWrongClientSecret(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect}}
	st, m := e.tokenReq(e.clientID, e.secret+"x", f)
	wantOAuthError(t, st, m, 401, "invalid_client")
	st, m = e.tokenReq("p-unknown", e.secret, f)
	wantOAuthError(t, st, m, 401, "invalid_client")
	// client_secret_post with a wrong secret, and no secret at all.
	f2 := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect},
		"client_id": {e.clientID}, "client_secret": {"nope"}}
	st, m = e.tokenReq(e.clientID, "-", f2)
	wantOAuthError(t, st, m, 401, "invalid_client")
	f2.Del("client_secret")
	st, m = e.tokenReq(e.clientID, "-", f2)
	wantOAuthError(t, st, m, 401, "invalid_client")
	// The code was never consumed by the failed attempts.
	f2.Set("client_secret", e.secret)
	if st, m = e.tokenReq(e.clientID, "-", f2); st != 200 {
		t.Fatalf("client_secret_post: %d %v", st, m)
	}
}

func TestRefreshRetryWithPreviousTokenAfterLostResponse(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	_, m := e.exchange(code, "")
	r0 := str(m, "refresh_token")
	st, m1 := e.refresh(r0) // the partner never receives this answer
	if st != 200 {
		t.Fatalf("%d %v", st, m1)
	}
	st, m2 := e.refresh(r0) // retry with the previous token works
	if st != 200 || str(m2, "refresh_token") == str(m1, "refresh_token") {
		t.Fatalf("retry: %d %v", st, m2)
	}
	// The lost token is discarded: presenting it is reuse.
	st, m3 := e.refresh(str(m2, "refresh_token"))
	if st != 200 {
		t.Fatalf("rotation after retry: %d %v", st, m3)
	}
	if _, err := e.auth(str(m3, "access_token")); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshReuseAfterSuccessorUsedRevokesGrant(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	_, m := e.exchange(code, "")
	r0 := str(m, "refresh_token")
	_, m1 := e.refresh(r0)
	_, m2 := e.refresh(str(m1, "refresh_token")) // the successor is used once
	if str(m2, "refresh_token") == "" {
		t.Fatalf("%v", m2)
	}
	st, mr := e.refresh(r0) // an older token: reuse
	wantOAuthError(t, st, mr, 400, "invalid_grant")
	st, mr = e.refresh(str(m2, "refresh_token")) // the whole grant is gone
	wantOAuthError(t, st, mr, 400, "invalid_grant")
	if _, err := e.auth(str(m2, "access_token")); device.CodeOf(err) != device.CodeInvalidAccessToken {
		t.Fatalf("access token after reuse: %v", err)
	}
}

func TestRevokedTokenStopsWorking(t *testing.T) {
	e := newEnv(t)
	var hooked []Grant
	e.srv.OnRevoke(func(_ context.Context, g Grant) { hooked = append(hooked, g) })
	code, _ := e.code("")
	_, m := e.exchange(code, "")
	req := url.Values{"token": {str(m, "refresh_token")}, "token_type_hint": {"refresh_token"}}
	resp, _ := e.postRevoke(req)
	if resp != 200 {
		t.Fatalf("revoke status %d", resp)
	}
	st, mr := e.refresh(str(m, "refresh_token"))
	wantOAuthError(t, st, mr, 400, "invalid_grant")
	if _, err := e.auth(str(m, "access_token")); device.CodeOf(err) != device.CodeInvalidAccessToken {
		t.Fatalf("access token after revoke: %v", err)
	}
	if len(hooked) != 1 || hooked[0].ClientID != e.clientID || hooked[0].UserID != e.userID {
		t.Fatalf("OnRevoke calls %+v", hooked)
	}
	// Revoking an unknown token answers 200 too (RFC 7009 §2.2).
	if resp, _ := e.postRevoke(url.Values{"token": {"nonsense"}}); resp != 200 {
		t.Fatalf("unknown token: %d", resp)
	}
}

func (e *env) postRevoke(f url.Values) (int, string) {
	req, _ := http.NewRequest("POST", e.base+"/oauth2/revoke", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.clientID, e.secret)
	resp, err := (&http.Client{Transport: insecureTransport()}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, ""
}

func TestAccessTokenExpires(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("")
	_, m := e.exchange(code, "")
	e.clk.Add(time.Hour + time.Minute)
	if _, err := e.auth(str(m, "access_token")); device.CodeOf(err) != device.CodeTokenExpired {
		t.Fatalf("expired token: %v", err)
	}
	for _, bad := range []string{"", "x", str(m, "access_token") + "x", "a.b.c"} {
		if _, err := e.auth(bad); device.CodeOf(err) != device.CodeInvalidAccessToken {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func TestFormsRequireCSRFToken(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	p := e.authParams(e.clientID, "")
	e.page(c, e.base+"/oauth2/authorize?"+p.Encode())
	// Sign-in without the token.
	form := url.Values{"username": {testUser}, "password": {testPassword}}
	for k, v := range p {
		form[k] = v
	}
	resp, _ := e.post(c, e.base+"/oauth2/authorize", form)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without csrf: %d", resp.StatusCode)
	}
	// Consent without the token, though signed in.
	e.signIn(c, p)
	form = url.Values{"decision": {"approve"}, "device": {"lamp-1"}}
	for k, v := range p {
		form[k] = v
	}
	resp, _ = e.post(c, e.base+"/oauth2/authorize", form)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
		t.Fatalf("consent without csrf: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A token from another browser does not fit this browser's cookie.
	_, _, other := e.page(e.browser(), e.base+"/oauth2/authorize?"+p.Encode())
	form.Set("csrf_token", other)
	resp, _ = e.post(c, e.base+"/oauth2/authorize", form)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("consent with a foreign csrf token: %d", resp.StatusCode)
	}
}

func TestConsentDeniedRedirectsAccessDenied(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	p := e.authParams(e.clientID, "")
	e.signIn(c, p)
	q := e.consent(c, p, "deny")
	if q.Get("error") != "access_denied" || q.Get("state") != p.Get("state") || q.Get("code") != "" {
		t.Fatalf("deny redirect %v", q)
	}
}

func TestSignInBruteForceThrottled(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	p := e.authParams(e.clientID, "")
	_, _, csrf := e.page(c, e.base+"/oauth2/authorize?"+p.Encode())
	try := func(pw string) int {
		form := url.Values{"username": {testUser}, "password": {pw}, "csrf_token": {csrf}}
		for k, v := range p {
			form[k] = v
		}
		resp, _ := e.post(c, e.base+"/oauth2/authorize", form)
		return resp.StatusCode
	}
	for i := range maxAccountFailures {
		if st := try("guess-" + string(rune('a'+i))); st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	// Locked: even the right password is refused now.
	if st := try(testPassword); st != http.StatusTooManyRequests {
		t.Fatalf("after %d failures: %d", maxAccountFailures, st)
	}
	e.clk.Add(throttleWindow + time.Second)
	if st := try(testPassword); st != http.StatusSeeOther {
		t.Fatalf("after the window: %d", st)
	}
}

func TestSignInThrottlesPerAddressAcrossAccounts(t *testing.T) {
	th := newThrottle((&clock{t: time.Now()}).Now)
	for i := range maxAddressFailures {
		th.failed("user"+string(rune('a'+i)), "192.0.2.1")
	}
	if th.blocked("someone-new", "192.0.2.1") == 0 {
		t.Fatal("address not throttled")
	}
	if th.blocked("someone-new", "192.0.2.2") != 0 {
		t.Fatal("other address throttled")
	}
}

func TestExposureFollowsConsent(t *testing.T) {
	e := newEnv(t)
	code, _ := e.code("") // approves lamp and plug; the lock is unticked by default
	_, m := e.exchange(code, "")
	p, err := e.auth(str(m, "access_token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	exposed := func(d *device.Device) bool {
		ok, err := e.srv.Exposed(ctx, p, d)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for id, want := range map[string]bool{"lamp-1": true, "plug-1": true, "lock-1": false} {
		d, _ := e.hub.Device(id)
		if got := exposed(d); got != want {
			t.Errorf("%s exposed = %v, want %v", id, got, want)
		}
	}
	// Devices added later: not shared without share_new; with it, never locks.
	newLamp := &device.Device{ID: "lamp-2", Category: device.CategoryLight}
	newLock := &device.Device{ID: "lock-2", Category: device.CategoryLock}
	if exposed(newLamp) || exposed(newLock) {
		t.Fatal("device added later exposed without share_new")
	}
	if err := e.srv.st.SetExposure(ctx, e.userID, p.GrantID, Exposure{Devices: map[string]bool{"lamp-1": true}, ShareNew: true}); err != nil {
		t.Fatal(err)
	}
	if !exposed(newLamp) || exposed(newLock) {
		t.Fatal("share_new: want new lamp exposed and new lock not")
	}
}

func TestPagesForbidFraming(t *testing.T) {
	e := newEnv(t)
	resp, err := e.browser().Get(e.base + "/oauth2/authorize?" + e.authParams(e.clientID, "").Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("headers %v", resp.Header)
	}
	for _, c := range resp.Cookies() {
		if !c.Secure || !c.HttpOnly || c.SameSite == http.SameSiteNoneMode || c.SameSite == http.SameSiteDefaultMode {
			t.Errorf("cookie %s: secure %v httponly %v samesite %v", c.Name, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
}

func TestNotifyCredentialsOutliveRemoval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, _, err := e.srv.st.AddPartner(ctx, NewPartner{Name: "Pushy", RedirectURIs: []string{e.redirect},
		CallbackHosts: []string{"push.example"}, NotifyHMACSecret: "0123456789abcdef0123"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.RemovePartner(ctx, id); err != nil {
		t.Fatal(err)
	}
	c, err := e.srv.st.NotifyCredentials(ctx, id)
	if err != nil || !c.Removed || c.HMACSecret != "0123456789abcdef0123" || c.CallbackHosts[0] != "push.example" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := e.srv.st.Partner(ctx, id); err == nil {
		t.Fatal("removed partner still registered")
	}
}
