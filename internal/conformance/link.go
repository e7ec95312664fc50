package conformance

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// browser is the household member's browser: a cookie jar, no redirects
// followed automatically (the redirect back to the partner is captured, not
// visited).
type browser struct {
	hc *http.Client
}

// browser returns the run's one browser: every authorization request of a
// run shares its session, so the household signs in once per run.
func (r *run) browser() *browser {
	if r.b != nil {
		return r.b
	}
	jar, _ := cookiejar.New(nil) // cannot fail without options
	r.b = &browser{hc: &http.Client{Jar: jar, Transport: r.hc.Transport, Timeout: r.hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return r.b
}

// randomString returns n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// pkce is a code verifier and its S256 challenge (RFC 7636 §4).
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	v := randomString(32) // 43 characters
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authorization is a completed authorization request: the code captured at
// the redirect, and what was asked.
type authorization struct {
	code, state, gotState string
	pkce                  pkce
	redirect              *url.URL
	trace                 []string
}

// errSignIn marks a sign-in the target refused: the kit stops instead of
// spending more of the account's attempts (the target's lockout).
var errSignIn = errors.New("sign-in refused")

// authorizeURL builds the authorization request (§4 step 1).
func (r *run) authorizeURL(redirectURI, scope, state string, p pkce) string {
	q := url.Values{"response_type": {"code"}, "client_id": {r.opts.ClientID}, "redirect_uri": {redirectURI},
		"state": {state}, "scope": {scope}, "code_challenge": {p.challenge}, "code_challenge_method": {"S256"}}
	return r.base + pathAuthorize + "?" + q.Encode()
}

// isRedirectURI reports whether u is the registered redirect URI (with the
// answer's parameters added).
func (r *run) isRedirectURI(u *url.URL) bool {
	want, err := url.Parse(r.opts.RedirectURI)
	return err == nil && u.Scheme == want.Scheme && u.Host == want.Host && u.Path == want.Path
}

// authorize drives the sign-in and consent forms for one authorization
// request and returns the code captured at the redirect.
func (r *run) authorize(scope string) (*authorization, error) {
	if r.signInRefused != nil {
		return nil, r.signInRefused
	}
	b := r.browser()
	a := &authorization{state: randomString(12), pkce: newPKCE()}
	submitted := false // a password goes at most once per request, and never after a refusal
	next, err := http.NewRequest(http.MethodGet, r.authorizeURL(r.opts.RedirectURI, scope, a.state, a.pkce), nil)
	if err != nil {
		return nil, err
	}
	for hop := 0; hop < 12; hop++ {
		resp, err := b.hc.Do(next.WithContext(r.ctx))
		if err != nil {
			return a, fmt.Errorf("%s %s: %w", next.Method, next.URL.Path, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxFormPage))
		resp.Body.Close()
		a.trace = append(a.trace, fmt.Sprintf("%s %s → %d", next.Method, next.URL.Path, resp.StatusCode))
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			u, err := next.URL.Parse(loc)
			if err != nil {
				return a, fmt.Errorf("bad Location %q", loc)
			}
			if r.isRedirectURI(u) {
				a.redirect = u
				q := u.Query()
				if e := q.Get("error"); e != "" {
					return a, fmt.Errorf("the target answered error=%s (%s)", e, q.Get("error_description"))
				}
				a.code, a.gotState = q.Get("code"), q.Get("state")
				if a.code == "" {
					return a, fmt.Errorf("redirect without a code: %s", u.Redacted())
				}
				return a, nil
			}
			if !strings.EqualFold(u.Host, next.URL.Host) {
				return a, fmt.Errorf("redirected off the target to %s", u.Redacted())
			}
			next, _ = http.NewRequest(http.MethodGet, u.String(), nil)
			continue
		}
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			r.signInRefused = fmt.Errorf("%w: the target throttles sign-ins (Retry-After %s); the kit does not retry", errSignIn, resp.Header.Get("Retry-After"))
			return a, r.signInRefused
		case http.StatusOK, http.StatusUnauthorized, http.StatusForbidden, http.StatusBadRequest:
		default:
			return a, fmt.Errorf("HTTP %d on %s: %s", resp.StatusCode, next.URL.Path, clip(body, 200))
		}
		forms := parseForms(string(body))
		if len(forms) == 0 {
			return a, fmt.Errorf("HTTP %d without a form on %s: %s", resp.StatusCode, next.URL.Path, clip(stripBody(body), 200))
		}
		f := forms[0]
		for _, x := range forms {
			if x.hasPassword() {
				f = x
				break
			}
		}
		var vals url.Values
		if f.hasPassword() {
			if submitted {
				// The target showed the sign-in form again after a password:
				// refused. Never try again in this run: that spends the
				// household's attempts towards the lockout.
				r.signInRefused = fmt.Errorf("%w (HTTP %d): %s", errSignIn, resp.StatusCode, clip(stripBody(body), 200))
				return a, r.signInRefused
			}
			submitted = true
			vals = f.fill(r.opts.Username, r.opts.Password)
		} else {
			if resp.StatusCode != http.StatusOK {
				return a, fmt.Errorf("HTTP %d on %s: %s", resp.StatusCode, next.URL.Path, clip(stripBody(body), 200))
			}
			vals = f.fill("", "")
		}
		action, err := next.URL.Parse(f.Action)
		if err != nil || !strings.EqualFold(action.Host, next.URL.Host) {
			return a, fmt.Errorf("form posts off the target (%q)", f.Action)
		}
		if f.Method == "get" {
			action.RawQuery = vals.Encode()
			next, _ = http.NewRequest(http.MethodGet, action.String(), nil)
		} else {
			next, _ = http.NewRequest(http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
			next.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	return a, errors.New("too many steps before the redirect")
}

func stripBody(b []byte) []byte { return []byte(stripTags(string(b))) }

// exchange redeems a code at the token endpoint (§4 step 3).
func (r *run) exchange(code, redirectURI, verifier string, how clientAuth) (int, tokenAnswer, []byte, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return r.tokenRequest(pathToken, form, how, r.opts.ClientSecret)
}

// newExtraLink makes another link by the forms (username/password runs
// only) with the given scope.
func (r *run) newExtraLink(scope string) (*link, error) {
	a, err := r.authorize(scope)
	if err != nil {
		return nil, err
	}
	status, t, raw, err := r.exchange(a.code, r.opts.RedirectURI, a.pkce.verifier, authBasic)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK || t.AccessToken == "" {
		return nil, fmt.Errorf("code exchange: HTTP %d %s", status, tokenText(raw, 200))
	}
	return newLink(t), nil
}
