package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/cloudlink/notify"
	"github.com/hubagent/hubagent/internal/cloudlink/oauth"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/metrics"
	"github.com/hubagent/hubagent/internal/store"
)

// cicLink is the partner interface proper: /cic/v1 (query, operation,
// account, subscription) and the notifier that pushes changes.
type cicLink struct {
	handler  *cic.Handler
	notifier *notify.Notifier
}

// oauthAuth adapts the authorization server to what /cic/v1 and the
// notifier need of it.
type oauthAuth struct{ srv *oauth.Server }

func (a oauthAuth) Authenticate(ctx context.Context, r *http.Request) (cic.Caller, error) {
	p, err := a.srv.Authenticate(ctx, r)
	if err != nil {
		return cic.Caller{}, err
	}
	return cic.Caller{ClientID: p.ClientID, UserID: p.UserID, GrantID: p.GrantID, Scopes: p.Scopes}, nil
}

func (a oauthAuth) Exposure(ctx context.Context, c cic.Caller) (func(*device.Device) bool, error) {
	return a.srv.ExposurePredicate(ctx, c.GrantID)
}

func (a oauthAuth) RevokeGrant(ctx context.Context, grantID, reason string) error {
	return a.srv.RevokeGrant(ctx, grantID, reason)
}

// oauthPartners gives the notifier partners' callback rules and push
// credentials.
type oauthPartners struct{ st *oauth.Store }

func (p oauthPartners) Partner(ctx context.Context, clientID string) (notify.Partner, error) {
	cr, err := p.st.NotifyCredentials(ctx, clientID)
	if err != nil {
		return notify.Partner{}, err
	}
	return notify.Partner{ClientID: cr.ClientID, Name: cr.Name, CallbackHosts: cr.CallbackHosts,
		AllowPrivate: cr.AllowPrivateCallback, TokenURL: cr.TokenURL, NotifyClientID: cr.NotifyClientID,
		NotifyClientSecret: cr.NotifyClientSecret, HMACSecret: cr.HMACSecret}, nil
}

func newCICLink(cfg *config.Config, st *store.Store, h *hub.Hub, api *cloudlink.Server, oa *oauthLink,
	m *metrics.Metrics, log *slog.Logger) (*cicLink, error) {
	auth := oauthAuth{oa.srv}
	n, err := notify.New(notify.Options{DB: st.DB(), Hub: h, Partners: oauthPartners{oa.srv.Store()}, Exposure: auth,
		MaxAge: cfg.Notify.MaxAge, CAFile: cfg.Notify.CAFile, Logger: log.With("component", "notify"),
		MaxSubscriptionsPerGrant: cfg.Notify.MaxSubscriptionsPerGrant, MaxSubscriptionsPerPartner: cfg.Notify.MaxSubscriptionsPerPartner,
		MaxPendingPerPartner: cfg.Notify.MaxPendingPerPartner})
	if err != nil {
		return nil, err
	}
	ch, err := cic.New(cic.Options{Hub: h, Auth: auth, DB: st.DB(), RateLimit: cfg.API.RateLimit,
		RateBurst: cfg.API.RateBurst, Extra: n.Operations(), Logger: log.With("component", "cic"),
		IdempotencyWindow: cfg.API.IdempotencyWindow, IdempotencyMaxBytes: int64(cfg.API.IdempotencyMaxBytes),
		AuditMaxAge: cfg.API.AuditMaxAge, AuditMaxBytes: int64(cfg.API.AuditMaxBytes)})
	if err != nil {
		return nil, err
	}
	api.Handle("/cic/v1", ch)
	api.Handle("GET /.well-known/cic-configuration", ch.MetadataHandler(cfg.Tunnel.PublicURL))
	oa.srv.OnRevoke(func(ctx context.Context, g oauth.Grant) {
		if err := cloudlink.UnlinkGrant(context.WithoutCancel(ctx), n, g); err != nil {
			log.Error("queue AccountUnlinked", "grant", g.ID, "err", err)
		}
	})
	oa.srv.OnExposureChange(func(ctx context.Context, grantID string, added, removed []string) {
		if err := n.ExposureChanged(context.WithoutCancel(ctx), grantID, added, removed); err != nil {
			log.Error("queue DevicesChanged for exposure change", "grant", grantID, "err", err)
		}
	})
	m.Gauge("hubagent_outbox_backlog", "Notifications waiting for delivery.", func() float64 {
		return float64(n.Backlog(context.Background()))
	})
	m.Counter("hubagent_notifications_delivered_total", "Events delivered to partners.", func() float64 {
		return float64(n.Stats().Delivered)
	})
	m.Counter("hubagent_notifications_dropped_total", "Events dropped after notify.max_age or past notify.max_pending_per_partner.", func() float64 {
		return float64(n.Stats().Dropped)
	})
	m.Counter("hubagent_notification_failures_total", "Failed notification deliveries (retried).", func() float64 {
		return float64(n.Stats().Failures)
	})
	return &cicLink{handler: ch, notifier: n}, nil
}

// run delivers notifications until ctx ends.
func (c *cicLink) run(ctx context.Context) error { return c.notifier.Run(ctx) }
