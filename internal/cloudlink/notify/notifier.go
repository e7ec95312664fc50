// Package notify implements the subscription and notification interface of
// the cloud-to-cloud profile (§6; T/CHEAA 0001.1—2023 §9.3): partners
// subscribe with a callback URL, and the hub pushes StatusChanged,
// OnlineChanged, DevicesChanged and AccountUnlinked to it — from an outbox
// in memory whose undelivered events are made durable with the state (see
// outbox_mem.go), in order
// (a sequence per subscription), at least once, batched under load, with
// capped exponential backoff while a partner fails, and authenticated (a
// client-credentials bearer token or an HMAC signature).
package notify

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/cloudlink/cic"
	"github.com/hubagent/hubagent/internal/device"
	"github.com/hubagent/hubagent/internal/hub"
	"github.com/hubagent/hubagent/internal/store"
)

// Partner is what the notifier needs to know of a partner cloud.
type Partner struct {
	ClientID      string
	Name          string
	CallbackHosts []string
	AllowPrivate  bool
	// Push authentication: a token endpoint with client credentials, or
	// an HMAC secret.
	TokenURL, NotifyClientID, NotifyClientSecret string
	HMACSecret                                   string
}

// Partners looks partners up (the OAuth server's registry). Removed
// partners are still returned, so they can be told AccountUnlinked.
type Partners interface {
	Partner(ctx context.Context, clientID string) (Partner, error)
}

// Exposure gives the predicate of devices a grant exposes.
type Exposure interface {
	Exposure(ctx context.Context, c cic.Caller) (func(*device.Device) bool, error)
}

// Options configure a Notifier.
type Options struct {
	DB       *sql.DB
	Hub      *hub.Hub
	Partners Partners
	Exposure Exposure
	// MaxAge: pending events older than this are dropped, counted and
	// logged (default 24 h).
	MaxAge time.Duration
	// CAFile adds CAs for partner endpoints (private PKIs, tests).
	CAFile string
	// MinBackoff and MaxBackoff bound the retry pause while a partner fails
	// (defaults 1 s and 5 min).
	MinBackoff, MaxBackoff time.Duration
	// BatchSize caps the events in one POST (default 100).
	BatchSize int
	// SubscriptionTTL is how long a subscription lives (default 365 days).
	SubscriptionTTL time.Duration
	// MaxSubscriptionsPerGrant and MaxSubscriptionsPerPartner cap live
	// subscriptions (defaults 16 and 64); MaxPendingPerPartner caps a
	// partner's undelivered events, the oldest dropped past it (default
	// 10,000).
	MaxSubscriptionsPerGrant, MaxSubscriptionsPerPartner, MaxPendingPerPartner int
	Logger                                                                     *slog.Logger
}

// Notifier owns subscriptions, the outbox and the delivery workers.
type Notifier struct {
	opts  Options
	db    *sql.DB
	hub   *hub.Hub
	log   *slog.Logger
	roots *x509.CertPool

	mu      sync.Mutex
	workers map[string]*worker // by client id
	ctx     context.Context
	wg      sync.WaitGroup

	mem      *sql.DB // the outbox delivered from (outbox_mem.go)
	memStmts *memStmts

	appendMu sync.Mutex // one appender to the memory outbox at a time
	seqMu    sync.Mutex
	seqs     map[string]*seqState // by subscription id

	persistMu sync.Mutex // the writer's transaction hook and its Done
	inFlight  []persistedRow
	goneTop   int64
	dirty     atomic.Bool // the memory outbox changed since the last flush
	final     atomic.Bool // stopping: the last flush writes exact sequences

	healthMu sync.Mutex
	okSince  map[string]*okHealth // by client id: successes not yet written

	expoMu    sync.Mutex
	expoCache map[string]expoEntry // by grant id

	subMu sync.Mutex // serialises Subscribe: caps and de-duplication

	pendMu  sync.Mutex
	pending map[string]int // undelivered events per partner, as far as known
	trimLog map[string]time.Time

	delivered, dropped, failures, persisted atomic.Uint64
	ready                                   chan struct{} // closed once Run follows changes
}

type expoEntry struct {
	pred func(*device.Device) bool
	at   time.Time
}

