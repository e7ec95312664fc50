// Package oauth is the hub's OAuth 2.0 authorization server for account
// linking (cic-profile §4, RFC 6749/6750/7009/7636/8414, JWT RFC 7519,
// security practice of RFC 9700): partners (clients), household accounts,
// the sign-in, consent and status pages, the token and revocation
// endpoints, and the bearer-token check /cic/v1 runs on every call.
//
// State lives in the agent's SQLite database (migration 0002_oauth.sql). The
// bearer check answers from a cache of grants that every change made
// through the agent invalidates at once (grant_cache.go); the CLI removes
// partners through the running agent, and what another process writes is
// re-read within a second.
package oauth

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
)

// The scopes of the profile (§4).
const (
	ScopeDevicesRead    = "devices.read"
	ScopeDevicesControl = "devices.control"
	ScopeSubscriptions  = "subscriptions"
)

// defaultScope is what a request without scope asks for: everything.
const defaultScope = ScopeDevicesRead + " " + ScopeDevicesControl + " " + ScopeSubscriptions

func knownScope(s string) bool {
	return s == ScopeDevicesRead || s == ScopeDevicesControl || s == ScopeSubscriptions
}

// Fixed lifetimes of the protocol.
const (
	codeTTL    = 60 * time.Second     // authorization codes (profile §4)
	refreshTTL = 180 * 24 * time.Hour // refresh tokens, renewed on every rotation
	sessionTTL = 12 * time.Hour       // browser sign-in
)

// Options configure the Server.
type Options struct {
	// Store is the account-linking data (NewStore(store.DB())).
	Store *Store
	// Hub lists the devices for the consent and status pages.
	Hub *hub.Hub
	// DataDir holds the signing key (KeyFileName, 0600).
	DataDir string
	// TokenTTL is the access-token life (cfg.API.TokenTTL; default 1 h).
	TokenTTL time.Duration
	// Issuer is the tunnel's public URL when set; empty means the
	// request's own https://host.
	Issuer string
	// ClientIP names the caller for the sign-in throttle; default the
	// connection's address (the tunnel wiring may trust X-Forwarded-For).
	ClientIP func(r *http.Request) string
	// Sections are extra parts of the /status page (tunnel, notifier...),
	// shown after the built-in devices and partners sections.
	Sections []Section
	Logger   *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Server is the authorization server.
type Server struct {
	opts     Options
	st       *Store
	log      *slog.Logger
	key      *signingKey
	csrfKey  []byte
	throttle *throttle
	pages    *pages
	now      func() time.Time

	grantCheck *sql.Stmt // prepared grantStateSQL

	tokMu    sync.RWMutex
	verified map[string]*verifiedToken // access token → verified claims

	grantMu    sync.RWMutex
	grants     map[string]*grantState // grant id → state (grant_cache.go)
	rechecking map[string]bool        // grant ids being reloaded in the background

	mu       sync.Mutex
	onRevoke []func(ctx context.Context, g Grant)
	onExpose []func(ctx context.Context, grantID string, added, removed []string)
}

// New loads (or makes) the signing key and builds the server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("oauth: no store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientIP == nil {
		opts.ClientIP = remoteIP
	}
	opts.Issuer = strings.TrimRight(opts.Issuer, "/")
	key, err := loadOrCreateKey(opts.DataDir)
	if err != nil {
		return nil, err
	}
	pg, err := newPages()
	if err != nil {
		return nil, err
	}
	opts.Store.now = opts.Now
	gc, err := opts.Store.db.Prepare(grantStateSQL)
	if err != nil {
		return nil, fmt.Errorf("oauth: prepare grant check: %w", err)
	}
	s := &Server{opts: opts, st: opts.Store, log: opts.Logger, key: key, csrfKey: []byte(newSecret()),
		throttle: newThrottle(opts.Now), pages: pg, now: opts.Now, grants: map[string]*grantState{}, rechecking: map[string]bool{},
		grantCheck: gc, verified: map[string]*verifiedToken{}}
	return s, nil
}

// Close releases the prepared statement (before the database closes).
func (s *Server) Close() error { return s.grantCheck.Close() }

