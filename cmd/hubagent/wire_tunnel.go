package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/metrics"
)

// tunnelPinFile is where accept_new pins the relay's host key, in the data
// directory.
const tunnelPinFile = "tunnel_known_hosts"

// tunnelLink is the tunnel as the agent runs it: the tunnel itself, or,
// when remote access is off, the status saying why.
type tunnelLink struct {
	tun       *tunnel.Tunnel // nil when off
	off       tunnel.Status
	publicURL string
	log       *slog.Logger
}

// newTunnelLink prepares the tunnel (the hub's key is made here on first
// run) and registers its metrics. It never fails: a tunnel that cannot run
// is reported in its status and the log, and the agent works on the LAN.
func newTunnelLink(cfg *config.Config, hubID string, handler http.Handler, m *metrics.Metrics, log *slog.Logger) *tunnelLink {
	tc := cfg.Tunnel
	l := &tunnelLink{publicURL: tc.PublicURL, log: log}
	if tc.Relay == "" {
		l.off = tunnel.Off("tunnel.relay is not set in the configuration, so partner clouds cannot reach this hub (the LAN interface works)")
	} else if err := l.build(cfg, hubID, handler); err != nil {
		l.off = tunnel.Status{State: tunnel.StateError, Relay: tc.Relay, User: tc.User, RemoteListen: tc.RemoteListen,
			Reason: "the tunnel cannot start: " + err.Error(), LastError: err.Error()}
		log.Error("remote access is off: the tunnel cannot start", "err", err)
	}
	m.Gauge("hubagent_tunnel_connected", "1 while the SSH tunnel to the relay is forwarding, else 0.", func() float64 {
		if l.status().State == tunnel.StateConnected {
			return 1
		}
		return 0
	})
	m.Counter("hubagent_tunnel_reconnects_total", "Times the SSH tunnel was re-established after it was lost.", func() float64 {
		return float64(l.status().Reconnects)
	})
	return l
}

func (l *tunnelLink) build(cfg *config.Config, hubID string, handler http.Handler) error {
	tc := cfg.Tunnel
	signer, err := tunnel.LoadOrCreateKey(tc.KeyFile, "hubagent-"+hubID)
	if err != nil {
		return err
	}
	l.tun, err = tunnel.New(tunnel.Options{
		Relay: tc.Relay, User: tc.User, RemoteListen: tc.RemoteListen,
		HostKey: tc.HostKey, AcceptNew: tc.AcceptNew, PinFile: filepath.Join(cfg.DataDir, tunnelPinFile),
		Signer: signer, Handler: handler, TrustForwarded: tc.TrustForwarded,
		ConnContext: cloudlink.MarkTunnel, Logger: l.log,
	})
	return err
}

// status is the tunnel's state with the configured public URL.
func (l *tunnelLink) status() tunnel.Status {
	st := l.off
	if l.tun != nil {
		st = l.tun.Status()
	}
	st.PublicURL = l.publicURL
	return st
}

// routes are the tunnel's local API routes (localapi.Options.Extra).
func (l *tunnelLink) routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /v1/tunnel": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(l.status()) //nolint:errcheck // the CLI went away
		}),
	}
}

// run keeps the tunnel up in the background until ctx ends; it returns
// nil at once when the tunnel is off, so the agent goes on without it.
func (l *tunnelLink) run(ctx context.Context) error {
	if l.tun == nil {
		return nil
	}
	l.log.Info("tunnel starting", "relay", l.tun.Status().Relay)
	return l.tun.Run(ctx)
}
