package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// errRelink marks a partner whose token endpoint refuses the hub's
// credentials (invalid_client, invalid_grant, unauthorized_client): retrying
// will not help, the installer must re-register it. It shows as "needs
// re-link" instead of failing silently.
var errRelink = errors.New("partner refuses the hub's credentials: needs re-link")

// pushAuth authenticates pushes to one partner: a bearer token from the
// partner's own token endpoint (client-credentials grant, cached until it
// expires or the partner answers 401), or an HMAC signature of the body.
type pushAuth struct {
	p  Partner
	hc *http.Client

	mu sync.Mutex
	ts oauth2.TokenSource
}

func newPushAuth(p Partner, hc *http.Client) *pushAuth {
	a := &pushAuth{p: p, hc: hc}
	a.invalidate()
	return a
}

func (a *pushAuth) canRefresh() bool { return a.p.TokenURL != "" }

// invalidate drops the cached token; the next push fetches a new one.
func (a *pushAuth) invalidate() {
	if a.p.TokenURL == "" {
		return
	}
	cfg := &clientcredentials.Config{ClientID: a.p.NotifyClientID, ClientSecret: a.p.NotifyClientSecret,
		TokenURL: a.p.TokenURL, AuthStyle: oauth2.AuthStyleInHeader}
	// The token endpoint is reached through the same guarded client as the
	// callback: it is partner-supplied too.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, a.hc)
	a.mu.Lock()
	a.ts = cfg.TokenSource(ctx)
	a.mu.Unlock()
}

// apply adds the push's authentication to req.
func (a *pushAuth) apply(ctx context.Context, req *http.Request, body []byte) error {
	switch {
	case a.p.TokenURL != "":
		a.mu.Lock()
		ts := a.ts
		a.mu.Unlock()
		tok, err := ts.Token()
		if err != nil {
			var re *oauth2.RetrieveError
			if errors.As(err, &re) {
				switch re.ErrorCode {
				case "invalid_client", "invalid_grant", "unauthorized_client":
					return fmt.Errorf("notify: token endpoint %s: %s: %w", a.p.TokenURL, re.ErrorCode, errRelink)
				}
				if re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
					return fmt.Errorf("notify: token endpoint %s: HTTP 401: %w", a.p.TokenURL, errRelink)
				}
			}
			return fmt.Errorf("notify: token endpoint %s: %w", a.p.TokenURL, err)
		}
		tok.SetAuthHeader(req)
	case a.p.HMACSecret != "":
		req.Header.Set("X-CIC-Signature", hmacSignature(a.p.HMACSecret, body))
	}
	return nil
}