// Store returns the server's data access (for the wiring's local API).
func (s *Server) Store() *Store { return s.st }

// Register adds the server's routes through handle (the cloudlink server's
// Handle, which wraps them with metrics).
func (s *Server) Register(handle func(pattern string, h http.Handler)) {
	handle("GET /oauth2/authorize", http.HandlerFunc(s.authorizeGet))
	handle("POST /oauth2/authorize", http.HandlerFunc(s.authorizePost))
	handle("POST /oauth2/token", http.HandlerFunc(s.token))
	handle("POST /oauth2/revoke", http.HandlerFunc(s.revoke))
	handle("GET /.well-known/oauth-authorization-server", http.HandlerFunc(s.metadata))
	handle("GET /.well-known/jwks.json", http.HandlerFunc(s.jwks))
	handle("GET /status", http.HandlerFunc(s.statusGet))
	handle("POST /status/exposure", http.HandlerFunc(s.statusExposure))
	handle("POST /status/unlink", http.HandlerFunc(s.statusUnlink))
	handle("POST /signin", http.HandlerFunc(s.signinPost))
	handle("POST /signout", http.HandlerFunc(s.signout))
	handle("GET /assets/hub.css", http.HandlerFunc(s.pages.serveCSS))
}

// AddSection appends a part to the /status page (the notifier's and the
// tunnel's, built after the server). Call it before serving.
func (s *Server) AddSection(sec Section) { s.opts.Sections = append(s.opts.Sections, sec) }

// OnExposureChange registers fn to run after the owner changed which
// devices a grant shares (the notifier tells the partner DevicesChanged).
func (s *Server) OnExposureChange(fn func(ctx context.Context, grantID string, added, removed []string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onExpose = append(s.onExpose, fn)
}

func (s *Server) exposureChanged(ctx context.Context, grantID string, added, removed []string) {
	s.mu.Lock()
	hooks := append([]func(context.Context, string, []string, []string){}, s.onExpose...)
	s.mu.Unlock()
	for _, fn := range hooks {
		fn(ctx, grantID, added, removed)
	}
}

// OnRevoke registers fn to run after a grant ends (partner revocation,
// CIC.Account/Unlink, partner removal, reuse detection). The notifier uses
// it to send AccountUnlinked. fn must not block for long.
func (s *Server) OnRevoke(fn func(ctx context.Context, g Grant)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRevoke = append(s.onRevoke, fn)
}

// RevokeGrant ends a grant and runs the OnRevoke hooks. Revoking an ended
// grant is not an error (revocation is idempotent, RFC 7009 §2.2).
func (s *Server) RevokeGrant(ctx context.Context, grantID, reason string) error {
	g, err := s.st.RevokeGrant(ctx, grantID, reason)
	if err == ErrGrantRevoked {
		return nil
	}
	if err != nil {
		return err
	}
	s.revoked(ctx, []Grant{g})
	return nil
}

// RemovePartner removes a partner, revoking its grants (with hooks).
func (s *Server) RemovePartner(ctx context.Context, clientID string) error {
	gs, err := s.st.RemovePartner(ctx, clientID)
	if err != nil {
		return err
	}
	s.revoked(ctx, gs)
	return nil
}

// revoked invalidates the cached grants and runs the hooks. Callers call
// it after the revocation committed (the store's own revocations have
// invalidated already; the token endpoint's reuse detection commits in its
// own transaction and relies on this).
func (s *Server) revoked(ctx context.Context, gs []Grant) {
	s.st.changed()
	s.mu.Lock()
	hooks := append([]func(context.Context, Grant){}, s.onRevoke...)
	s.mu.Unlock()
	for _, g := range gs {
		s.log.Info("grant revoked", "grant", g.ID, "client", g.ClientID, "user", g.UserID, "reason", g.Reason)
		for _, h := range hooks {
			h(ctx, g)
		}
	}
}

// issuer is the iss of tokens and metadata.
func (s *Server) issuer(r *http.Request) string {
	if s.opts.Issuer != "" {
		return s.opts.Issuer
	}
	return "https://" + r.Host
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
