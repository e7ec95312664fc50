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
	// Window is how long the writer gathers changes before committing them
	// together; repeated changes of the same property inside it are
	// coalesced into the last one. Zero commits as soon as the writer is free
	// and writes every change (group commit, no coalescing).
	Window time.Duration
	// MaxBatch caps the distinct changes in one transaction (default 2048).
	MaxBatch int
	// Queue is the capacity of the input queue (default 8192). Put blocks
	// while it is full: back-pressure instead of unbounded memory.
	Queue int
	// Hook, if set, runs inside every batch's transaction.
	Hook   TxHook
	Logger *slog.Logger
}

// WriterStats are counters for metrics.
type WriterStats struct {
	Changes   uint64 // changes accepted by Put
	Written   uint64 // rows written (after coalescing)
	Coalesced uint64 // changes replaced by a later one before commit
	Commits   uint64 // transactions committed
	Failures  uint64 // failed commits (retried)
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
	in     chan writerOp
	done   chan struct{}
	mu     sync.RWMutex // Put holds it shared; Close exclusively, to close in
	closed bool

	changes, written, coalesced, commits, failures atomic.Uint64
	lastErr                                        atomic.Pointer[error]
	hook                                           atomic.Pointer[TxHook]
	afterCommit                                    atomic.Pointer[func([]Change)]
}

// SetHooks installs the transaction hook (replacing WriterOptions.Hook) and
// a function called after each successful commit with the batch committed
// (the notifier uses it to wake its workers; it must not keep the slice).
// Either may be nil. Components
// that are built after the hub use it.
func (w *Writer) SetHooks(tx TxHook, after func([]Change)) {
	if tx != nil {
		w.hook.Store(&tx)
	} else {
		w.hook.Store(nil)
	}
	if after != nil {
		w.afterCommit.Store(&after)
	} else {
		w.afterCommit.Store(nil)
	}
}

// NewWriter starts the state writer. Close stops it after writing what it
// holds.
func (s *Store) NewWriter(opts WriterOptions) *Writer {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 2048
	}
	if opts.Queue <= 0 {
		opts.Queue = 8192
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{s: s, opts: opts, log: opts.Logger, in: make(chan writerOp, opts.Queue), done: make(chan struct{})}
	if opts.Hook != nil {
		w.hook.Store(&opts.Hook)
	}
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
	w.in <- writerOp{change: c}
	return nil
}

// Flush waits until every change queued before it is committed, and returns
// the commit's error if it failed.
func (w *Writer) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrWriterClosed
	}
	select {
	case w.in <- writerOp{flush: ch}:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
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
	w.in <- writerOp{flush: ch}
	close(w.in)
	w.mu.Unlock()
	err := <-ch
	<-w.done
	return err
}

// Stats returns the writer's counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Changes: w.changes.Load(), Written: w.written.Load(), Coalesced: w.coalesced.Load(),
		Commits: w.commits.Load(), Failures: w.failures.Load()}
}

// LastError is the last commit failure, or nil once a commit succeeded.
func (w *Writer) LastError() error {
	if p := w.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// batch is the writer's pending set. With coalescing, index maps a property
// to its slot so a later value overwrites the earlier one in place and order
// of first appearance is kept.
type batch struct {
	changes []Change
	index   map[changeKey]int
}

func (b *batch) add(c Change, coalesce bool) (replaced bool) {
	if coalesce {
		k := changeKey{c.DeviceID, c.Property}
		if i, ok := b.index[k]; ok {
			b.changes[i] = c
			return true
		}
		b.index[k] = len(b.changes)
	}
	b.changes = append(b.changes, c)
	return false
}

func (b *batch) reset() {
	b.changes = b.changes[:0]
	clear(b.index)
}

func (w *Writer) loop() {
	defer close(w.done)
	coalesce := w.opts.Window > 0
	b := &batch{index: map[changeKey]int{}}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	arm := func(d time.Duration) {
		if !armed {
			timer.Reset(d)
			armed = true
		}
	}
	var flushers []chan error
	retry := time.Duration(0)
	commit := func() {
		if armed {
			timer.Stop()
			armed = false
		}
		if !w.commit(b, &flushers, &retry) {
			arm(retry) // keep the batch and try again later
		}
	}
	for {
		var op writerOp
		var ok bool
		select {
		case op, ok = <-w.in:
		case <-timer.C:
			armed = false
			commit()
			continue
		}
		if !ok {
			commit()
			return
		}
		if op.flush != nil {
			flushers = append(flushers, op.flush)
			commit()
			continue
		}
		// While commits fail (a full disk) the batch is kept: changes are
		// coalesced into it whatever the window, so it holds at most one
		// value per property instead of growing with every change, and
		// only the retry timer tries again, not every change that arrives.
		failing := retry > 0
		if b.add(op.change, coalesce || failing) {
			w.coalesced.Add(1)
		}
		switch {
		case failing:
			arm(retry)
		case len(b.changes) >= w.opts.MaxBatch:
			commit()
		case !coalesce:
			// Group commit: take whatever else is already queued, then write.
			w.drain(b, &flushers)
			commit()
		default:
			arm(w.opts.Window)
		}
	}
}

// drain moves already-queued changes into the batch without waiting. A flush
// barrier stops the drain; it is answered by the commit that follows, which
// holds everything queued before it.
func (w *Writer) drain(b *batch, flushers *[]chan error) {
	for len(b.changes) < w.opts.MaxBatch {
		select {
		case op, ok := <-w.in:
			if !ok {
				return
			}
			if op.flush != nil {
				*flushers = append(*flushers, op.flush)
				return
			}
			b.add(op.change, false)
		default:
			return
		}
	}
}

// commit writes the batch in one transaction and reports success. On failure
// (disk full, I/O error) the batch is kept for a later try with a growing
// pause, so nothing accepted is dropped; flushers hear the error.
func (w *Writer) commit(b *batch, flushers *[]chan error, retry *time.Duration) bool {
	var err error
	if len(b.changes) > 0 {
		err = w.write(b.changes)
		if err != nil {
			w.failures.Add(1)
			w.lastErr.Store(&err)
			*retry = min(max(*retry*2, 100*time.Millisecond), 5*time.Second)
			w.log.Error("state write failed; will retry", "changes", len(b.changes), "retry_in", *retry, "err", err)
		} else {
			w.commits.Add(1)
			w.written.Add(uint64(len(b.changes)))
			w.lastErr.Store(nil)
			*retry = 0
			if after := w.afterCommit.Load(); after != nil {
				(*after)(b.changes)
			}
			b.reset()
		}
	}
	for _, f := range *flushers {
		f <- err
	}
	*flushers = (*flushers)[:0]
	return err == nil
}

func (w *Writer) write(changes []Change) error {
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
	if hook := w.hook.Load(); hook != nil {
		if err := (*hook)(ctx, tx, changes); err != nil {
			return fmt.Errorf("store: write state: hook: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: write state: commit: %w", err)
	}
	return nil
}
