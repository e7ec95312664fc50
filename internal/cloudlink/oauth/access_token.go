package oauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hubagent/hubagent/internal/device"
)

// Principal is the authenticated caller of /cic/v1: a partner acting for a
// household user under one grant.
type Principal struct {
	ClientID string
	UserID   string
	GrantID  string
	TokenID  string
	Scopes   []string
}

// HasScope reports whether the token carries scope s.
func (p Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// accessClaims are the claims of an access token (profile §4): the
// registered ones plus scope and gid, the grant the token belongs to (so a
// revoked grant stops its tokens at once).
type accessClaims struct {
	jwt.RegisteredClaims
	Scope   string `json:"scope"`
	GrantID string `json:"gid"`
}

// issueAccessToken signs an access token for a grant.
func (s *Server) issueAccessToken(iss, userID, clientID, grantID string, scopes []string) (string, error) {
	now := s.now()
	c := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    iss,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{clientID},
			ExpiresAt: jwt.NewNumericDate(now.Add(s.opts.TokenTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        newID(),
		},
		Scope:   strings.Join(scopes, " "),
		GrantID: grantID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	t.Header["kid"] = s.key.kid
	signed, err := t.SignedString(s.key.priv)
	if err != nil {
		return "", fmt.Errorf("oauth: sign access token: %w", err)
	}
	return signed, nil
}

func invalidToken(msg string) error {
	return &device.Error{Code: device.CodeInvalidAccessToken, Message: msg}
}

// Authenticate checks the Authorization: Bearer header of a /cic/v1 call:
// the signature (with the cached key), exp, the audience being a partner
// still registered, and the grant not revoked (one indexed query, so a
// revocation by another process counts at once). Failures are *device.Error
// with CodeInvalidAccessToken or CodeTokenExpired.
func (s *Server) Authenticate(ctx context.Context, r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return Principal{}, invalidToken("missing bearer token")
	}
	return s.authenticateToken(ctx, strings.TrimSpace(tok))
}

func (s *Server) authenticateToken(ctx context.Context, tok string) (Principal, error) {
	if len(tok) > 4096 {
		return Principal{}, invalidToken("malformed access token")
	}
	c, err := s.verifiedClaims(tok)
	if err != nil {
		return Principal{}, err
	}
	var grantScopes string
	err = s.grantCheck.QueryRowContext(ctx, c.GrantID, c.Audience[0], c.Subject).Scan(&grantScopes)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, invalidToken("access token revoked")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("oauth: check grant: %w", err)
	}
	// The grant's current scopes bound the token's: a household that
	// narrowed the link (re-consent) narrows every token of it at once.
	return Principal{ClientID: c.Audience[0], UserID: c.Subject, GrantID: c.GrantID, TokenID: c.ID,
		Scopes: intersectScopes(strings.Fields(c.Scope), grantScopes)}, nil
}

// intersectScopes keeps the scopes of have that the space-separated bound
// also lists, in have's order. It allocates only when it drops one (every
// call of the interface comes through here).
func intersectScopes(have []string, bound string) []string {
	for i, sc := range have {
		if listsScope(bound, sc) {
			continue
		}
		out := slices.Clone(have[:i])
		for _, sc := range have[i+1:] {
			if listsScope(bound, sc) {
				out = append(out, sc)
			}
		}
		return out
	}
	return have
}

// listsScope reports whether the space-separated list names scope sc.
func listsScope(list, sc string) bool {
	for f := range strings.FieldsSeq(list) {
		if f == sc {
			return true
		}
	}
	return false
}

// grantCheckSQL is the one indexed query per call: the grant is active and
// its partner still registered; it returns the grant's current scopes.
const grantCheckSQL = `SELECT g.scopes FROM grants g JOIN partners p ON p.client_id = g.client_id
	WHERE g.id = ? AND g.client_id = ? AND g.user_id = ? AND g.revoked_at IS NULL AND p.removed_at IS NULL`

// maxVerifiedTokens bounds the cache of verified access tokens (about
// 0.5 KB each).
const maxVerifiedTokens = 1024

