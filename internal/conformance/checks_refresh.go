package conformance

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// refreshOnce presents a refresh token (client authenticated as usual).
func (r *run) refreshOnce(tok string) (int, tokenAnswer, []byte, error) {
	return r.tokenRequest(pathToken, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}, authBasic, r.opts.ClientSecret)
}

// works reports whether an access token is served (a Discover answering 200).
func (r *run) works(access string) answer {
	return r.post(access, envelope("CIC.Discovery", "Discover", r.newMsgID(), map[string]any{}))
}

func refreshChecks() []check {
	var previous string // the main link's refresh token before rotation
	return []check{
		{id: "oauth.refresh-rotates", group: "oauth",
			requires: "grant_type=refresh_token returns a new refresh token on every use, and the new access token is served (profile §4 step 4)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				previous = r.main.refresh
				sent := "grant_type=refresh_token with the link's refresh token"
				status, t, raw, err := r.refreshOnce(previous)
				got := fmt.Sprintf("HTTP %d %s", status, tokenText(raw, 160))
				if err != nil || status != http.StatusOK || t.AccessToken == "" {
					return failed("refresh failed", sent, got)
				}
				nl := newLink(t)
				if nl.refresh == "" {
					nl.refresh = previous
				}
				*r.main = *nl
				if t.RefreshToken == "" || t.RefreshToken == previous {
					return failed("the refresh token was not rotated (the answer carries the same one or none)", sent, got)
				}
				if a := r.works(t.AccessToken); a.status != http.StatusOK {
					return failed("the new access token is not served", sent, got+"; Discover: "+a.String())
				}
				return passed(sent, got+"; the new access token is served")
			}},
		{id: "oauth.refresh-grace", group: "oauth",
			requires: "the previous refresh token keeps working until the new one has been used once, so a lost answer can be retried (profile §4 step 4)",
			run: func(r *run) outcome {
				if o, ok := r.needLink(); !ok {
					return o
				}
				if previous == "" {
					return skipped("no rotation happened (see oauth.refresh-rotates)")
				}
				sent := "grant_type=refresh_token with the previous refresh token, its successor unused"
				status, t, raw, err := r.refreshOnce(previous)
				got := fmt.Sprintf("HTTP %d %s", status, tokenText(raw, 160))
				if err != nil || status != http.StatusOK || t.AccessToken == "" {
					return failed("the previous refresh token was refused while its successor was unused", sent, got)
				}
				nl := newLink(t)
				if nl.refresh == "" {
					nl.refresh = previous
				}
				*r.main = *nl
				return passed(sent, got)
			}},
	}
}

