package cic

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// idempotency remembers answers for a window (10 minutes) keyed by partner
// and messageId, so a partner that lost an answer can retry without the hub
// acting twice. Mutating messages are kept in the database (a retry after a
// restart must not switch the heating on twice); answers are also kept in
// memory, bounded by size with the oldest dropped first: a read whose answer
// was dropped is answered afresh, a mutating one from the database.
// Concurrent duplicates wait for the first one instead of running twice.
type idempotency struct {
	db       *sql.DB
	window   time.Duration
	maxBytes int

	mu        sync.Mutex
	mem       map[idemKey]idemEntry
	order     []idemKey // insertion order, oldest first, from head
	head      int
	memBytes  int
	inflight  map[idemKey]*flight
	lastSweep time.Time
}

type idemKey struct{ client, message string }

type idemEntry struct {
	status int
	body   []byte
	at     time.Time
}

type flight struct {
	done   chan struct{}
	status int
	body   []byte
}

// defaultIdemBytes bounds the answers kept in memory: a gateway has tens of
// MB in all, and a busy partner's reads must not fill them.
const defaultIdemBytes = 2 << 20

func newIdempotency(db *sql.DB, window time.Duration) *idempotency {
	return &idempotency{db: db, window: window, maxBytes: defaultIdemBytes,
		mem: map[idemKey]idemEntry{}, inflight: map[idemKey]*flight{}}
}

// do returns the remembered answer for (client, message), or runs fn and
// remembers its answer.
func (m *idempotency) do(ctx context.Context, client, message string, persist bool, fn func() (int, []byte)) (int, []byte) {
	k := idemKey{client, message}
	now := time.Now()
	m.mu.Lock()
	m.expireLocked(now)
	if e, ok := m.mem[k]; ok && now.Sub(e.at) < m.window {
		m.mu.Unlock()
		return e.status, e.body
	}
	if f, ok := m.inflight[k]; ok {
		m.mu.Unlock()
		select {
		case <-f.done:
			return f.status, f.body
		case <-ctx.Done():
			return 499, nil
		}
	}
	f := &flight{done: make(chan struct{})}
	m.inflight[k] = f
	sweep := persist && now.Sub(m.lastSweep) > time.Minute
	if sweep {
		m.lastSweep = now
	}
	m.mu.Unlock()

	if sweep {
		// Expired records go about once a minute, not on every request.
		m.db.ExecContext(context.WithoutCancel(ctx), "DELETE FROM message_ids WHERE created_at < ?", //nolint:errcheck // best effort
			now.Add(-m.window).UnixMilli())
	}
	if persist {
		if status, body, ok := m.load(ctx, k, now); ok {
			m.finish(k, f, status, body, now, false)
			return status, body
		}
	}
	status, body := fn()
	m.finish(k, f, status, body, now, persist)
	return status, body
}

func (m *idempotency) finish(k idemKey, f *flight, status int, body []byte, at time.Time, persist bool) {
	if persist {
		// Background context: the answer is computed; the partner hanging
		// up must not lose the record of what was done. A failed record only
		// weakens a later retry to a second action; the answer stands.
		m.db.ExecContext(context.Background(), `INSERT OR REPLACE INTO message_ids
			(client_id, message_id, status, response, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.client, k.message, status, body, at.UnixMilli()) //nolint:errcheck // see above
	}
	m.mu.Lock()
	f.status, f.body = status, body
	if old, ok := m.mem[k]; ok {
		m.memBytes -= len(old.body)
	} else {
		m.order = append(m.order, k)
	}
	m.mem[k] = idemEntry{status: status, body: body, at: at}
	m.memBytes += len(body)
	m.evictLocked()
	delete(m.inflight, k)
	m.mu.Unlock()
	close(f.done)
}

// expireLocked drops the oldest entries while they are past the window.
func (m *idempotency) expireLocked(now time.Time) {
	for m.head < len(m.order) {
		k := m.order[m.head]
		e, ok := m.mem[k]
		if ok && now.Sub(e.at) < m.window {
			return
		}
		m.dropHeadLocked()
	}
}

// evictLocked drops the oldest entries while memory holds too much.
func (m *idempotency) evictLocked() {
	for m.memBytes > m.maxBytes && m.head < len(m.order) {
		m.dropHeadLocked()
	}
}

func (m *idempotency) dropHeadLocked() {
	k := m.order[m.head]
	m.order[m.head] = idemKey{}
	m.head++
	if e, ok := m.mem[k]; ok {
		m.memBytes -= len(e.body)
		delete(m.mem, k)
	}
	// Compact the queue once its dead head is as long as its live tail.
	if m.head > 1024 && m.head*2 > len(m.order) {
		m.order = append(m.order[:0:0], m.order[m.head:]...)
		m.head = 0
	}
}

func (m *idempotency) load(ctx context.Context, k idemKey, now time.Time) (int, []byte, bool) {
	var status int
	var body []byte
	var at int64
	err := m.db.QueryRowContext(ctx, `SELECT status, response, created_at FROM message_ids
		WHERE client_id = ? AND message_id = ?`, k.client, k.message).Scan(&status, &body, &at)
	if err != nil || now.Sub(time.UnixMilli(at)) >= m.window {
		return 0, nil, false
	}
	return status, body, true
}
