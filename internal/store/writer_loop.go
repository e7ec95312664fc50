package store

import "time"

// batch is a pending set of changes. With coalescing, index maps a
// property to its slot so a later value overwrites the earlier one in place
// and order of first appearance is kept.
type batch struct {
	changes []Change
	index   map[changeKey]int
}

func newBatch() *batch { return &batch{index: map[changeKey]int{}} }

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
	clear(b.changes) // drop the values' strings
	b.changes = b.changes[:0]
	clear(b.index)
}

// The writer works in two stages. The window batch gathers changes for
// Window and is then published (notifications go out); its changes move to
// the durable set, which is committed every FlushInterval (at once when the
// interval is zero), on Flush and Close, when it reaches MaxPending, and
// retried with a growing pause while commits fail. Both stages keep one
// value per property when coalescing, so memory is bounded by the number
// of properties, not of changes.
type writerLoop struct {
	w        *Writer
	window   *batch
	durable  *batch
	coalesce bool // the window coalesces
	flushers []chan error
	retry    time.Duration

	windowTimer, retryTimer *time.Timer
	windowArmed, retryArmed bool

	// ops were taken from the queue together; next is the first not yet
	// handled. closed: the queue was closed when they were taken.
	ops    []writerOp
	next   int
	closed bool

	trimTimer *time.Timer
	trimArmed bool
}

// batchKeep and queueKeep are the capacities the writer keeps once idle.
// A burst (at start-up, a change per property of every device) grows the
// queue buffers and batches far past them; they are reused while changes
// keep coming, and given back trimAfter after the writer last found
// itself with nothing to do, so an idle agent does not keep the burst's
// memory for its life.
const (
	batchKeep = 256
	trimAfter = time.Second
)

func (l *writerLoop) holdsBurst() bool {
	return cap(l.ops) > queueKeep || cap(l.window.changes) > batchKeep ||
		cap(l.durable.changes) > batchKeep || l.w.in.big()
}

// trim gives back burst-sized buffers that hold nothing now; a durable set
// still waiting for its interval keeps its memory. If the queue is not
// empty (changes came meanwhile), the next wait tries again.
func (l *writerLoop) trim() {
	if l.next == len(l.ops) {
		l.ops, l.next = nil, 0
	}
	for _, b := range []*batch{l.window, l.durable} {
		if len(b.changes) == 0 && cap(b.changes) > batchKeep {
			*b = batch{index: map[changeKey]int{}}
		}
	}
	l.w.in.trim()
}

