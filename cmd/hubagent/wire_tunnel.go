package main

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/hubagent/hubagent/internal/cloudlink"
	"github.com/hubagent/hubagent/internal/cloudlink/enroll"
	"github.com/hubagent/hubagent/internal/cloudlink/tunnel"
	"github.com/hubagent/hubagent/internal/config"
	"github.com/hubagent/hubagent/internal/localapi"
	"github.com/hubagent/hubagent/internal/metrics"
)

// tunnelPinFile is where accept_new pins the relay's host key, in the data
// directory.
const tunnelPinFile = "tunnel_known_hosts"

// tunnelLink is the tunnel as the agent runs it. Its settings come from the
// configuration file's [tunnel] section when tunnel.relay is set there (the
// user's file wins), else from the enrollment in the data directory. After
// `tunnel enroll` or `tunnel leave` the CLI asks the running agent to
// reload (POST /v1/tunnel/reload on the local socket): the tunnel is
// rebuilt without restarting the agent. A request rather than a file
// watch: the CLI learns at once whether the new settings load, nothing
// polls the flash, and the socket is already only the owner's.
type tunnelLink struct {
	cfg     *config.Config
	hubID   string
	handler http.Handler
	log     *slog.Logger
	reloadc chan struct{}

	mu  sync.Mutex
	cur *tunnelGen
}

// tunnelGen is one set of tunnel settings and the tunnel built from them.
type tunnelGen struct {
	tun       *tunnel.Tunnel // nil when off
	off       tunnel.Status
	publicURL string
	source    string
}

// newTunnelLink prepares the tunnel (the hub's key is made here on first
// run) and registers its metrics. It never fails: a tunnel that cannot run
// is reported in its status and the log, and the agent works on the LAN.
func newTunnelLink(cfg *config.Config, hubID string, handler http.Handler, m *metrics.Metrics, log *slog.Logger) *tunnelLink {
	l := &tunnelLink{cfg: cfg, hubID: hubID, handler: handler, log: log, reloadc: make(chan struct{}, 1)}
	l.cur = l.load()
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

// load builds the tunnel from the configuration, else the enrollment.
func (l *tunnelLink) load() *tunnelGen {
	tc := l.cfg.Tunnel
	g := &tunnelGen{publicURL: tc.PublicURL, source: "config"}
	var opts tunnel.Options
	switch {
	case tc.Relay != "":
		opts = tunnel.Options{Relay: tc.Relay, User: tc.User, RemoteListen: tc.RemoteListen,
			HostKey: tc.HostKey, AcceptNew: tc.AcceptNew, TrustForwarded: tc.TrustForwarded}
		if st, _ := enroll.Load(l.cfg.DataDir); st != nil {
			l.log.Warn("the configuration file's [tunnel] section wins over the enrollment in the data directory", "enrolled_relay", st.Relay)
		}
	default:
		st, err := enroll.Load(l.cfg.DataDir)
		if err != nil {
			l.log.Error("remote access is off: the enrollment cannot be read", "err", err)
			g.off = tunnel.Status{State: tunnel.StateError, Reason: "the enrollment cannot be read: " + err.Error(), LastError: err.Error()}
			return g
		}
		if st == nil {
			g.off = tunnel.Off("this hub is not enrolled with a relay ('hubagent tunnel enroll URL --token T') and tunnel.relay is not set in the configuration, so partner clouds cannot reach this hub (the LAN interface works)")
			return g
		}
		g.source = "enrollment"
		if g.publicURL == "" {
			g.publicURL = st.PublicURL
		}
		// The relay's own nginx sets X-Forwarded-For (overwriting), as the
		// enrollment service is part of that relay.
		opts = tunnel.Options{Relay: st.Relay, User: st.User, RemoteListen: st.RemoteListen, HostKey: st.HostKey, TrustForwarded: true}
	}
	signer, err := tunnel.LoadOrCreateKey(tc.KeyFile, "hubagent-"+l.hubID)
	if err == nil {
		opts.PinFile = filepath.Join(l.cfg.DataDir, tunnelPinFile)
		opts.Signer, opts.Handler, opts.ConnContext, opts.Logger = signer, l.handler, cloudlink.MarkTunnel, l.log
		g.tun, err = tunnel.New(opts)
	}
	if err != nil {
		g.off = tunnel.Status{State: tunnel.StateError, Relay: opts.Relay, User: opts.User, RemoteListen: opts.RemoteListen,
			Reason: "the tunnel cannot start: " + err.Error(), LastError: err.Error()}
		l.log.Error("remote access is off: the tunnel cannot start", "err", err)
	}
	return g
}

// status is the tunnel's state with the public URL and where the settings
// come from.
func (l *tunnelLink) status() tunnel.Status {
	l.mu.Lock()
	g := l.cur
	l.mu.Unlock()
	st := g.off
	if g.tun != nil {
		st = g.tun.Status()
	}
	st.PublicURL = g.publicURL
	if st.Relay != "" || g.tun != nil {
		st.Source = g.source
	}
	return st
}

// reload swaps in freshly loaded settings; run restarts the tunnel.
func (l *tunnelLink) reload() {
	g := l.load()
	l.mu.Lock()
	l.cur = g
	l.mu.Unlock()
	select {
	case l.reloadc <- struct{}{}:
	default:
	}
}

// routes are the tunnel's local API routes (localapi.Options.Extra).
func (l *tunnelLink) routes() map[string]http.Handler {
	return map[string]http.Handler{
		localapi.Pattern(http.MethodGet, localapi.PathTunnel): http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			localapi.WriteJSON(w, http.StatusOK, l.status())
		}),
		localapi.Pattern(http.MethodPost, localapi.PathTunnelReload): http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			l.log.Info("tunnel settings reloaded")
			l.reload()
			localapi.WriteJSON(w, http.StatusOK, l.status())
		}),
	}
}

// run keeps the current tunnel up in the background until ctx ends, and
// replaces it on reload; with remote access off it just waits.
func (l *tunnelLink) run(ctx context.Context) error {
	for {
		l.mu.Lock()
		g := l.cur
		l.mu.Unlock()
		gctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		if g.tun != nil {
			l.log.Info("tunnel starting", "relay", g.tun.Status().Relay, "source", g.source)
			go func() { defer close(done); g.tun.Run(gctx) }() //nolint:errcheck // Run only returns nil
		} else {
			close(done)
		}
		select {
		case <-ctx.Done():
			cancel()
			<-done
			return nil
		case <-l.reloadc:
			// The old session goes first, freeing the port on the relay
			// for the new one.
			cancel()
			<-done
		}
	}
}
