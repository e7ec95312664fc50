package oauth

import (
	"context"
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
	Scopes   []string // shared with the token cache: read only
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
// the signature (verified once per token), exp, the audience being a
// partner still registered, the grant not revoked and its current scopes
// (from the grant cache, which every change through this process
// invalidates before the change's call returns). Failures are
// *device.Error with CodeInvalidAccessToken or CodeTokenExpired.
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
	v, err := s.verifiedClaims(tok)
	if err != nil {
		return Principal{}, err
	}
	c := v.claims
	g, err := s.grantState(ctx, c.GrantID)
	if err != nil {
		return Principal{}, err
	}
	if !g.active || g.clientID != c.Audience[0] || g.userID != c.Subject {
		return Principal{}, invalidToken("access token revoked")
	}
	// The grant's current scopes bound the token's: a household that
	// narrowed the link (re-consent) narrows every token of it at once.
	return Principal{ClientID: c.Audience[0], UserID: c.Subject, GrantID: c.GrantID, TokenID: c.ID,
		Scopes: intersectScopes(v.scopes, g.scopes)}, nil
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

// maxVerifiedTokens bounds the cache of verified access tokens (about
// 0.5 KB each).
const maxVerifiedTokens = 1024

// verifiedToken is a token whose signature checked out, with its scopes
// split once. Shared between calls: read only.
type verifiedToken struct {
	claims *accessClaims
	scopes []string
}

// verifiedClaims returns the claims of a token, verifying its signature
// only the first time: a partner presents the same token for its whole
// life, and an Ed25519 verification costs far more than the rest of the
// call. The cache is keyed by the exact token text and holds only what the
// signature proves; expiry is checked on every use, and whether the grant
// still stands is the grant check's business (grantState), never cached
// here.
func (s *Server) verifiedClaims(tok string) (*verifiedToken, error) {
	s.tokMu.RLock()
	v := s.verified[tok]
	s.tokMu.RUnlock()
	if v != nil {
		if !s.now().Before(v.claims.ExpiresAt.Add(expiryLeeway)) {
			return nil, &device.Error{Code: device.CodeTokenExpired, Message: "access token expired"}
		}
		return v, nil
	}
	c, err := s.parseAccessToken(tok)
	if err != nil {
		return nil, err
	}
	v = &verifiedToken{claims: c, scopes: strings.Fields(c.Scope)}
	s.tokMu.Lock()
	if len(s.verified) >= maxVerifiedTokens {
		clear(s.verified) // simple and bounded; the next calls re-verify
	}
	s.verified[tok] = v
	s.tokMu.Unlock()
	return v, nil
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

// expiryLeeway forgives the rounding of exp to whole seconds; the hub both
// issues and checks its tokens, so there is no clock skew to allow for.
const expiryLeeway = time.Second