func (w *Writer) loop() {
	defer close(w.done)
	l := &writerLoop{w: w, window: newBatch(), durable: newBatch(), coalesce: w.opts.Window > 0,
		windowTimer: stoppedTimer(), retryTimer: stoppedTimer(), trimTimer: stoppedTimer()}
	tick := w.opts.Tick
	if tick == nil && w.opts.FlushInterval > 0 {
		t := time.NewTicker(w.opts.FlushInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		if l.next == len(l.ops) {
			// Timers before taking more, so that a steady stream of
			// changes still gets its windows published and its interval
			// committed.
			select {
			case <-l.windowTimer.C:
				l.windowFired()
				continue
			case <-l.retryTimer.C:
				l.retryArmed = false
				l.commit()
				continue
			case <-tick:
				l.ticked()
				continue
			default:
			}
		}
		if op, ok := l.pop(); ok {
			l.take(op)
			continue
		}
		if l.closed {
			l.publish()
			l.commit()
			return
		}
		if !l.trimArmed && l.holdsBurst() {
			l.trimTimer.Reset(trimAfter)
			l.trimArmed = true
		}
		select {
		case <-l.trimTimer.C:
			l.trimArmed = false
			l.trim()
		case <-w.in.ready:
		case <-l.windowTimer.C:
			l.windowFired()
		case <-l.retryTimer.C:
			l.retryArmed = false
			l.commit()
		case <-tick:
			l.ticked()
		}
	}
}

func (l *writerLoop) windowFired() {
	l.windowArmed = false
	l.publish()
	l.commitIfDue()
}

func (l *writerLoop) ticked() {
	if l.retry == 0 && (len(l.durable.changes) > 0 || l.dirty()) {
		l.commit()
	}
}

// pop returns the next queued op without waiting: from the ops last taken
// from the queue, else from what the queue holds now.
func (l *writerLoop) pop() (writerOp, bool) {
	if l.next == len(l.ops) {
		l.ops, l.closed = l.w.in.take(l.ops)
		l.next = 0
		if len(l.ops) == 0 {
			return writerOp{}, false
		}
	}
	op := l.ops[l.next]
	l.next++
	return op, true
}

func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

func (l *writerLoop) take(op writerOp) {
	if op.flush != nil {
		l.flushers = append(l.flushers, op.flush)
		l.publish()
		l.commit()
		return
	}
	if l.window.add(op.change, l.coalesce) {
		l.w.coalesced.Add(1)
	}
	switch {
	case len(l.window.changes) >= l.w.opts.MaxBatch:
		l.publish()
		l.commitIfDue()
	case !l.coalesce:
		// Group commit: take whatever else is already queued, then go.
		l.drain()
		l.publish()
		l.commitIfDue()
	case !l.windowArmed:
		l.windowTimer.Reset(l.w.opts.Window)
		l.windowArmed = true
	}
}

// drain moves already-queued changes into the window batch without
// waiting. A flush barrier stops the drain; it is answered by the commit
// that follows, which holds everything queued before it.
func (l *writerLoop) drain() {
	for len(l.window.changes) < l.w.opts.MaxBatch {
		op, ok := l.pop()
		if !ok {
			return
		}
		if op.flush != nil {
			l.flushers = append(l.flushers, op.flush)
			return
		}
		l.window.add(op.change, false)
	}
}

// publish hands the window batch on and moves it into the durable set.
func (l *writerLoop) publish() {
	if l.windowArmed {
		l.windowTimer.Stop()
		l.windowArmed = false
	}
	if len(l.window.changes) == 0 {
		return
	}
	if h := l.w.hooks.Load(); h != nil && h.Publish != nil {
		h.Publish(l.window.changes)
	}
	l.w.published.Add(1)
	// Without an interval and without a window every change is written,
	// as before; otherwise one value per property.
	coalesce := l.coalesce || l.w.opts.FlushInterval > 0 || l.retry > 0
	for _, c := range l.window.changes {
		if l.durable.add(c, coalesce) {
			l.w.coalesced.Add(1)
		}
	}
	l.window.reset()
}

// commitIfDue commits after a publish when a flush barrier is waiting
// (drain may have taken one), when no interval defers it, or when the
// durable set reached its bound; while commits fail, only the retry timer
// and flush barriers try again.
func (l *writerLoop) commitIfDue() {
	switch {
	case len(l.flushers) > 0:
		l.commit()
	case l.retry > 0:
	case l.w.opts.FlushInterval == 0 || len(l.durable.changes) >= l.w.opts.MaxPending:
		l.commit()
	}
}

func (l *writerLoop) dirty() bool {
	h := l.w.hooks.Load()
	return h != nil && h.Dirty != nil && h.Dirty()
}

// commit writes the durable set in one transaction. On failure (disk full,
// I/O error) the set is kept for a later try with a growing pause, so
// nothing accepted is dropped; flushers hear the error.
func (l *writerLoop) commit() {
	w := l.w
	if l.retryArmed {
		l.retryTimer.Stop()
		l.retryArmed = false
	}
	var err error
	h := w.hooks.Load()
	if len(l.durable.changes) > 0 || l.retry > 0 || l.dirty() {
		err = w.write(l.durable.changes, h)
		if h != nil && h.Done != nil {
			h.Done(err)
		}
		if err != nil {
			w.failures.Add(1)
			w.lastErr.Store(&err)
			l.retry = min(max(l.retry*2, 100*time.Millisecond), 5*time.Second)
			w.log.Error("state write failed; will retry", "changes", len(l.durable.changes), "retry_in", l.retry, "err", err)
			l.retryTimer.Reset(l.retry)
			l.retryArmed = true
		} else {
			if w.opts.FlushInterval > 0 {
				w.checkpoint()
			}
			// Counted after its checkpoint: whoever sees the commit in
			// Stats sees the WAL frames and pages it cost too.
			w.commits.Add(1)
			w.written.Add(uint64(len(l.durable.changes)))
			w.lastErr.Store(nil)
			l.retry = 0
			l.durable.reset()
		}
	}
	for _, f := range l.flushers {
		f <- err
	}
	l.flushers = l.flushers[:0]
}