// New builds a notifier; Run starts its workers.
func New(opts Options) (*Notifier, error) {
	if opts.DB == nil || opts.Hub == nil || opts.Partners == nil || opts.Exposure == nil {
		return nil, errors.New("notify: database, hub, partners and exposure are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 24 * time.Hour
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.SubscriptionTTL <= 0 {
		opts.SubscriptionTTL = 365 * 24 * time.Hour
	}
	if opts.MaxSubscriptionsPerGrant <= 0 {
		opts.MaxSubscriptionsPerGrant = DefaultMaxSubscriptionsPerGrant
	}
	if opts.MaxSubscriptionsPerPartner <= 0 {
		opts.MaxSubscriptionsPerPartner = DefaultMaxSubscriptionsPerPartner
	}
	if opts.MaxPendingPerPartner <= 0 {
		opts.MaxPendingPerPartner = DefaultMaxPendingPerPartner
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("notify: read ca_file: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("notify: ca_file %s holds no PEM certificate", opts.CAFile)
		}
	}
	mem, err := openMemOutbox(context.Background(), opts.DB)
	if err != nil {
		return nil, err
	}
	stmts, err := prepareMemStmts(context.Background(), mem)
	if err != nil {
		mem.Close()
		return nil, err
	}
	return &Notifier{opts: opts, db: opts.DB, hub: opts.Hub, log: opts.Logger, roots: roots, mem: mem, memStmts: stmts,
		workers: map[string]*worker{}, expoCache: map[string]expoEntry{}, ready: make(chan struct{}),
		seqs: map[string]*seqState{}, okSince: map[string]*okHealth{},
		pending: map[string]int{}, trimLog: map[string]time.Time{}}, nil
}

// Run installs the outbox hooks on the hub's state writer, follows device
// events, and delivers until ctx ends; then it makes the undelivered events
// durable.
func (n *Notifier) Run(ctx context.Context) error {
	n.mu.Lock()
	n.ctx = ctx
	n.mu.Unlock()
	n.hub.SetWriterHooks(store.Hooks{Publish: n.publish, Tx: n.persistTx, Done: n.persistDone, Dirty: n.writerDirty})
	defer n.finish()
	// State and online changes reach the outbox through the writer's hook;
	// only description changes come through the event stream.
	events := n.hub.Subscribe(4096, hub.DeviceAdded, hub.DeviceUpdated, hub.DeviceRemoved)
	defer events.Close()
	close(n.ready)
	// Partners with a backlog from before a restart get their workers now.
	if err := n.wakeBacklog(ctx); err != nil {
		n.log.Error("notify: resume backlog", "err", err)
	}
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			n.wg.Wait()
			return nil
		case e, ok := <-events.C:
			if !ok {
				n.wg.Wait()
				return nil
			}
			if e.Type == hub.DeviceAdded || e.Type == hub.DeviceUpdated || e.Type == hub.DeviceRemoved {
				if err := n.deviceEvent(ctx, e); err != nil {
					n.log.Error("notify: device event", "device", e.DeviceID, "err", err)
				}
			}
		case <-sweep.C:
			if err := n.wakeBacklog(ctx); err != nil {
				n.log.Warn("notify: sweep", "err", err)
			}
		}
	}
}

// Ready is closed once Run has installed its hooks and follows changes.
func (n *Notifier) Ready() <-chan struct{} { return n.ready }

// exposure returns the grant's exposure predicate, cached for a second:
// the outbox hook runs for every state batch and must not query the grant
// tables each time; a changed consent is seen within a second.
func (n *Notifier) exposure(ctx context.Context, c cic.Caller) func(*device.Device) bool {
	n.expoMu.Lock()
	e, ok := n.expoCache[c.GrantID]
	n.expoMu.Unlock()
	if ok && time.Since(e.at) < time.Second {
		return e.pred
	}
	pred, err := n.opts.Exposure.Exposure(ctx, c)
	if err != nil {
		n.log.Warn("notify: exposure", "grant", c.GrantID, "err", err)
		pred = func(*device.Device) bool { return false }
	}
	n.expoMu.Lock()
	n.expoCache[c.GrantID] = expoEntry{pred: pred, at: time.Now()}
	n.expoMu.Unlock()
	return pred
}

// Stats are the notifier's counters.
type Stats struct {
	Delivered, Dropped, Failures uint64
	// Persisted counts events written to the durable outbox because they
	// were not acknowledged by the flush after them.
	Persisted uint64
}

// Stats returns counters for metrics.
func (n *Notifier) Stats() Stats {
	return Stats{Delivered: n.delivered.Load(), Dropped: n.dropped.Load(), Failures: n.failures.Load(), Persisted: n.persisted.Load()}
}

// Backlog is the number of undelivered events, for the outbox metric.
func (n *Notifier) Backlog(ctx context.Context) int {
	var c int
	_ = n.mem.QueryRowContext(ctx, "SELECT count(*) FROM outbox").Scan(&c)
	return c
}
