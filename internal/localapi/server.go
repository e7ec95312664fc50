// Package localapi is the agent's local control socket: a small HTTP API on
// a unix socket (mode 0600) in the data directory that the hubagent CLI uses
// while an agent runs. Only the socket's owner (and root) can reach it.
//
// The contract is here: every route is a Path constant (routes.go), every
// call a typed Client method (client_calls.go), every answer written with
// WriteJSON or WriteError. A new route: add its Path, serve it with
// Pattern(method, Path) from the part of the agent that owns the data
// (Options.Extra when that is not the hub), add the Client method and a
// line in contract_test.go.
package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
)

// SocketName is the socket's file name in the data directory.
const SocketName = "hubagent.sock"

// Status is the answer of GET /v1/status.
type Status struct {
	HubID   string `json:"hubId"`
	Version string `json:"version"`
	Devices int    `json:"devices"`
	PID     int    `json:"pid"`
	Started int64  `json:"started"`
}

// Options configure the server.
type Options struct {
	Hub     *hub.Hub
	HubID   string
	Version string
	Metrics http.Handler
	Logger  *slog.Logger
	// Extra routes added by other parts of the agent (partners, tunnel...),
	// keyed by ServeMux pattern (Pattern of a Path constant).
	Extra map[string]http.Handler
}

// Server serves the local API.
type Server struct {
	opts    Options
	mux     *http.ServeMux
	started time.Time
}

// NewServer builds the local API.
func NewServer(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), started: time.Now()}
	s.mux.HandleFunc(Pattern(http.MethodGet, PathStatus), s.status)
	s.mux.HandleFunc(Pattern(http.MethodGet, PathDevices), s.devices)
	s.mux.HandleFunc(Pattern(http.MethodGet, PathDevice), s.device)
	s.mux.HandleFunc(Pattern(http.MethodPost, PathDeviceControl), s.control)
	if opts.Metrics != nil {
		s.mux.Handle(Pattern(http.MethodGet, PathMetrics), opts.Metrics)
	}
	for pattern, h := range opts.Extra {
		s.mux.Handle(pattern, h)
	}
	return s
}

// Listen creates the socket in dataDir with mode 0600. A socket left by an
// agent that died is replaced; one that answers means another agent runs on
// this data directory, which is refused.
func Listen(dataDir string) (net.Listener, error) {
	path := filepath.Join(dataDir, SocketName)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("localapi: another hubagent is already running with data directory %s (socket %s answers)", dataDir, path)
	}
	// Bind under a temporary name, restrict it, then rename into place: the
	// socket is never reachable with wider permissions.
	tmp := filepath.Join(dataDir, fmt.Sprintf(".%s.%d", SocketName, os.Getpid()))
	os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("localapi: listen %s: %w", tmp, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("localapi: chmod %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ln.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("localapi: place socket %s: %w", path, err)
	}
	mine, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("localapi: place socket %s: %w", path, err)
	}
	return &unlinkListener{Listener: ln, path: path, mine: mine}, nil
}

type unlinkListener struct {
	net.Listener
	path string
	mine os.FileInfo // the socket this process placed
}

// Close removes the socket only while it is still the one this process
// created: never another agent's.
func (l *unlinkListener) Close() error {
	err := l.Listener.Close()
	if cur, serr := os.Lstat(l.path); serr == nil && os.SameFile(cur, l.mine) {
		os.Remove(l.path)
	}
	return err
}

// Serve serves until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("localapi: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-errc
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, Status{HubID: s.opts.HubID, Version: s.opts.Version,
		Devices: s.opts.Hub.Len(), PID: os.Getpid(), Started: s.started.UnixMilli()})
}

func (s *Server) devices(w http.ResponseWriter, r *http.Request) {
	ds := s.opts.Hub.Devices()
	out := make([]device.Device, len(ds))
	for i, d := range ds {
		out[i] = *d
	}
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) device(w http.ResponseWriter, r *http.Request) {
	d, ok := s.opts.Hub.Device(r.PathValue("id"))
	if !ok {
		WriteError(w, &device.Error{Code: device.CodeDeviceNotFound, DeviceID: r.PathValue("id"),
			Message: "device " + r.PathValue("id") + " not found"})
		return
	}
	WriteJSON(w, http.StatusOK, d)
}

// ControlRequest is the body of POST /v1/devices/{id}/control.
type ControlRequest struct {
	Properties map[string]device.Value `json:"properties"`
}

// ControlResult is its answer.
type ControlResult struct {
	DeviceID string                  `json:"deviceId"`
	State    map[string]device.Value `json:"state"`
}

// ErrorBody is the body of every failed local API call.
type ErrorBody struct {
	ErrorCode device.Code `json:"errorCode"`
	Message   string      `json:"message"`
}

func (s *Server) control(w http.ResponseWriter, r *http.Request) {
	var req ControlRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&req); err != nil {
		WriteError(w, &device.Error{Code: device.CodeInvalidRequest, Message: "invalid request body: " + err.Error()})
		return
	}
	id := r.PathValue("id")
	st, err := s.opts.Hub.Control(r.Context(), id, req.Properties)
	if err != nil {
		WriteError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, ControlResult{DeviceID: id, State: st})
}

// WriteJSON answers with status and v as JSON: how every local API route
// answers.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // client gone
}

// WriteError answers with err as an ErrorBody: its wire code (device.CodeOf)
// and the HTTP status of that code. The message of an error that is not a
// *device.Error is not shown (it may carry internals).
func WriteError(w http.ResponseWriter, err error) {
	code := device.CodeOf(err)
	msg := err.Error()
	var de *device.Error
	if !errors.As(err, &de) {
		msg = "internal error"
	}
	WriteJSON(w, code.HTTPStatus(), ErrorBody{ErrorCode: code, Message: msg})
}
