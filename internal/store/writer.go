package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubagent/hubagent/internal/device"
)

// Change is one state write: a property's new value, or (Property empty) the
// device's online flag in Value as a bool.
type Change struct {
	DeviceID string
	Property string
	Value    device.Value
	At       time.Time
}

// TxHook runs inside the transaction that commits a batch, after the state
// rows are written. Other packages use it to write rows that must commit
// together with the state that caused them (the notification outbox).
type TxHook func(ctx context.Context, tx *sql.Tx, batch []Change) error

// WriterOptions tune the state writer.
type WriterOptions struct {
	// Window is how long the writer gathers changes before handing them on
	// together (Hooks.Publish: the notifications); repeated changes of the
	// same property inside it are coalesced into the last one. Zero hands
	// on as soon as the writer is free, every change (group commit, no
	// coalescing).
	Window time.Duration
	// FlushInterval is how long published changes wait in memory, coalesced
	// per property, before they are committed in one transaction. Zero
	// commits every window's batch as it is published. Flush, Close, and a
	// pending set reaching MaxPending commit earlier. On flash every commit
	// costs whole pages twice (WAL and checkpoint), so this is what bounds
	// bytes written per day; a power cut loses at most one interval of
	// state, which devices report again (retained MQTT state, polling).
	FlushInterval time.Duration
	// MaxPending bounds the distinct properties waiting for the next
	// interval (default DefaultMaxPending); reaching it commits at once.
	MaxPending int
	// Tick, if set, replaces the FlushInterval timer (tests inject a clock).
	Tick <-chan time.Time
	// MaxBatch caps the distinct changes in one window batch (default 2048).
	MaxBatch int
	// Queue bounds the changes waiting in the input queue (default 8192).
	// Put blocks while it is full: back-pressure instead of unbounded
	// memory. The queue takes memory only for what waits.
	Queue int
	// Hook, if set, runs inside every transaction (Hooks.Tx).
	Hook   TxHook
	Logger *slog.Logger
}

// DefaultMaxPending is WriterOptions.MaxPending's default: about 0.5 MB of
// pending changes, and a few hundred 4 KiB pages in one transaction.
const DefaultMaxPending = 10000

// Hooks connect another component to the writer (the notifier). Every
// function runs on the writer's goroutine.
type Hooks struct {
	// Tx runs inside every state transaction, after the state rows, with
	// the changes being committed (possibly none): rows that must be as
	// durable as the state go here.
	Tx TxHook
	// Done is called after each transaction in which Tx ran, with its
	// outcome.
	Done func(err error)
	// Dirty reports that Tx has rows to write although no state is
	// pending; the interval then commits anyway.
	Dirty func() bool
	// Publish receives every window's batch as the writer accepts it,
	// before it is durable (it must not keep the slice).
	Publish func([]Change)
}

// WriterStats are counters for metrics.
type WriterStats struct {
	Changes   uint64 // changes accepted by Put
	Written   uint64 // rows written (after coalescing)
	Coalesced uint64 // changes replaced by a later one before commit
	Commits   uint64 // transactions committed
	Published uint64 // window batches handed to Hooks.Publish
	// With a flush interval: WAL frames found by the checkpoint after each
	// commit (every writer's, not only the state writer's) and pages it
	// copied into the database.
	WALFrames, CheckpointedPages uint64
	Failures                     uint64 // failed commits (retried)
}

type writerOp struct {
	change Change
	flush  chan error // non-nil: a flush barrier
}

type changeKey struct{ device, property string }

// Writer is the single goroutine that writes state. Funnelling every state
// write through one goroutine turns many small transactions into a few large
// ones: on flash, each commit costs whole pages, so batching is what keeps
// bytes written per update small.
type Writer struct {
	s      *Store
	opts   WriterOptions
	log    *slog.Logger
	in     *opQueue
	done   chan struct{}
	mu     sync.RWMutex // Put holds it shared; Close exclusively, to close in
	closed bool

	changes, written, coalesced, commits, failures, published atomic.Uint64
	walFrames, checkpointed                                   atomic.Uint64
	lastCkpt                                                  ckptState // the writer goroutine's
	lastErr                                                   atomic.Pointer[error]
	hooks                                                     atomic.Pointer[Hooks]
}

// SetHooks installs h, replacing WriterOptions.Hook and earlier hooks.
// Components built after the hub use it; the zero Hooks removes them.
func (w *Writer) SetHooks(h Hooks) { w.hooks.Store(&h) }

// NewWriter starts the state writer. Close stops it after writing what it
// holds.
func (s *Store) NewWriter(opts WriterOptions) *Writer {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2048
	}
	if opts.Queue <= 0 {
		opts.Queue = 8192
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = DefaultMaxPending
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{s: s, opts: opts, log: opts.Logger, in: newOpQueue(opts.Queue), done: make(chan struct{})}
	w.hooks.Store(&Hooks{Tx: opts.Hook})
	go w.loop()
	return w
}

// ErrWriterClosed is returned after Close.
var ErrWriterClosed = errors.New("store: state writer closed")

// Put queues a change. It blocks only while the queue is full.
func (w *Writer) Put(c Change) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrWriterClosed
	}
	w.changes.Add(1)
	w.in.put(c)
	return nil
}

// Flush waits until every change queued before it is committed (whatever
// the flush interval), and returns the commit's error if it failed.
func (w *Writer) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrWriterClosed
	}
	w.in.barrier(ch, false)
	w.mu.RUnlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits what is queued and stops the writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	ch := make(chan error, 1)
	w.in.barrier(ch, true)
	w.mu.Unlock()
	err := <-ch
	<-w.done
	return err
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Changes: w.changes.Load(), Written: w.written.Load(), Coalesced: w.coalesced.Load(),
		Commits: w.commits.Load(), Failures: w.failures.Load(), Published: w.published.Load(),
		WALFrames: w.walFrames.Load(), CheckpointedPages: w.checkpointed.Load()}
}

// LastError is the last commit failure, or nil once a commit succeeded.
func (w *Writer) LastError() error {
	if p := w.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (w *Writer) write(changes []Change, h *Hooks) error {
	ctx := context.Background()
	tx, err := w.s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: write state: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	stateStmt, err := tx.PrepareContext(ctx, `INSERT INTO state(device_id, name, value, updated_at)
		SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM devices WHERE id = ?1)
		ON CONFLICT(device_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`)
	if err != nil {
		return fmt.Errorf("store: write state: %w", err)
	}
	defer stateStmt.Close()
	var onlineStmt *sql.Stmt
	var buf []byte
	for _, c := range changes {
		at := c.At.UnixMilli()
		if c.Property == "" {
			if onlineStmt == nil {
				onlineStmt, err = tx.PrepareContext(ctx, "UPDATE devices SET online = ? WHERE id = ?")
				if err != nil {
					return fmt.Errorf("store: write online: %w", err)
				}
				defer onlineStmt.Close()
			}
			online, _ := c.Value.AsBool()
			if _, err := onlineStmt.ExecContext(ctx, online, c.DeviceID); err != nil {
				return fmt.Errorf("store: write online %s: %w", c.DeviceID, err)
			}
			continue
		}
		buf = c.Value.AppendJSON(buf[:0])
		if _, err := stateStmt.ExecContext(ctx, c.DeviceID, c.Property, string(buf), at); err != nil {
			return fmt.Errorf("store: write state %s.%s: %w", c.DeviceID, c.Property, err)
		}
	}
	if h != nil && h.Tx != nil {
		if err := h.Tx(ctx, tx, changes); err != nil {
			return fmt.Errorf("store: write state: hook: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: write state: commit: %w", err)
	}
	return nil
}
