package oauth

import (
	"database/sql"
	"errors"
	"net/http"
)

// revoke serves POST /oauth2/revoke (RFC 7009). The profile treats
// revocation as unlinking: a valid refresh or access token of the calling
// client ends the whole grant. Unknown or foreign tokens answer 200 too
// (§2.2), so the endpoint tells an attacker nothing.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	f, p, oe := s.readClientRequest(r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	tok := f.get("token")
	if tok == "" {
		writeOAuthError(w, errInvalidRequest("token missing"))
		return
	}
	grantID := ""
	// Try as a refresh token first (the hint is only a hint, §2.1).
	var clientID string
	err := s.st.db.QueryRowContext(r.Context(), `SELECT g.id, g.client_id FROM refresh_tokens t
		JOIN grants g ON g.id = t.grant_id WHERE t.hash = ?`, hashSecret(tok)).Scan(&grantID, &clientID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		grantID = ""
		if c, err := s.parseAccessToken(tok); err == nil && c.Audience[0] == p.ClientID {
			grantID = c.GrantID
		}
	case err != nil:
		s.log.Error("revoke: load token", "err", err)
		writeOAuthError(w, errServer)
		return
	case clientID != p.ClientID:
		grantID = ""
	}
	if grantID != "" {
		if err := s.RevokeGrant(r.Context(), grantID, "revoked by partner"); err != nil {
			s.log.Error("revoke", "err", err)
			writeOAuthError(w, errServer)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
