package relay

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// MaxTokensPerCall bounds `relay token create --count`.
const MaxTokensPerCall = 10000

// ErrTokenRefused is the one answer for a token that is unknown, used or
// expired: which of the three is not told to the caller.
var ErrTokenRefused = errors.New("enrollment token unknown, already used or expired")

// tokenPrefix marks hubagent relay tokens, so a leaked one is recognisable.
const tokenPrefix = "hrt_"

// hashToken is how tokens are kept at rest: only their SHA-256. Tokens
// carry 256 random bits, so no salt or slow hash is needed.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// TokenID is a short, non-secret name of a token for the audit log.
func TokenID(tok string) string { return hashToken(tok)[:12] }

// CreateTokens makes n single-use tokens valid for ttl and returns them;
// they are shown once and only their hashes are kept.
func (r *Registry) CreateTokens(ctx context.Context, n int, ttl time.Duration) ([]string, time.Time, error) {
	if n < 1 || n > MaxTokensPerCall {
		return nil, time.Time{}, fmt.Errorf("relay: token count must be 1..%d", MaxTokensPerCall)
	}
	if ttl <= 0 {
		return nil, time.Time{}, errors.New("relay: token lifetime must be positive")
	}
	now := r.clock()
	expires := now.Add(ttl)
	toks := make([]string, n)
	err := r.tx(ctx, func(tx *sql.Tx) error {
		for i := range toks {
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return fmt.Errorf("relay: token: %w", err)
			}
			toks[i] = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
			if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO relay_tokens (hash, created_at, expires_at) VALUES (?, ?, ?)`),
				hashToken(toks[i]), now.UnixMilli(), expires.UnixMilli()); err != nil {
				return fmt.Errorf("relay: save token: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return toks, expires, nil
}

// redeem uses tok up for hubID inside tx; the row lock of the UPDATE makes
// two concurrent redemptions of one token end with one winner.
func (r *Registry) redeem(ctx context.Context, tx *sql.Tx, tok, hubID string) error {
	now := r.nowMs()
	res, err := tx.ExecContext(ctx, r.q(`UPDATE relay_tokens SET used_at = ?, used_by = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ?`), now, hubID, hashToken(tok), now)
	if err != nil {
		return fmt.Errorf("relay: redeem token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrTokenRefused
	}
	return nil
}

// PurgeTokens drops tokens that expired or were used more than keep ago.
func (r *Registry) PurgeTokens(ctx context.Context, keep time.Duration) error {
	cut := r.clock().Add(-keep).UnixMilli()
	_, err := r.db.ExecContext(ctx, r.q(`DELETE FROM relay_tokens WHERE expires_at < ? OR used_at < ?`), cut, cut)
	if err != nil {
		return fmt.Errorf("relay: purge tokens: %w", err)
	}
	return nil
}