// verifiedClaims returns the claims of a token, verifying its signature
// only the first time: a partner presents the same token for its whole
// life, and an Ed25519 verification costs far more than the rest of the
// call. The cache is keyed by the exact token text; expiry is checked on
// every use.
func (s *Server) verifiedClaims(tok string) (*accessClaims, error) {
	s.tokMu.Lock()
	c := s.verified[tok]
	s.tokMu.Unlock()
	if c != nil {
		if !s.now().Before(c.ExpiresAt.Add(expiryLeeway)) {
			return nil, &device.Error{Code: device.CodeTokenExpired, Message: "access token expired"}
		}
		return c, nil
	}
	c, err := s.parseAccessToken(tok)
	if err != nil {
		return nil, err
	}
	s.tokMu.Lock()
	if len(s.verified) >= maxVerifiedTokens {
		clear(s.verified) // simple and bounded; the next calls re-verify
	}
	s.verified[tok] = c
	s.tokMu.Unlock()
	return c, nil
}

// parseAccessToken verifies an access token's signature and claims.
func (s *Server) parseAccessToken(tok string) (*accessClaims, error) {
	var c accessClaims
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now), jwt.WithLeeway(expiryLeeway))
	_, err := p.ParseWithClaims(tok, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.key.kid {
			return nil, errors.New("unknown key")
		}
		return s.key.pub, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		// The signature was verified before the claims, so this is our token.
		return nil, &device.Error{Code: device.CodeTokenExpired, Message: "access token expired"}
	case err != nil:
		return nil, invalidToken("invalid access token")
	case len(c.Audience) != 1 || c.Audience[0] == "" || c.Subject == "" || c.GrantID == "":
		return nil, invalidToken("invalid access token")
	}
	return &c, nil
}

// exposureEntry caches one grant's device decisions. Exposure changes only
// through this server (consent, status page, revocation), which drops the
// entry; the short life bounds any other staleness.
type exposureEntry struct {
	shareNew  bool
	decisions map[string]bool
	loaded    time.Time
}

const exposureCacheTTL = 5 * time.Second

// Exposed reports whether the device is exposed to the principal's grant:
// the owner's choice for devices decided on at consent or on the status
// page; for devices added later, the grant's "share new devices" choice,
// never for sensitive categories (locks), which need an explicit tick.
func (s *Server) Exposed(ctx context.Context, p Principal, d *device.Device) (bool, error) {
	pred, err := s.ExposurePredicate(ctx, p.GrantID)
	if err != nil {
		return false, err
	}
	return pred(d), nil
}

// ExposurePredicate returns Exposed as a predicate for one grant, loaded
// once (for the /cic/v1 handler and the notifier, which test many devices).
func (s *Server) ExposurePredicate(ctx context.Context, grantID string) (func(*device.Device) bool, error) {
	e, err := s.grantExposure(ctx, grantID)
	if err != nil {
		return nil, err
	}
	return func(d *device.Device) bool {
		if on, decided := e.decisions[d.ID]; decided {
			return on
		}
		return e.shareNew && !d.Category.Sensitive()
	}, nil
}

func (s *Server) grantExposure(ctx context.Context, grantID string) (*exposureEntry, error) {
	now := s.now()
	s.mu.Lock()
	e := s.exposure[grantID]
	s.mu.Unlock()
	if e != nil && now.Sub(e.loaded) < exposureCacheTTL {
		return e, nil
	}
	e = &exposureEntry{loaded: now}
	err := s.st.db.QueryRowContext(ctx, `SELECT share_new FROM grants WHERE id = ? AND revoked_at IS NULL`, grantID).Scan(&e.shareNew)
	if errors.Is(err, sql.ErrNoRows) {
		return &exposureEntry{}, nil // an ended grant exposes nothing
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: exposure of %s: %w", grantID, err)
	}
	if e.decisions, err = s.st.decisions(ctx, grantID); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.exposure) > 4096 { // bound memory: grants are few, this is a safety net
		clear(s.exposure)
	}
	s.exposure[grantID] = e
	s.mu.Unlock()
	return e, nil
}

// forgetExposure drops a grant's cached decisions after they changed.
func (s *Server) forgetExposure(grantID string) {
	s.mu.Lock()
	delete(s.exposure, grantID)
	s.mu.Unlock()
}

// expiryLeeway forgives the rounding of exp to whole seconds; the hub both
// issues and checks its tokens, so there is no clock skew to allow for.
const expiryLeeway = time.Second
