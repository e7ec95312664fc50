// Package cloudlink is the partner side of the agent: the HTTPS server that
// partner clouds and the household's browser reach (on the LAN and through
// the tunnel), the OAuth authorization server, the /cic/v1 interface and
// the notifier.
package cloudlink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/hubagent/hubagent/internal/hub"
)

// Options configure the server.
type Options struct {
	Hub     *hub.Hub
	HubID   string
	Version string
	Logger  *slog.Logger
	// Metrics, if set, is served at /metrics to loopback clients only.
	Metrics http.Handler
	// Wrap, if set, wraps every route's handler (request metrics). It gets
	// the route pattern as label.
	Wrap func(route string, h http.Handler) http.Handler
	// Health, if set, is asked by /healthz: a problem turns its status to
	// "degraded" with HTTP 503 (a full or failing store).
	Health func() (ok bool, problem string)
}

// Server is the agent's HTTPS front.
type Server struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	srv  *http.Server
}

// NewServer builds the handler tree.
func NewServer(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Wrap == nil {
		opts.Wrap = func(_ string, h http.Handler) http.Handler { return h }
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.handle("GET /healthz", http.HandlerFunc(s.healthz))
	if opts.Metrics != nil {
		s.handle("GET /metrics", loopbackOnly(opts.Metrics))
	}
	return s
}

func (s *Server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.opts.Wrap(pattern, h))
}

// Handle adds a route from another part of the agent (OAuth, pages) to the
// server's mux, wrapped like the built-in ones. Call it before Serve.
func (s *Server) Handle(pattern string, h http.Handler) { s.handle(pattern, h) }

// Handler is the server's root handler, served on the LAN listener and on
// the tunnel's forwarded connections alike.
func (s *Server) Handler() http.Handler { return securityHeaders(lingeringClose(s.mux)) }

// Health is the /healthz answer.
type Health struct {
	Status  string `json:"status"` // "ok" or "degraded"
	Version string `json:"version"`
	HubID   string `json:"hubId"`
	Devices int    `json:"devices"`
	Problem string `json:"problem,omitempty"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := Health{Status: "ok", Version: s.opts.Version, HubID: s.opts.HubID}
	if s.opts.Hub != nil {
		h.Devices = s.opts.Hub.Len()
	}
	code := http.StatusOK
	if s.opts.Health != nil {
		if ok, problem := s.opts.Health(); !ok {
			h.Status, h.Problem, code = "degraded", problem, http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, h)
}

// Listen binds the HTTPS listener. An occupied port is reported as such.
func Listen(addr string, cert tls.Certificate) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cloudlink: listen %s: address already in use (set [api] listen or --api-listen)", addr)
		}
		return nil, fmt.Errorf("cloudlink: listen %s: %w", addr, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12, // the standard's floor [§7.1]
		NextProtos:   lanALPN,
	}
	return tls.NewListener(ln, cfg), nil
}

// Serve serves HTTPS on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("cloudlink: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		s.srv.Close()
	}
	<-errc
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v) //nolint:errcheck // the client went away; nothing to do
}

// securityHeaders sets the headers every answer carries: no framing (the
// consent page must not be clickjacked), no sniffing, no caching of tokens,
// and HSTS on the tunnel side.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		// The public side (through the tunnel, HTTPS at the relay) is
		// HTTPS-only for browsers too; the LAN side with its self-signed
		// certificate is not pinned.
		if r.Context().Value(viaTunnelKey{}) != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// loopbackOnly answers 404 to anyone not on this machine: metrics describe
// the household and stay off the LAN and the tunnel. Tunnel connections
// arrive from the SSH client in-process and are marked by the tunnel, never
// by address, so they are refused here too.
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() || r.Context().Value(viaTunnelKey{}) != nil {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// viaTunnelKey marks requests that came through the SSH tunnel.
type viaTunnelKey struct{}

// MarkTunnel marks a connection's context as coming through the SSH
// tunnel; the tunnel's http.Server uses it as ConnContext, so loopback-only
// routes refuse its requests although they arrive from a loopback address.
func MarkTunnel(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, viaTunnelKey{}, true)
}
