package conformance

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// getJSON fetches a metadata document.
func (r *run) getJSON(path string) (int, map[string]any, []byte, error) {
	resp, raw, err := r.do(func() (*http.Request, error) { return http.NewRequest(http.MethodGet, r.base+path, nil) })
	if err != nil {
		return 0, nil, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return resp.StatusCode, nil, raw, fmt.Errorf("not a JSON object: %v", err)
	}
	return resp.StatusCode, m, raw, nil
}

// endpointProblem checks that a metadata field is an https URL ending in
// the profile's path.
func endpointProblem(m map[string]any, field, path string) string {
	s, _ := m[field].(string)
	u, err := url.Parse(s)
	switch {
	case s == "":
		return field + " is missing"
	case err != nil || u.Scheme != "https" || u.Host == "":
		return fmt.Sprintf("%s %q is not an absolute https URL", field, s)
	case u.Path != path:
		return fmt.Sprintf("%s %q does not end in the profile's path %s", field, s, path)
	}
	return ""
}

func stringsOf(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func metadataChecks() []check {
	return []check{
		{id: "oauth.metadata", group: "oauth",
			requires: "RFC 8414 §2 metadata at /.well-known/oauth-authorization-server with issuer, authorization_endpoint, token_endpoint, response_types_supported (code), S256 among code_challenge_methods_supported, and the revocation endpoint (profile §1, §4)",
			run: func(r *run) outcome {
				sent := "GET " + pathASMetadata
				status, m, raw, err := r.getJSON(pathASMetadata)
				got := fmt.Sprintf("HTTP %d %s", status, clip(raw, 300))
				if err != nil || status != http.StatusOK {
					return failed(fmt.Sprintf("no metadata document (%v)", err), sent, got)
				}
				var problems []string
				if iss, _ := m["issuer"].(string); !strings.HasPrefix(iss, "https://") {
					problems = append(problems, "issuer missing or not https")
				}
				for _, f := range [][2]string{{"authorization_endpoint", pathAuthorize}, {"token_endpoint", pathToken}, {"revocation_endpoint", pathRevoke}} {
					if p := endpointProblem(m, f[0], f[1]); p != "" {
						problems = append(problems, p)
					}
				}
				if !slices.Contains(stringsOf(m["response_types_supported"]), "code") {
					problems = append(problems, "response_types_supported lacks code")
				}
				if !slices.Contains(stringsOf(m["code_challenge_methods_supported"]), "S256") {
					problems = append(problems, "code_challenge_methods_supported lacks S256")
				}
				if gt, ok := m["grant_types_supported"]; ok {
					for _, g := range []string{"authorization_code", "refresh_token"} {
						if !slices.Contains(stringsOf(gt), g) {
							problems = append(problems, "grant_types_supported lacks "+g)
						}
					}
				}
				if len(problems) > 0 {
					return failed(strings.Join(problems, "; "), sent, got)
				}
				return passed(sent, got)
			}},
		{id: "discovery.cic-configuration", group: "discovery",
			requires: "the interface metadata document at /.well-known/cic-configuration: standard, serviceUrl, authorizationEndpoint, tokenEndpoint, revocationEndpoint, payloadVersions [\"1\"], every operation and notification of the profile (profile §1, §7; standard §7.2)",
			run: func(r *run) outcome {
				sent := "GET " + pathCICMetadata
				status, m, raw, err := r.getJSON(pathCICMetadata)
				got := fmt.Sprintf("HTTP %d %s", status, clip(raw, 300))
				if err != nil || status != http.StatusOK {
					return failed(fmt.Sprintf("no metadata document (%v)", err), sent, got)
				}
				var problems []string
				if s, _ := m["standard"].(string); !strings.Contains(s, "T/CHEAA 0001.1") {
					problems = append(problems, fmt.Sprintf("standard %q does not name T/CHEAA 0001.1", s))
				}
				for _, f := range [][2]string{{"serviceUrl", pathService}, {"authorizationEndpoint", pathAuthorize},
					{"tokenEndpoint", pathToken}, {"revocationEndpoint", pathRevoke}} {
					if p := endpointProblem(m, f[0], f[1]); p != "" {
						problems = append(problems, p)
					}
				}
				if !slices.Contains(stringsOf(m["payloadVersions"]), "1") {
					problems = append(problems, `payloadVersions lacks "1"`)
				}
				ops, _ := m["operations"].(map[string]any)
				for ns, names := range map[string][]string{"CIC.Discovery": {"Discover"}, "CIC.Query": {"QueryStatus"},
					"CIC.Control": {"Control"}, "CIC.Subscription": {"Subscribe", "Unsubscribe", "ListSubscriptions"}, "CIC.Account": {"Unlink"}} {
					for _, n := range names {
						if !slices.Contains(stringsOf(ops[ns]), n) {
							problems = append(problems, "operations lacks "+ns+"/"+n)
						}
					}
				}
				for _, n := range []string{"StatusChanged", "OnlineChanged", "DevicesChanged", "AccountUnlinked"} {
					if !slices.Contains(stringsOf(m["notifications"]), n) {
						problems = append(problems, "notifications lacks "+n)
					}
				}
				slices.Sort(problems)
				if len(problems) > 0 {
					return failed(strings.Join(problems, "; "), sent, got)
				}
				return passed(sent, got)
			}},
	}
}

// mainLink is what the linking checks found, for the checks after them.
type mainLink struct {
	auth   *authorization
	answer tokenAnswer
	raw    []byte
}

func (r *run) passwordMode() bool { return r.opts.RefreshToken == "" }

func linkChecks() []check {
	var ml mainLink
	needForms := func(r *run) (outcome, bool) {
		if !r.passwordMode() {
			return skipped("--refresh-token given: the sign-in is not automated, no authorization request is made"), false
		}
		if ml.auth == nil || ml.auth.code == "" {
			return skipped("no authorization code: see oauth.code-flow"), false
		}
		return outcome{}, true
	}
	return []check{
		{id: "oauth.code-flow", group: "oauth",
			requires: "the authorization code grant: sign-in and consent forms, redirect to redirect_uri?code=…, code exchanged with PKCE S256 for tokens (profile §4 steps 1-3; RFC 6749 §4.1, RFC 7636)",
			run: func(r *run) outcome {
				if !r.passwordMode() {
					l := &link{refresh: r.opts.RefreshToken}
					if err := r.refreshLink(l); err != nil {
						r.linkErr = err
						return failed("the given refresh token does not work", "grant_type=refresh_token", err.Error())
					}
					r.main, r.firstTok, r.firstExp = l, l.access, l.obtained.Add(time.Duration(l.expiresIn)*time.Second)
					return skipped("--refresh-token given: linked from it, the code flow is not exercised")
				}
				a, err := r.authorize(allScopes)
				ml.auth = a
				sent := "GET " + pathAuthorize + " (response_type=code, S256 challenge, scope " + allScopes + "), then the forms"
				if err != nil {
					r.linkErr = err
					var trace []string
					if a != nil {
						trace = a.trace
					}
					return failed(err.Error(), sent, strings.Join(trace, ", "))
				}
				status, t, raw, err := r.exchange(a.code, r.opts.RedirectURI, a.pkce.verifier, authBasic)
				ml.answer, ml.raw = t, raw
				got := strings.Join(a.trace, ", ") + fmt.Sprintf("; token endpoint HTTP %d", status)
				if err != nil || status != http.StatusOK || t.AccessToken == "" {
					r.linkErr = fmt.Errorf("code exchange: HTTP %d %s %v", status, tokenText(raw, 200), err)
					return failed("the code exchange failed", sent+"; POST "+pathToken+" grant_type=authorization_code with code_verifier", got+" "+tokenText(raw, 200))
				}
				r.main = newLink(t)
				r.firstTok, r.firstExp = t.AccessToken, r.main.obtained.Add(time.Duration(r.main.expiresIn)*time.Second)
				return passed(sent+"; POST "+pathToken+" grant_type=authorization_code with code_verifier", got)
			}},
		{id: "oauth.state-echoed", group: "oauth",
			requires: "state passed back unchanged on the redirect (profile §4; RFC 6749 §4.1.2)",
			run: func(r *run) outcome {
				if o, ok := needForms(r); !ok {
					return o
				}
				sent, got := "state="+ml.auth.state, "state="+ml.auth.gotState
				if ml.auth.gotState != ml.auth.state {
					return failed("state changed or missing", sent, got)
				}
				return passed(sent, got)
			}},
		{id: "oauth.token-response", group: "oauth",
			requires: "token answer with access_token, token_type Bearer, expires_in, refresh_token and scope (profile §4 step 3; RFC 6749 §5.1)",
			run: func(r *run) outcome {
				if o, ok := needForms(r); !ok {
					return o
				}
				t := ml.answer
				var problems []string
				if !strings.EqualFold(t.TokenType, "Bearer") {
					problems = append(problems, fmt.Sprintf("token_type %q", t.TokenType))
				}
				if t.expiresIn() <= 0 {
					problems = append(problems, "expires_in missing or not a positive number")
				}
				if t.RefreshToken == "" {
					problems = append(problems, "no refresh_token")
				}
				for _, s := range strings.Fields(allScopes) {
					if !slices.Contains(strings.Fields(t.Scope), s) {
						problems = append(problems, "scope lacks "+s)
					}
				}
				got := fmt.Sprintf("token_type=%q expires_in=%s scope=%q refresh_token present=%t", t.TokenType, t.ExpiresIn, t.Scope, t.RefreshToken != "")
				if len(problems) > 0 {
					return failed(strings.Join(problems, "; "), "the code exchange", got)
				}
				return passed("the code exchange", got)
			}},
		{id: "oauth.access-token-claims", group: "oauth",
			requires: "the access token is a JWT with iss, sub, aud = client_id, scope, exp, iat, jti (profile §4 step 3; RFC 7519)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				parts := strings.Split(r.firstTok, ".")
				if len(parts) != 3 {
					return failed(fmt.Sprintf("not a JWT (%d dot-separated parts)", len(parts)), "", "")
				}
				raw, err := base64.RawURLEncoding.DecodeString(parts[1])
				var c map[string]any
				if err != nil || json.Unmarshal(raw, &c) != nil {
					return failed("the JWT payload is not base64url JSON", "", clip([]byte(parts[1]), 80))
				}
				var problems []string
				for _, k := range []string{"iss", "sub", "scope", "jti"} {
					if s, _ := c[k].(string); s == "" {
						problems = append(problems, "claim "+k+" missing")
					}
				}
				for _, k := range []string{"exp", "iat"} {
					if _, ok := c[k].(float64); !ok {
						problems = append(problems, "claim "+k+" missing or not a number")
					}
				}
				aud := stringsOf(c["aud"])
				if s, ok := c["aud"].(string); ok {
					aud = []string{s}
				}
				if !slices.Contains(aud, r.opts.ClientID) {
					problems = append(problems, fmt.Sprintf("aud %v is not the client_id", c["aud"]))
				}
				got := "claims " + clip(raw, 300)
				sent := "the first access token's payload, decoded (the signature is the target's to check)"
				if len(problems) > 0 {
					return failed(strings.Join(problems, "; "), sent, got)
				}
				return passed(sent, got)
			}},
		{id: "oauth.redirect-exact", group: "oauth",
			requires: "a redirect_uri that is not exactly a registered one is refused without redirecting (profile §4 rules; RFC 6749 §4.1.2.1, RFC 9700 §4.1.3)",
			run: func(r *run) outcome {
				if !r.passwordMode() {
					return skipped("--refresh-token given: no authorization requests are made")
				}
				wrong := strings.TrimRight(r.opts.RedirectURI, "/") + "/conformance-not-registered"
				u := r.authorizeURL(wrong, allScopes, randomString(8), newPKCE())
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				resp, err := r.browser().hc.Do(req.WithContext(r.ctx))
				sent := "GET " + pathAuthorize + " with redirect_uri=" + wrong
				if err != nil {
					return failed("no answer", sent, err.Error())
				}
				resp.Body.Close()
				loc := resp.Header.Get("Location")
				got := fmt.Sprintf("HTTP %d Location %q", resp.StatusCode, loc)
				if strings.HasPrefix(loc, wrong) || (loc != "" && !strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, r.base)) {
					return failed("redirected to an unregistered URI", sent, got)
				}
				if resp.StatusCode < 400 || resp.StatusCode > 499 {
					return failed("the request was not refused (want a 4xx error page)", sent, got)
				}
				return passed(sent, got)
			}},
		{id: "oauth.pkce-verifier", group: "oauth",
			requires: "a code issued with an S256 challenge is redeemed only with the matching code_verifier: otherwise HTTP 400 invalid_grant (profile §4; RFC 7636 §4.6)",
			run: func(r *run) outcome {
				if o, ok := needForms(r); !ok {
					return o
				}
				a, err := r.authorize(allScopes)
				if err != nil {
					return failed("no second code: "+err.Error(), "", "")
				}
				status, t, raw, err := r.exchange(a.code, r.opts.RedirectURI, newPKCE().verifier, authBasic)
				return wantGrantError(status, t, raw, err, http.StatusBadRequest, "invalid_grant", "POST "+pathToken+" with a fresh code and a different code_verifier")
			}},
		{id: "oauth.code-bound-redirect", group: "oauth",
			requires: "a code is bound to its redirect_uri: exchanged with another one, HTTP 400 invalid_grant (profile §4 rules; RFC 6749 §4.1.3)",
			run: func(r *run) outcome {
				if o, ok := needForms(r); !ok {
					return o
				}
				a, err := r.authorize(allScopes)
				if err != nil {
					return failed("no code: "+err.Error(), "", "")
				}
				other := strings.TrimRight(r.opts.RedirectURI, "/") + "/other"
				status, t, raw, err := r.exchange(a.code, other, a.pkce.verifier, authBasic)
				return wantGrantError(status, t, raw, err, http.StatusBadRequest, "invalid_grant", "POST "+pathToken+" with redirect_uri="+other)
			}},
		{id: "oauth.client-auth", group: "oauth",
			requires: "client authentication at the token endpoint: a wrong secret by HTTP Basic is HTTP 401 invalid_client (profile §4 step 3; RFC 6749 §5.2)",
			run: func(r *run) outcome {
				if r.opts.ClientSecret == "" {
					return skipped("public client (no --client-secret): no secret to get wrong")
				}
				status, t, raw, err := r.tokenRequest(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {randomString(32)}},
					authBasic, r.opts.ClientSecret+"-wrong")
				return wantGrantError(status, t, raw, err, http.StatusUnauthorized, "invalid_client", "POST "+pathToken+" with a wrong client secret (Basic)")
			}},
		{id: "oauth.invalid-refresh", group: "oauth",
			requires: "an invalid refresh token answers HTTP 400 invalid_grant (profile §4 step 4; RFC 6749 §5.2)",
			run: func(r *run) outcome {
				status, t, raw, err := r.tokenRequest(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {randomString(32)}},
					authBasic, r.opts.ClientSecret)
				return wantGrantError(status, t, raw, err, http.StatusBadRequest, "invalid_grant", "grant_type=refresh_token with a random token")
			}},
	}
}

// wantGrantError checks an OAuth error answer.
func wantGrantError(status int, t tokenAnswer, raw []byte, err error, wantStatus int, wantCode, sent string) outcome {
	got := fmt.Sprintf("HTTP %d %s", status, tokenText(raw, 200))
	switch {
	case err != nil:
		return failed("no answer", sent, err.Error())
	case status == http.StatusOK || t.AccessToken != "":
		return failed("tokens were issued", sent, got)
	case status != wantStatus || t.Error != wantCode:
		return failed(fmt.Sprintf("want HTTP %d error=%s", wantStatus, wantCode), sent, got)
	}
	return passed(sent, got)
}