// destructiveChecks end links: they run last, each on a link of its own
// (username/password runs only: with --refresh-token there is one link,
// and these would end it).
func destructiveChecks() []check {
	extra := func(r *run, scope string) (*link, outcome, bool) {
		if !r.passwordMode() {
			return nil, skipped("--refresh-token given: this check ends a link, and the kit has only the one given"), false
		}
		if r.signInRefused != nil {
			return nil, skipped("the sign-in was refused earlier in this run, and the kit does not try again: " + r.signInRefused.Error()), false
		}
		l, err := r.newExtraLink(scope)
		if err != nil {
			return nil, failed("could not link for this check: "+err.Error(), "the sign-in and consent forms", ""), false
		}
		return l, outcome{}, true
	}
	return []check{
		{id: "control.scope-required", group: "control",
			requires: "a token without devices.control is refused Control with ACCESS_DENIED, HTTP 403 (profile §3, §4 scopes, §5.3)",
			run: func(r *run) outcome {
				if len(r.devices) == 0 {
					return skipped("no devices discovered")
				}
				l, o, ok := extra(r, scopeRead)
				if !ok {
					return o
				}
				if strings.Contains(" "+l.scope+" ", " "+scopeControl+" ") {
					return failed("the target granted devices.control though only devices.read was asked", "scope="+scopeRead, "scope="+l.scope)
				}
				d := r.devices[0]
				props := map[string]any{"power": true}
				if r.ctl != nil {
					d, props = r.ctl.device, map[string]any{r.ctl.prop.Name: r.ctl.original}
				}
				a, sent := r.callWith(l, "CIC.Control", "Control", r.newMsgID(), map[string]any{"commands": []any{
					map[string]any{"deviceId": d.DeviceID, "properties": props}}})
				if !a.isError(http.StatusForbidden, "ACCESS_DENIED") {
					return failed(a.errorProblem(http.StatusForbidden, "ACCESS_DENIED"), sent+" with a devices.read token", a.String())
				}
				return passed(sent+" with a devices.read token", a.String())
			}},
		{id: "oauth.code-single-use", group: "oauth",
			requires: "codes are single-use: the second exchange of a code answers HTTP 400 invalid_grant; client_secret_post is accepted (profile §4 step 3 and rules; RFC 6749 §4.1.2)",
			run: func(r *run) outcome {
				if !r.passwordMode() {
					return skipped("--refresh-token given: no authorization requests are made")
				}
				if r.signInRefused != nil {
					return skipped("the sign-in was refused earlier in this run, and the kit does not try again")
				}
				a, err := r.authorize(allScopes)
				if err != nil {
					return failed("no code: "+err.Error(), "", "")
				}
				how, method := authPost, "client_secret_post"
				if r.opts.ClientSecret == "" {
					how, method = authBasic, "client_id only (public client)"
				}
				status, t, raw, err := r.exchange(a.code, r.opts.RedirectURI, a.pkce.verifier, how)
				if err != nil || status != http.StatusOK || t.AccessToken == "" {
					return failed("the first exchange failed", "POST "+pathToken+" by "+method, fmt.Sprintf("HTTP %d %s", status, tokenText(raw, 200)))
				}
				status, t, raw, err = r.exchange(a.code, r.opts.RedirectURI, a.pkce.verifier, how)
				return wantGrantError(status, t, raw, err, http.StatusBadRequest, "invalid_grant", "the same code a second time ("+method+")")
			}},
		{id: "oauth.refresh-reuse-revokes", group: "oauth",
			requires: "presenting a refresh token older than the grace allows answers HTTP 400 invalid_grant and revokes the whole grant: its newest refresh and access tokens stop working (profile §4 step 4)",
			run: func(r *run) outcome {
				l, o, ok := extra(r, allScopes)
				if !ok {
					return o
				}
				r0 := l.refresh
				steps := []string{}
				step := func(tok, what string) (tokenAnswer, bool) {
					status, t, _, err := r.refreshOnce(tok)
					steps = append(steps, fmt.Sprintf("%s → HTTP %d", what, status))
					return t, err == nil && status == http.StatusOK && t.AccessToken != ""
				}
				if _, ok := step(r0, "R0"); !ok {
					return failed("refresh failed", "R0", strings.Join(steps, ", "))
				}
				t1b, ok := step(r0, "R0 again (grace)")
				if !ok || t1b.RefreshToken == "" {
					return failed("the grace retry failed", "R0 twice", strings.Join(steps, ", "))
				}
				t2, ok := step(t1b.RefreshToken, "R1'")
				if !ok {
					return failed("the successor was refused", "R1'", strings.Join(steps, ", "))
				}
				sent := "R0 → R1; R0 again → R1'; R1' → R2; then R0 (reuse), R2, and R2's access token"
				status, t, raw, err := r.refreshOnce(r0)
				steps = append(steps, fmt.Sprintf("R0 reused → HTTP %d %s", status, tokenText(raw, 100)))
				if o := wantGrantError(status, t, raw, err, http.StatusBadRequest, "invalid_grant", sent); o.status != Pass {
					o.problem = "the reused refresh token was not refused: " + o.problem
					o.got = strings.Join(steps, ", ")
					return o
				}
				status, _, raw, _ = r.refreshOnce(t2.RefreshToken)
				steps = append(steps, fmt.Sprintf("R2 → HTTP %d %s", status, tokenText(raw, 100)))
				if status == http.StatusOK {
					return failed("the grant was not revoked: its newest refresh token still works", sent, strings.Join(steps, ", "))
				}
				a := r.works(t2.AccessToken)
				steps = append(steps, "R2's access token → "+a.String())
				if !a.isError(http.StatusUnauthorized, "INVALID_ACCESS_TOKEN") {
					return failed("the revoked grant's access token is still served or refused wrongly: "+a.errorProblem(http.StatusUnauthorized, "INVALID_ACCESS_TOKEN"), sent, strings.Join(steps, ", "))
				}
				return passed(sent, strings.Join(steps, ", "))
			}},
		{id: "oauth.revocation", group: "oauth",
			requires: "POST /oauth2/revoke with the refresh token answers 200 and ends the link: the refresh token answers 400 invalid_grant, the access token INVALID_ACCESS_TOKEN 401 (profile §1, §3, §4 unlinking; RFC 7009 §2)",
			run: func(r *run) outcome {
				l, o, ok := extra(r, allScopes)
				if !ok {
					return o
				}
				sent := "POST " + pathRevoke + " token=<refresh token>"
				status, _, raw, err := r.tokenRequest(pathRevoke, url.Values{"token": {l.refresh}, "token_type_hint": {"refresh_token"}}, authBasic, r.opts.ClientSecret)
				got := fmt.Sprintf("revoke HTTP %d %s", status, tokenText(raw, 100))
				if err != nil || status != http.StatusOK {
					return failed("revocation not accepted", sent, got)
				}
				status, t, raw, err := r.refreshOnce(l.refresh)
				got += fmt.Sprintf("; refresh HTTP %d %s", status, tokenText(raw, 100))
				if o := wantGrantError(status, t, raw, err, http.StatusBadRequest, "invalid_grant", sent); o.status != Pass {
					return failed("the revoked refresh token: "+o.problem, sent, got)
				}
				a := r.works(l.access)
				got += "; access token " + a.String()
				if !a.isError(http.StatusUnauthorized, "INVALID_ACCESS_TOKEN") {
					return failed("the access token of the revoked link: "+a.errorProblem(http.StatusUnauthorized, "INVALID_ACCESS_TOKEN"), sent, got)
				}
				return passed(sent, got)
			}},
	}
}
