package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// authRequest is a validated authorization request (RFC 6749 §4.1.1).
type authRequest struct {
	ClientID, RedirectURI, State string
	Scopes                       []string
	Challenge                    string
	partner                      *Partner
}

// params are the request's parameters, carried through the sign-in and
// consent forms as hidden fields and re-validated on every POST.
func (a *authRequest) params() url.Values {
	v := url.Values{"response_type": {"code"}, "client_id": {a.ClientID}, "redirect_uri": {a.RedirectURI},
		"scope": {strings.Join(a.Scopes, " ")}}
	if a.State != "" {
		v.Set("state", a.State)
	}
	if a.Challenge != "" {
		v.Set("code_challenge", a.Challenge)
		v.Set("code_challenge_method", "S256")
	}
	return v
}

// authError is a failed authorization request. With redirect set, the
// error goes back to the partner (RFC 6749 §4.1.2.1); without, the client
// or redirect URI cannot be trusted and the user sees an error page.
type authError struct {
	redirect   bool
	code, desc string
}

func (e *authError) Error() string { return e.code + ": " + e.desc }

// parseAuthRequest validates the parameters of GET/POST /oauth2/authorize.
func (s *Server) parseAuthRequest(ctx context.Context, v url.Values) (*authRequest, *authError) {
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method"} {
		if len(v[k]) > 1 {
			return nil, &authError{code: "invalid_request", desc: "parameter " + k + " repeated"}
		}
	}
	a := &authRequest{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"), State: v.Get("state")}
	if a.ClientID == "" {
		return nil, &authError{code: "invalid_request", desc: "client_id is missing"}
	}
	p, err := s.st.Partner(ctx, a.ClientID)
	if errors.Is(err, ErrUnknownPartner) {
		return nil, &authError{code: "invalid_client", desc: "this partner is not registered on the hub"}
	}
	if err != nil {
		s.log.Error("authorize: load partner", "err", err)
		return nil, &authError{code: "server_error", desc: "internal error"}
	}
	a.partner = p
	// Exact string match against the registered list (RFC 9700 §4.1.3).
	if a.RedirectURI == "" || !slices.Contains(p.RedirectURIs, a.RedirectURI) {
		return nil, &authError{code: "invalid_request", desc: "redirect_uri is not registered for this partner"}
	}
	if len(a.State) > 1024 {
		return a, &authError{redirect: true, code: "invalid_request", desc: "state too long"}
	}
	if rt := v.Get("response_type"); rt != "code" {
		return a, &authError{redirect: true, code: "unsupported_response_type", desc: "only response_type=code is supported"}
	}
	scope := v.Get("scope")
	if strings.TrimSpace(scope) == "" {
		scope = defaultScope
	}
	for _, sc := range strings.Fields(scope) {
		if !knownScope(sc) {
			return a, &authError{redirect: true, code: "invalid_scope", desc: fmt.Sprintf("unknown scope %.40q", sc)}
		}
		if !slices.Contains(a.Scopes, sc) {
			a.Scopes = append(a.Scopes, sc)
		}
	}
	a.Challenge = v.Get("code_challenge")
	method := v.Get("code_challenge_method")
	switch {
	case a.Challenge == "" && p.Public:
		return a, &authError{redirect: true, code: "invalid_request", desc: "PKCE code_challenge is required for this client"}
	case a.Challenge == "" && method != "":
		return a, &authError{redirect: true, code: "invalid_request", desc: "code_challenge_method without code_challenge"}
	case a.Challenge != "" && method != "S256":
		return a, &authError{redirect: true, code: "invalid_request", desc: "code_challenge_method must be S256"}
	case a.Challenge != "" && (len(a.Challenge) != 43 || !validVerifier(a.Challenge+"xxxxxxxx")):
		return a, &authError{redirect: true, code: "invalid_request", desc: "malformed code_challenge"}
	}
	return a, nil
}

// redirectURL builds the answer to the partner: its registered URI with
// the parameters added (existing query kept), plus iss (RFC 9207).
func (a *authRequest) redirectURL(iss string, params url.Values) string {
	u, err := url.Parse(a.RedirectURI)
	if err != nil { // validated at registration; cannot happen
		return a.RedirectURI
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if a.State != "" {
		q.Set("state", a.State)
	}
	q.Set("iss", iss)
	u.RawQuery = q.Encode()
	return u.String()
}
