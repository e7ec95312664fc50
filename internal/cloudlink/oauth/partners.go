package oauth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/addrguard"
)

// Partner is a registered partner cloud (an OAuth client). It never carries
// the client secret: only its hash is stored.
type Partner struct {
	ClientID             string    `json:"clientId"`
	Name                 string    `json:"name"`
	Public               bool      `json:"public"`
	RedirectURIs         []string  `json:"redirectUris"`
	CallbackHosts        []string  `json:"callbackHosts"`
	AllowPrivateCallback bool      `json:"allowPrivateCallback"`
	LinkedUsers          int       `json:"linkedUsers"`
	Created              time.Time `json:"created"`
	// NotifyAuth names how the notifier authenticates pushes: "oauth2"
	// (client credentials at NotifyTokenURL), "hmac", or "" (none yet).
	NotifyAuth     string `json:"notifyAuth"`
	NotifyTokenURL string `json:"notifyTokenUrl,omitempty"`

	secretHash []byte
}

// NewPartner is what `partner add` registers.
type NewPartner struct {
	Name                 string
	RedirectURIs         []string
	Public               bool
	CallbackHosts        []string
	AllowPrivateCallback bool
	NotifyTokenURL       string
	NotifyClientID       string
	NotifyClientSecret   string
	NotifyHMACSecret     string
}

// NotifyCredentials is what the notifier needs of a partner, secrets
// included. The secrets are stored retrievable on purpose (the hub must
// present them later); the database file is 0600.
type NotifyCredentials struct {
	ClientID             string
	Name                 string
	CallbackHosts        []string
	AllowPrivateCallback bool
	Removed              bool
	// TokenURL, NotifyClientID and NotifyClientSecret: client credentials
	// at the partner's token endpoint; else HMACSecret signs the pushes.
	TokenURL, NotifyClientID, NotifyClientSecret string
	HMACSecret                                   string
}

// Validate checks a registration before anything is stored.
func (n *NewPartner) Validate() error {
	if strings.TrimSpace(n.Name) == "" {
		return errors.New("partner name is empty")
	}
	if len(n.RedirectURIs) == 0 {
		return errors.New("at least one redirect URI is required")
	}
	for _, u := range n.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return err
		}
	}
	for _, h := range n.CallbackHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			return fmt.Errorf("callback host %q: want a bare host name", h)
		}
		// An address literal is judged now (a name at Subscribe and at
		// every dial); only --allow-private-callback lets a LAN address in.
		if ip, err := netip.ParseAddr(h); err == nil && !n.AllowPrivateCallback {
			if err := addrguard.Check(ip); err != nil {
				return fmt.Errorf("callback host %q: %v (only global unicast addresses; --allow-private-callback for a partner on the LAN)", h, err)
			}
		}
	}
	oauthNotify := n.NotifyTokenURL != "" || n.NotifyClientID != "" || n.NotifyClientSecret != ""
	switch {
	case oauthNotify && n.NotifyHMACSecret != "":
		return errors.New("give either a notify token URL with client id and secret, or an HMAC secret, not both")
	case oauthNotify && (n.NotifyTokenURL == "" || n.NotifyClientID == "" || n.NotifyClientSecret == ""):
		return errors.New("a notify token URL needs a notify client id and client secret")
	case n.NotifyTokenURL != "":
		u, err := url.Parse(n.NotifyTokenURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("notify token URL %q: want an https URL", n.NotifyTokenURL)
		}
		// Fetched through the same guarded dialer as the callbacks.
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !n.AllowPrivateCallback {
			if err := addrguard.Check(ip); err != nil {
				return fmt.Errorf("notify token URL %q: %v (only global unicast addresses; --allow-private-callback for a partner on the LAN)", n.NotifyTokenURL, err)
			}
		}
	}
	if n.NotifyHMACSecret != "" && len(n.NotifyHMACSecret) < 16 {
		return errors.New("the notify HMAC secret must be at least 16 characters")
	}
	return nil
}

// validateRedirectURI accepts absolute https URIs without fragment, and http
// only for loopback (RFC 8252 §7.3, and tests).
func validateRedirectURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("redirect URI %q: want an absolute URL", s)
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return fmt.Errorf("redirect URI %q: must not have a fragment", s)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
			return fmt.Errorf("redirect URI %q: http is allowed only for loopback; use https", s)
		}
	default:
		return fmt.Errorf("redirect URI %q: want https", s)
	}
	return nil
}

