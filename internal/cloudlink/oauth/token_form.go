package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	basic       bool   // the client tried HTTP Basic: answer with a challenge
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(format string, args ...any) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: fmt.Sprintf(format, args...)}
}

func errInvalidGrant(desc string) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_grant", Description: desc}
}

func errInvalidClient(basic bool) *oauthError {
	return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed", basic: basic}
}

// writeOAuthError answers an RFC 6749 §5.2 JSON error.
func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="hubagent"`)
	}
	writeTokenJSON(w, e.Status, e)
}

// writeTokenJSON answers JSON that must never be cached (RFC 6749 §5.1).
func writeTokenJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// maxFormBytes bounds token and revocation request bodies.
const maxFormBytes = 16 << 10

// tokenForm is a parsed token or revocation request with the client's
// claimed credentials (not yet checked).
type tokenForm struct {
	values       url.Values
	clientID     string
	clientSecret string
	hasSecret    bool
	basic        bool
}

func (f *tokenForm) get(k string) string { return f.values.Get(k) }

// parseTokenForm parses the body of POST /oauth2/token and /oauth2/revoke
// and the client credentials in it or in the Authorization header. It is
// pure (fuzzed by FuzzTokenForm).
func parseTokenForm(contentType, authorization string, body []byte) (*tokenForm, *oauthError) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("body must be application/x-www-form-urlencoded")
	}
	vs, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errInvalidRequest("malformed form body")
	}
	for k, v := range vs {
		// RFC 6749 §3.2: parameters must not be repeated.
		if len(v) > 1 {
			return nil, errInvalidRequest("parameter %s repeated", safeParam(k))
		}
	}
	f := &tokenForm{values: vs}
	if authorization != "" {
		scheme, rest, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "Basic") {
			return nil, errInvalidClient(false)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return nil, errInvalidClient(true)
		}
		id, secret, ok := strings.Cut(string(raw), ":")
		if !ok {
			return nil, errInvalidClient(true)
		}
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Basic.
		if id, err = url.QueryUnescape(id); err != nil {
			return nil, errInvalidClient(true)
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return nil, errInvalidClient(true)
		}
		if vs.Has("client_secret") {
			return nil, errInvalidRequest("use one client authentication method")
		}
		if cid := vs.Get("client_id"); cid != "" && cid != id {
			return nil, errInvalidRequest("client_id does not match the authenticated client")
		}
		f.clientID, f.clientSecret, f.hasSecret, f.basic = id, secret, secret != "", true
	} else {
		f.clientID = vs.Get("client_id")
		f.clientSecret = vs.Get("client_secret")
		f.hasSecret = vs.Has("client_secret")
	}
	if f.clientID == "" {
		return nil, errInvalidClient(false)
	}
	return f, nil
}

// safeParam keeps an echoed parameter name short and printable.
func safeParam(k string) string {
	if len(k) > 32 {
		k = k[:32]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, k)
}

// readTokenForm reads and parses the request.
func readTokenForm(r *http.Request) (*tokenForm, *oauthError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil {
		return nil, errInvalidRequest("cannot read body")
	}
	if len(body) > maxFormBytes {
		return nil, errInvalidRequest("body too large")
	}
	return parseTokenForm(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
}

// readClientRequest reads a request to the token or revocation endpoint and
// authenticates its client: both start the same way (RFC 6749 §2.3,
// RFC 7009 §2.1).
func (s *Server) readClientRequest(r *http.Request) (*tokenForm, *Partner, *oauthError) {
	f, oe := readTokenForm(r)
	if oe != nil {
		return nil, nil, oe
	}
	p, oe := s.authenticateClient(r.Context(), f)
	if oe != nil {
		return nil, nil, oe
	}
	return f, p, nil
}

// authenticateClient checks the client's credentials: confidential clients
// by secret (constant-time on the hashes), public clients by having none.
func (s *Server) authenticateClient(ctx context.Context, f *tokenForm) (*Partner, *oauthError) {
	p, err := s.st.Partner(ctx, f.clientID)
	if errors.Is(err, ErrUnknownPartner) {
		return nil, errInvalidClient(f.basic)
	}
	if err != nil {
		s.log.Error("token endpoint: load partner", "err", err)
		return nil, &oauthError{Status: http.StatusInternalServerError, Code: "server_error"}
	}
	if p.Public {
		if f.hasSecret {
			return nil, errInvalidClient(f.basic)
		}
		return p, nil
	}
	if !f.hasSecret || !equalSecret(hashSecret(f.clientSecret), p.secretHash) {
		return nil, errInvalidClient(f.basic)
	}
	return p, nil
}
