package oauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// grantRecheck is how often a cached grant is read again from the store.
// Every change made through this process (consent, the status page,
// revocation, CIC.Account/Unlink, partner removal, reuse detection)
// invalidates the whole cache through the store's generation before the
// change's call returns, so the next call loads afresh. The re-read only
// covers writes by another process (the CLI writes grants itself only while
// no agent runs; partner remove goes through the running agent), so it
// happens in the background: callers keep the cached grant meanwhile and
// never wait on the database for it. The notifier asks from inside the
// state writer's transaction, where a wait for a pooled connection could
// stall the writer.
const grantRecheck = time.Second

// maxCachedGrants bounds the grant cache (grant ids come only from tokens
// whose signature checked out, so this is a safety net).
const maxCachedGrants = 4096

// grantState is what the bearer check and the exposure predicate need of a
// grant: whether it still stands (not revoked, partner not removed), whom
// it links, its current scopes and the owner's device decisions. It is
// shared between calls: read only.
type grantState struct {
	active    bool
	clientID  string
	userID    string
	scopes    string // space-separated
	shareNew  bool
	decisions map[string]bool

	gen    uint64 // store generation read before loading
	loaded time.Time
}

// grantStateSQL loads a grant and whether it and its partner still stand.
const grantStateSQL = `SELECT g.client_id, g.user_id, g.scopes, g.share_new,
	g.revoked_at IS NULL AND p.removed_at IS NULL
	FROM grants g JOIN partners p ON p.client_id = g.client_id WHERE g.id = ?`

// grantState returns the grant's current state, from the cache when no
// change happened since it was loaded (generation) and it is younger than
// grantRecheck; else from the store.
func (s *Server) grantState(ctx context.Context, grantID string) (*grantState, error) {
	// The generation is read before the store: a change committed while
	// this call loads bumps it, so what this call stores is already stale
	// and never used.
	gen := s.st.generation()
	now := s.now()
	s.grantMu.RLock()
	g := s.grants[grantID]
	s.grantMu.RUnlock()
	if g != nil && g.gen == gen {
		if now.Sub(g.loaded) >= grantRecheck || now.Before(g.loaded) {
			s.recheckGrant(grantID, gen)
		}
		return g, nil
	}
	g, err := s.loadGrantState(ctx, grantID)
	if err != nil {
		return nil, err
	}
	s.storeGrant(grantID, g, gen, now)
	return g, nil
}

func (s *Server) storeGrant(grantID string, g *grantState, gen uint64, now time.Time) {
	g.gen, g.loaded = gen, now
	s.grantMu.Lock()
	if len(s.grants) >= maxCachedGrants {
		clear(s.grants)
	}
	if cur := s.grants[grantID]; cur == nil || cur.gen <= gen {
		s.grants[grantID] = g
	}
	s.grantMu.Unlock()
}

// recheckGrant reloads a grant in the background, once at a time.
func (s *Server) recheckGrant(grantID string, gen uint64) {
	s.grantMu.Lock()
	if s.rechecking[grantID] {
		s.grantMu.Unlock()
		return
	}
	s.rechecking[grantID] = true
	s.grantMu.Unlock()
	go func() {
		now := s.now()
		g, err := s.loadGrantState(context.Background(), grantID)
		if err != nil {
			s.log.Warn("oauth: recheck grant", "grant", grantID, "err", err)
		} else {
			s.storeGrant(grantID, g, gen, now)
		}
		s.grantMu.Lock()
		delete(s.rechecking, grantID)
		s.grantMu.Unlock()
	}()
}

func (s *Server) loadGrantState(ctx context.Context, grantID string) (*grantState, error) {
	g := &grantState{}
	err := s.grantCheck.QueryRowContext(ctx, grantID).Scan(&g.clientID, &g.userID, &g.scopes, &g.shareNew, &g.active)
	if errors.Is(err, sql.ErrNoRows) {
		return &grantState{}, nil // unknown: not active, exposes nothing
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: check grant %s: %w", grantID, err)
	}
	if !g.active {
		return g, nil // an ended grant exposes nothing; its decisions are gone
	}
	if g.decisions, err = s.st.decisions(ctx, grantID); err != nil {
		return nil, err
	}
	return g, nil
}

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
// An ended grant exposes nothing.
func (s *Server) ExposurePredicate(ctx context.Context, grantID string) (func(*device.Device) bool, error) {
	g, err := s.grantState(ctx, grantID)
	if err != nil {
		return nil, err
	}
	if !g.active {
		return func(*device.Device) bool { return false }, nil
	}
	return func(d *device.Device) bool {
		if on, decided := g.decisions[d.ID]; decided {
			return on
		}
		return g.shareNew && !d.Category.Sensitive()
	}, nil
}
