package relay

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/enrollwire"
)

// ServiceOptions configure the enrollment service.
type ServiceOptions struct {
	Registry *Registry
	Self     string // this relay's name
	Logger   *slog.Logger
	// Rate limits; zero means the defaults (per client 1/s, burst 10;
	// all clients 20/s, burst 50).
	PerClient, ClientBurst, Global, GlobalBurst float64
	Clock                                       func() time.Time
}

// Service is the enrollment HTTP service behind the relay's nginx.
type Service struct {
	opts ServiceOptions
	lim  *limiter
	mux  *http.ServeMux
}

// NewService builds the service.
func NewService(o ServiceOptions) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.PerClient, 1)
	def(&o.ClientBurst, 10)
	def(&o.Global, 20)
	def(&o.GlobalBurst, 50)
	s := &Service{opts: o, lim: newLimiter(o.PerClient, o.ClientBurst, o.Global, o.GlobalBurst), mux: http.NewServeMux()}
	s.mux.HandleFunc("POST "+enrollwire.PathEnroll, s.enroll)
	s.mux.HandleFunc("POST "+enrollwire.PathLeave, s.leave)
	return s
}

// ServeHTTP serves the enrollment API.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// clientAddr is the caller's address: the peer, or, when the peer is the
// relay's own nginx on loopback, the X-Forwarded-For it set (the relay's
// nginx block overwrites that header, never appends).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		if f := strings.TrimSpace(r.Header.Get("X-Forwarded-For")); f != "" && !strings.Contains(f, ",") && net.ParseIP(f) != nil {
			return f
		}
	}
	return host
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, enrollwire.ErrorAnswer{Error: msg})
}

// refusal maps the registry's errors to HTTP, in this one place.
func refusal(err error) (int, string) {
	for _, m := range []struct {
		err  error
		code int
	}{
		{ErrTokenRefused, http.StatusForbidden},
		{ErrProofRefused, http.StatusForbidden},
		{ErrStaleLeave, http.StatusForbidden},
		{ErrHubTaken, http.StatusConflict},
		{ErrKeyInUse, http.StatusConflict},
		{ErrRelayFull, http.StatusServiceUnavailable},
	} {
		if errors.Is(err, m.err) {
			return m.code, m.err.Error()
		}
	}
	return http.StatusInternalServerError, "the relay's registry failed; try again later"
}

func (s *Service) admit(w http.ResponseWriter, r *http.Request) (string, bool) {
	client := clientAddr(r)
	if !s.lim.allow(client, s.opts.Clock()) {
		w.Header().Set("Retry-After", "10")
		fail(w, http.StatusTooManyRequests, "too many enrollment requests; retry later")
		return client, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, enrollwire.MaxBody)
	return client, true
}

func (s *Service) audit(r *http.Request, client, action, subject string, err error) {
	res := "ok"
	if err != nil {
		res = err.Error()
	}
	if aerr := s.opts.Registry.Audit(r.Context(), AuditEntry{Relay: s.opts.Self, Actor: "http:" + client,
		Action: action, Subject: subject, Result: res}); aerr != nil {
		s.opts.Logger.Error("audit failed", "err", aerr)
	}
}

func (s *Service) enroll(w http.ResponseWriter, r *http.Request) {
	client, ok := s.admit(w, r)
	if !ok {
		return
	}
	req, key, err := enrollwire.DecodeEnrollRequest(r.Body)
	if err != nil {
		s.audit(r, client, "enroll", "", err)
		fail(w, http.StatusBadRequest, "bad enrollment request: "+err.Error())
		return
	}
	subject := req.HubID
	if req.Token != "" {
		subject += " token " + TokenID(req.Token)
	}
	e, err := s.opts.Registry.Enroll(r.Context(), s.opts.Self, req, key)
	s.audit(r, client, "enroll", subject, err)
	if err != nil {
		code, msg := refusal(err)
		if code >= 500 {
			s.opts.Logger.Error("enrollment failed", "hub", req.HubID, "err", err)
		}
		fail(w, code, msg)
		return
	}
	s.opts.Logger.Info("hub enrolled", "hub", req.HubID, "relay", e.RelayName, "listen", e.RemoteListen)
	writeJSON(w, http.StatusOK, e)
}

func (s *Service) leave(w http.ResponseWriter, r *http.Request) {
	client, ok := s.admit(w, r)
	if !ok {
		return
	}
	req, err := enrollwire.DecodeLeaveRequest(r.Body)
	if err != nil {
		s.audit(r, client, "leave", "", err)
		fail(w, http.StatusBadRequest, "bad leave request: "+err.Error())
		return
	}
	err = s.opts.Registry.Leave(r.Context(), req)
	s.audit(r, client, "leave", req.HubID, err)
	if err != nil {
		code, msg := refusal(err)
		fail(w, code, msg)
		return
	}
	s.opts.Logger.Info("hub left", "hub", req.HubID)
	w.WriteHeader(http.StatusNoContent)
}
