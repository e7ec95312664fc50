package oauth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// tokenResponse is the RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// issued is what a successful grant exchange hands out.
type issued struct {
	userID, clientID, grantID string
	scopes                    []string
	refresh                   string
}

// token serves POST /oauth2/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	f, p, oe := s.readClientRequest(r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	var is *issued
	var revoked []Grant
	switch f.get("grant_type") {
	case "authorization_code":
		is, revoked, oe = s.exchangeCode(r.Context(), p, f)
	case "refresh_token":
		is, revoked, oe = s.refresh(r.Context(), p, f)
	case "":
		oe = errInvalidRequest("grant_type missing")
	default:
		oe = &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type"}
	}
	// Hooks of grants revoked by replay or reuse detection run after commit.
	if len(revoked) > 0 {
		s.revoked(r.Context(), revoked)
	}
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	at, err := s.issueAccessToken(s.issuer(r), is.userID, is.clientID, is.grantID, is.scopes)
	if err != nil {
		s.log.Error("token endpoint", "err", err)
		writeOAuthError(w, &oauthError{Status: http.StatusInternalServerError, Code: "server_error"})
		return
	}
	writeTokenJSON(w, http.StatusOK, tokenResponse{AccessToken: at, TokenType: "Bearer",
		ExpiresIn: int(s.opts.TokenTTL.Seconds()), RefreshToken: is.refresh, Scope: strings.Join(is.scopes, " ")})
}

var errServer = &oauthError{Status: http.StatusInternalServerError, Code: "server_error"}

// exchangeCode redeems an authorization code (RFC 6749 §4.1.3, RFC 7636).
// The code is consumed before the remaining checks, so a code that failed
// once cannot be tried again (it is deleted: a burnt code is unknown); a
// code presented after it issued tokens revokes the grant and so every
// token issued from it (§4.1.2). Only a redemption that issued tokens
// leaves used_at set.
func (s *Server) exchangeCode(ctx context.Context, p *Partner, f *tokenForm) (*issued, []Grant, *oauthError) {
	code := f.get("code")
	if code == "" {
		return nil, nil, errInvalidRequest("code missing")
	}
	tx, err := s.st.db.BeginTx(ctx, nil)
	if err != nil {
		s.log.Error("token endpoint: begin", "err", err)
		return nil, nil, errServer
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var grantID, clientID, redirectURI, challenge, scopes, userID string
	var expires int64
	var used sql.NullInt64
	var grantRevoked bool
	err = tx.QueryRowContext(ctx, `SELECT c.grant_id, c.client_id, c.redirect_uri, c.code_challenge, c.scopes,
		c.expires_at, c.used_at, g.user_id, g.revoked_at IS NOT NULL
		FROM auth_codes c JOIN grants g ON g.id = c.grant_id WHERE c.hash = ?`, hashSecret(code)).
		Scan(&grantID, &clientID, &redirectURI, &challenge, &scopes, &expires, &used, &userID, &grantRevoked)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, errInvalidGrant("unknown, expired or burnt authorization code")
	case err != nil:
		s.log.Error("token endpoint: load code", "err", err)
		return nil, nil, errServer
	case clientID != p.ClientID:
		return nil, nil, errInvalidGrant("authorization code was issued to another client")
	case used.Valid:
		gs, err := revokeGrantsWhere(ctx, tx, s.now(), "authorization code reused", "id = ?", grantID)
		if err != nil || tx.Commit() != nil {
			s.log.Error("token endpoint: revoke after code reuse", "err", err)
			return nil, nil, errServer
		}
		return nil, gs, errInvalidGrant("authorization code already used")
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `UPDATE auth_codes SET used_at = ? WHERE hash = ?`, now.UnixMilli(), hashSecret(code)); err != nil {
		s.log.Error("token endpoint: consume code", "err", err)
		return nil, nil, errServer
	}
	var oe *oauthError
	switch verifier, hasVerifier := f.get("code_verifier"), f.values.Has("code_verifier"); {
	case grantRevoked:
		oe = errInvalidGrant("the grant was revoked")
	case now.UnixMilli() > expires:
		oe = errInvalidGrant("authorization code expired")
	case f.get("redirect_uri") != redirectURI:
		oe = errInvalidGrant("redirect_uri does not match the authorization request")
	case challenge == "" && hasVerifier:
		// RFC 9700 §2.1.1: a verifier without a challenge is an injection sign.
		oe = errInvalidGrant("code_verifier given but the authorization request had no code_challenge")
	case challenge != "" && !hasVerifier:
		oe = errInvalidGrant("code_verifier missing")
	case challenge != "" && !validVerifier(verifier):
		oe = errInvalidGrant("malformed code_verifier")
	case challenge != "" && !equalSecret([]byte(s256(verifier)), []byte(challenge)):
		oe = errInvalidGrant("code_verifier does not match the code_challenge")
	}
	if oe != nil {
		// Burn the code without a trace of use: it issued nothing, so a
		// later presentation (the legitimate client after an attacker's
		// wrong verifier) is an unknown code, not a replay that would
		// revoke the household's working link.
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_codes WHERE hash = ?`, hashSecret(code)); err != nil {
			s.log.Error("token endpoint: burn code", "err", err)
			return nil, nil, errServer
		}
		if err := tx.Commit(); err != nil {
			s.log.Error("token endpoint: commit", "err", err)
		}
		return nil, nil, oe
	}
	refresh, err := s.insertRefresh(ctx, tx, grantID, newID(), 0, scopes)
	if err != nil {
		s.log.Error("token endpoint: store refresh token", "err", err)
		return nil, nil, errServer
	}
	if err := tx.Commit(); err != nil {
		s.log.Error("token endpoint: commit", "err", err)
		return nil, nil, errServer
	}
	return &issued{userID: userID, clientID: p.ClientID, grantID: grantID, scopes: strings.Fields(scopes), refresh: refresh}, nil, nil
}

// insertRefresh stores a new refresh token (hashed) of a family.
func (s *Server) insertRefresh(ctx context.Context, tx *sql.Tx, grantID, family string, seq int, scopes string) (string, error) {
	tok := newSecret()
	now := s.now()
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens(hash, grant_id, family_id, seq, scopes, created_at, expires_at)
		VALUES(?,?,?,?,?,?,?)`, hashSecret(tok), grantID, family, seq, scopes, now.UnixMilli(), now.Add(refreshTTL).UnixMilli())
	return tok, err
}

// s256 is the PKCE S256 transform (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validVerifier checks RFC 7636 §4.1: 43-128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

// narrowScopes applies a refresh request's optional scope parameter: it may
// only narrow the granted scopes (RFC 6749 §6).
func narrowScopes(granted []string, requested string) ([]string, bool) {
	if requested == "" {
		return granted, true
	}
	out := strings.Fields(requested)
	for _, s := range out {
		if !slices.Contains(granted, s) {
			return nil, false
		}
	}
	return out, true
}
