package cic

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
)

// Scopes of the profile (§4).
const (
	ScopeDevicesRead    = "devices.read"
	ScopeDevicesControl = "devices.control"
	ScopeSubscriptions  = "subscriptions"
)

// Caller is the authenticated partner behind a request: which client, on
// behalf of which household user, through which grant, with which scopes.
type Caller struct {
	ClientID string
	UserID   string
	GrantID  string
	Scopes   []string // may be shared with the authenticator's cache: read only
}

// HasScope reports whether the caller's token carries scope s.
func (c Caller) HasScope(s string) bool {
	for _, x := range c.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// Auth is what the handler needs of the OAuth authorization server.
type Auth interface {
	// Authenticate checks the request's bearer token. Failures are
	// *device.Error with INVALID_ACCESS_TOKEN or TOKEN_EXPIRED.
	Authenticate(ctx context.Context, r *http.Request) (Caller, error)
	// Exposure returns the predicate telling which devices the caller's
	// grant exposes; it is evaluated for every device a message touches.
	Exposure(ctx context.Context, c Caller) (func(*device.Device) bool, error)
	// RevokeGrant ends the caller's grant (CIC.Account / Unlink).
	RevokeGrant(ctx context.Context, grantID, reason string) error
}

// Options configure the handler.
type Options struct {
	Hub  *hub.Hub
	Auth Auth
	// DB keeps the idempotency window and the audit trail (the agent's
	// database; tables from migration 0003).
	DB *sql.DB
	// RateLimit is the sustained requests/s allowed per partner, RateBurst
	// the bucket size (defaults 20 and 40).
	RateLimit float64
	RateBurst int
	// Retention of the idempotency records and the audit trail, by age
	// and total size (defaults: DefaultIdempotencyWindow,
	// DefaultIdempotencyMaxBytes, DefaultAuditMaxAge, DefaultAuditMaxBytes).
	IdempotencyWindow   time.Duration
	IdempotencyMaxBytes int64
	AuditMaxAge         time.Duration
	AuditMaxBytes       int64
	Logger              *slog.Logger
	// Extra adds operations (the subscription interface), keyed
	// "Namespace/Name".
	Extra map[string]Operation
	// Now is the clock (default time.Now); tests move it to refill the
	// rate limit or pass the idempotency window without waiting.
	Now func() time.Time
}

// Operation is one namespace/name pair of the interface.
type Operation struct {
	// Scope the caller's token must carry.
	Scope string
	// Mutating operations are remembered across restarts for idempotent
	// retries; reads are remembered in memory only (re-answering a read
	// after a restart acts on nothing).
	Mutating bool
	// Do handles the payload and returns the response payload.
	Do func(ctx context.Context, c Caller, payload json.RawMessage) (any, error)
}

// Handler serves POST /cic/v1.
type Handler struct {
	hub   *hub.Hub
	auth  Auth
	log   *slog.Logger
	ops   map[string]Operation
	idem  *idempotency
	rate  *limiter
	audit *auditLog
	now   func() time.Time
	buf   scratchPool
}

// New builds the handler.
func New(opts Options) (*Handler, error) {
	if opts.Hub == nil || opts.Auth == nil || opts.DB == nil {
		return nil, errors.New("cic: hub, auth and database are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 20
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = 40
	}
	if opts.IdempotencyWindow <= 0 {
		opts.IdempotencyWindow = DefaultIdempotencyWindow
	}
	if opts.IdempotencyMaxBytes <= 0 {
		opts.IdempotencyMaxBytes = DefaultIdempotencyMaxBytes
	}
	if opts.AuditMaxAge <= 0 {
		opts.AuditMaxAge = DefaultAuditMaxAge
	}
	if opts.AuditMaxBytes <= 0 {
		opts.AuditMaxBytes = DefaultAuditMaxBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{hub: opts.Hub, auth: opts.Auth, log: opts.Logger, now: opts.Now,
		idem:  newIdempotency(opts.DB, opts.IdempotencyWindow, opts.IdempotencyMaxBytes),
		rate:  newLimiter(opts.RateLimit, opts.RateBurst),
		audit: newAuditLog(opts.DB, opts.AuditMaxAge, opts.AuditMaxBytes)}
	h.idem.now, h.rate.now = opts.Now, opts.Now
	h.ops = map[string]Operation{
		"CIC.Discovery/Discover": {Scope: ScopeDevicesRead, Do: h.discover},
		"CIC.Query/QueryStatus":  {Scope: ScopeDevicesRead, Do: h.queryStatus},
		"CIC.Control/Control":    {Scope: ScopeDevicesControl, Mutating: true, Do: h.control},
		"CIC.Account/Unlink":     {Mutating: true, Do: h.unlink},
	}
	for k, op := range opts.Extra {
		h.ops[k] = op
	}
	return h, nil
}

// Operations lists the namespaces and names served, for the metadata
// document.
func (h *Handler) Operations() map[string][]string {
	out := map[string][]string{}
	for k := range h.ops {
		ns, name, _ := strings.Cut(k, "/")
		out[ns] = append(out[ns], name)
	}
	return out
}

// ServeHTTP handles one message: read (bounded), authenticate, check the
// envelope, rate-limit, answer a retry from the idempotency window, or
// dispatch.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.writeError(w, Header{}, &device.Error{Code: device.CodeInvalidRequest, Message: "use POST"}, http.StatusMethodNotAllowed)
		return
	}
	body, err := ReadBody(r)
	if err != nil {
		status := 0
		if errors.Is(err, errTooLarge) {
			err, status = invalid("body larger than %d bytes", MaxBody), http.StatusRequestEntityTooLarge
		}
		h.writeError(w, Header{}, err, status)
		return
	}
	ctx := r.Context()
	caller, err := h.auth.Authenticate(ctx, r)
	if err != nil {
		req, _ := DecodeEnvelope(body) // best effort, to echo the header
		h.writeError(w, req.Header, err, 0)
		return
	}
	req, err := DecodeEnvelope(body)
	if err != nil {
		h.writeError(w, req.Header, err, 0)
		return
	}
	key := req.Header.Namespace + "/" + req.Header.Name
	op, ok := h.ops[key]
	if !ok {
		h.writeError(w, req.Header, &device.Error{Code: device.CodeUnsupportedOperation,
			Message: fmt.Sprintf("%s / %s is not an operation of this interface", req.Header.Namespace, req.Header.Name)}, 0)
		return
	}
	if op.Scope != "" && !caller.HasScope(op.Scope) {
		h.writeError(w, req.Header, &device.Error{Code: device.CodeAccessDenied,
			Message: "the access token lacks the scope " + op.Scope}, 0)
		return
	}
	if wait, ok := h.rate.allow(caller.ClientID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		h.writeError(w, req.Header, &device.Error{Code: device.CodeRateLimited,
			Message: "request budget exceeded; retry after " + wait.Round(time.Second).String()}, 0)
		return
	}
	k := idemKey{client: caller.ClientID, grant: caller.GrantID, message: req.Header.MessageID}
	hash := requestHash(req.Header.Namespace, req.Header.Name, req.Payload)
	status, out, err := h.idem.doWith(ctx, k, hash, op.Mutating, func() (int, []byte, bool, *auditRows) {
		var a acted
		payload, err := op.Do(context.WithValue(ctx, actedKey{}, &a), caller, req.Payload)
		did := err == nil
		if a.decided {
			did = a.acted
		}
		if err != nil {
			st, b := h.errorBody(req.Header, err)
			return st, b, did, a.audit
		}
		b, err := h.buf.encodeResponse(responseHeader(req.Header, req.Header.Name+"Response"), payload)
		if err != nil {
			h.log.Error("encode response", "op", key, "err", err)
			st, b := h.errorBody(req.Header, err)
			return st, b, did, a.audit
		}
		return http.StatusOK, b, did, a.audit
	})
	if err != nil {
		h.writeError(w, req.Header, err, 0)
		return
	}
	writeRaw(w, status, out)
}

// acted lets an operation say whether it acted on anything (a Control
// whose commands all failed validation did not). Only answers of messages
// that acted are kept in the database; by default a mutating operation
// acted when it succeeded. audit carries the operation's audit rows to the
// idempotency record's transaction (deferAudit).
type acted struct {
	decided, acted bool
	audit          *auditRows
}

type actedKey struct{}

// setActed records whether the operation behind ctx acted.
func setActed(ctx context.Context, did bool) {
	if a, ok := ctx.Value(actedKey{}).(*acted); ok {
		a.decided, a.acted = true, did
	}
}

// deferAudit hands audit rows to the handler, which writes them with the
// message's idempotency record; called outside the handler, it writes them
// at once.
func deferAudit(ctx context.Context, r *auditRows) {
	if a, ok := ctx.Value(actedKey{}).(*acted); ok {
		a.audit = r
		return
	}
	r.write(ctx)
}

func responseHeader(in Header, name string) Header {
	return Header{Namespace: in.Namespace, Name: name, MessageID: in.MessageID, PayloadVersion: "1",
		Timestamp: time.Now().UnixMilli()}
}

// errorBody renders an ErrorResponse. Errors without a profile code are
// INTERNAL_ERROR and never show their text: it may carry internals.
func (h *Handler) errorBody(hd Header, err error) (int, []byte) {
	code := device.CodeOf(err)
	p := ErrorPayload{ErrorCode: code, Message: "internal error"}
	var de *device.Error
	if errors.As(err, &de) {
		p.Message, p.DeviceID = de.Message, de.DeviceID
		if p.Message == "" {
			p.Message = de.Error()
		}
	} else {
		h.log.Error("cic: internal error", "namespace", hd.Namespace, "name", hd.Name, "err", err)
	}
	if hd.Namespace == "" {
		hd.Namespace = "CIC"
	}
	b, _ := json.Marshal(Response{Header: responseHeader(hd, "ErrorResponse"), Payload: p}) // plain types
	return code.HTTPStatus(), b
}

func (h *Handler) writeError(w http.ResponseWriter, hd Header, err error, status int) {
	st, b := h.errorBody(hd, err)
	if status == 0 {
		status = st
	}
	switch device.CodeOf(err) {
	case device.CodeInvalidAccessToken:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case device.CodeTokenExpired:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the access token expired"`)
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)              //nolint:errcheck // client gone
	io.WriteString(w, "\n") //nolint:errcheck
}
