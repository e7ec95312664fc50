package oauth

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
)

// keptGenerations is how many refresh-token generations of a family are
// kept for reuse detection.
const keptGenerations = 32

// refresh serves grant_type=refresh_token with rotation (profile §4): every
// use returns a new refresh token. The newest token's predecessor keeps
// working until the newest has been used once, so a partner that lost an
// answer can retry (the lost successor is discarded); presenting anything
// older, or a discarded token, is reuse and revokes the whole grant.
func (s *Server) refresh(ctx context.Context, p *Partner, f *tokenForm) (*issued, []Grant, *oauthError) {
	tok := f.get("refresh_token")
	if tok == "" {
		return nil, nil, errInvalidRequest("refresh_token missing")
	}
	tx, err := s.st.db.BeginTx(ctx, nil)
	if err != nil {
		s.log.Error("token endpoint: begin", "err", err)
		return nil, nil, errServer
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	h := hashSecret(tok)
	var grantID, family, scopes, grantScopes, clientID, userID string
	var seq int
	var expires int64
	var discarded bool
	err = tx.QueryRowContext(ctx, `SELECT r.grant_id, r.family_id, r.seq, r.scopes, r.expires_at, r.discarded,
		g.client_id, g.user_id, g.scopes FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id
		WHERE r.hash = ? AND g.revoked_at IS NULL`, h).
		Scan(&grantID, &family, &seq, &scopes, &expires, &discarded, &clientID, &userID, &grantScopes)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil, errInvalidGrant("invalid refresh token")
	case err != nil:
		s.log.Error("token endpoint: load refresh token", "err", err)
		return nil, nil, errServer
	case clientID != p.ClientID:
		return nil, nil, errInvalidGrant("invalid refresh token")
	case s.now().UnixMilli() > expires:
		return nil, nil, errInvalidGrant("refresh token expired")
	}
	// The family never holds more than the grant holds now: a household
	// that re-consented with fewer scopes narrowed every earlier token.
	familyScopes := intersectScopes(strings.Fields(scopes), grantScopes)
	if len(familyScopes) == 0 {
		return nil, nil, errInvalidGrant("the grant no longer covers this refresh token's scopes")
	}
	granted, ok := narrowScopes(familyScopes, f.get("scope"))
	if !ok {
		return nil, nil, &oauthError{Status: http.StatusBadRequest, Code: "invalid_scope", Description: "scope exceeds the grant"}
	}
	var newestHash []byte
	var newestSeq int
	var newestUsed sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT hash, seq, used_at FROM refresh_tokens WHERE family_id = ? AND discarded = 0
		ORDER BY seq DESC LIMIT 1`, family).Scan(&newestHash, &newestSeq, &newestUsed)
	if err != nil {
		s.log.Error("token endpoint: load refresh family", "err", err)
		return nil, nil, errServer
	}
	now := s.now().UnixMilli()
	switch {
	case !discarded && seq == newestSeq:
		// The normal rotation: tok is the newest.
	case !discarded && seq == newestSeq-1 && !newestUsed.Valid:
		// A retry: the successor was never used, so its answer was lost.
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET discarded = 1 WHERE hash = ?`, newestHash); err != nil {
			s.log.Error("token endpoint: discard refresh token", "err", err)
			return nil, nil, errServer
		}
	default:
		gs, err := revokeGrantsWhere(ctx, tx, s.now(), "refresh token reused", "id = ?", grantID)
		if err != nil || tx.Commit() != nil {
			s.log.Error("token endpoint: revoke after refresh reuse", "err", err)
			return nil, nil, errServer
		}
		return nil, gs, errInvalidGrant("refresh token already used")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ?`, now, h); err != nil {
		s.log.Error("token endpoint: use refresh token", "err", err)
		return nil, nil, errServer
	}
	// The family keeps the grant's scopes (as narrowed above); a narrowed
	// request narrows only this access token.
	next, err := s.insertRefresh(ctx, tx, grantID, family, seq+1, strings.Join(familyScopes, " "))
	if err != nil {
		s.log.Error("token endpoint: store refresh token", "err", err)
		return nil, nil, errServer
	}
	// Old generations are kept as reuse evidence, but not forever: a
	// family rotated hourly would grow by 8760 rows a year. A token older
	// than keptGenerations then reads as unknown (invalid_grant without
	// revoking the grant), which is the only cost.
	if _, err := tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE family_id = ? AND seq < ?`,
		family, seq+1-keptGenerations); err != nil {
		s.log.Error("token endpoint: prune refresh tokens", "err", err)
		return nil, nil, errServer
	}
	if err := tx.Commit(); err != nil {
		s.log.Error("token endpoint: commit", "err", err)
		return nil, nil, errServer
	}
	return &issued{userID: userID, clientID: p.ClientID, grantID: grantID, scopes: granted, refresh: next}, nil, nil
}