// AddPartner registers a partner and returns its client id and, for a
// confidential client, its secret. The secret is shown once: only its hash
// is kept.
func (st *Store) AddPartner(ctx context.Context, n NewPartner) (clientID, secret string, err error) {
	if err := n.Validate(); err != nil {
		return "", "", err
	}
	clientID = "p-" + newID()[:20]
	var hash []byte
	if !n.Public {
		secret = newSecret()
		hash = hashSecret(secret)
	}
	ru, _ := json.Marshal(n.RedirectURIs)
	hosts := n.CallbackHosts
	if hosts == nil {
		hosts = []string{}
	}
	ch, _ := json.Marshal(hosts)
	_, err = st.db.ExecContext(ctx, `INSERT INTO partners(client_id, name, public, secret_hash, redirect_uris,
		callback_hosts, allow_private_callback, notify_token_url, notify_client_id, notify_client_secret,
		notify_hmac_secret, created_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
		clientID, n.Name, n.Public, hash, string(ru), string(ch), n.AllowPrivateCallback,
		n.NotifyTokenURL, n.NotifyClientID, n.NotifyClientSecret, n.NotifyHMACSecret, st.now().UnixMilli())
	if err != nil {
		return "", "", fmt.Errorf("oauth: add partner: %w", err)
	}
	return clientID, secret, nil
}

const partnerColumns = `p.client_id, p.name, p.public, p.secret_hash, p.redirect_uris, p.callback_hosts,
	p.allow_private_callback, p.notify_token_url, p.notify_hmac_secret <> '', p.created_at,
	(SELECT COUNT(DISTINCT g.user_id) FROM grants g WHERE g.client_id = p.client_id AND g.revoked_at IS NULL)`

func scanPartner(sc interface{ Scan(...any) error }) (*Partner, error) {
	var p Partner
	var ru, ch string
	var hmac bool
	var created int64
	if err := sc.Scan(&p.ClientID, &p.Name, &p.Public, &p.secretHash, &ru, &ch, &p.AllowPrivateCallback,
		&p.NotifyTokenURL, &hmac, &created, &p.LinkedUsers); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(ru), &p.RedirectURIs); err != nil {
		return nil, fmt.Errorf("oauth: partner %s: redirect URIs: %w", p.ClientID, err)
	}
	if err := json.Unmarshal([]byte(ch), &p.CallbackHosts); err != nil {
		return nil, fmt.Errorf("oauth: partner %s: callback hosts: %w", p.ClientID, err)
	}
	p.Created = time.UnixMilli(created).UTC()
	switch {
	case p.NotifyTokenURL != "":
		p.NotifyAuth = "oauth2"
	case hmac:
		p.NotifyAuth = "hmac"
	}
	return &p, nil
}

// Partners lists the registered partners (not removed ones), oldest first.
func (st *Store) Partners(ctx context.Context) ([]*Partner, error) {
	rows, err := st.db.QueryContext(ctx, `SELECT `+partnerColumns+` FROM partners p
		WHERE p.removed_at IS NULL ORDER BY p.created_at, p.client_id`)
	if err != nil {
		return nil, fmt.Errorf("oauth: list partners: %w", err)
	}
	defer rows.Close()
	out := []*Partner{}
	for rows.Next() {
		p, err := scanPartner(rows)
		if err != nil {
			return nil, fmt.Errorf("oauth: list partners: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ErrUnknownPartner is returned for a client id that is not registered (or
// was removed).
var ErrUnknownPartner = errors.New("unknown partner")

// Partner returns one registered partner.
func (st *Store) Partner(ctx context.Context, clientID string) (*Partner, error) {
	p, err := scanPartner(st.db.QueryRowContext(ctx, `SELECT `+partnerColumns+` FROM partners p
		WHERE p.client_id = ? AND p.removed_at IS NULL`, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w %q", ErrUnknownPartner, clientID)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: partner %s: %w", clientID, err)
	}
	return p, nil
}

// NotifyCredentials returns the secrets the notifier presents to a partner,
// also for a removed partner (it still gets AccountUnlinked).
func (st *Store) NotifyCredentials(ctx context.Context, clientID string) (NotifyCredentials, error) {
	c := NotifyCredentials{ClientID: clientID}
	var hosts string
	err := st.db.QueryRowContext(ctx, `SELECT name, callback_hosts, allow_private_callback, removed_at IS NOT NULL,
		notify_token_url, notify_client_id, notify_client_secret, notify_hmac_secret FROM partners WHERE client_id = ?`, clientID).
		Scan(&c.Name, &hosts, &c.AllowPrivateCallback, &c.Removed, &c.TokenURL, &c.NotifyClientID, &c.NotifyClientSecret, &c.HMACSecret)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("%w %q", ErrUnknownPartner, clientID)
	}
	if err != nil {
		return c, fmt.Errorf("oauth: notify credentials of %s: %w", clientID, err)
	}
	if err := json.Unmarshal([]byte(hosts), &c.CallbackHosts); err != nil {
		return c, fmt.Errorf("oauth: partner %s: callback hosts: %w", clientID, err)
	}
	return c, nil
}

// RemovePartner marks the partner removed and revokes all its grants in one
// transaction. It returns the revoked grants so the caller can run the
// revocation hooks (AccountUnlinked).
func (st *Store) RemovePartner(ctx context.Context, clientID string) ([]Grant, error) {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("oauth: remove partner: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	res, err := tx.ExecContext(ctx, `UPDATE partners SET removed_at = ? WHERE client_id = ? AND removed_at IS NULL`,
		st.now().UnixMilli(), clientID)
	if err != nil {
		return nil, fmt.Errorf("oauth: remove partner: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("%w %q", ErrUnknownPartner, clientID)
	}
	gs, err := revokeGrantsWhere(ctx, tx, st.now(), "partner removed", "client_id = ?", clientID)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("oauth: remove partner: %w", err)
	}
	st.changed()
	return gs, nil
}
