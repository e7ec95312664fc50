package cic

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// idempotency remembers answers for a window (10 minutes) keyed by partner
// and messageId, so a partner that lost an answer can retry without the hub
// acting twice. Mutating messages are kept in the database (a retry after a
// restart must not switch the heating on twice); reads only in memory.
// Concurrent duplicates wait for the first one instead of running twice.
type idempotency struct {
	db     *sql.DB
	window time.Duration

	mu       sync.Mutex
	mem      map[idemKey]idemEntry
	inflight map[idemKey]*flight
	lastGC   time.Time
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

// maxMemEntries bounds the in-memory window; past it the oldest half goes.
const maxMemEntries = 50000

func newIdempotency(db *sql.DB, window time.Duration) *idempotency {
	return &idempotency{db: db, window: window, mem: map[idemKey]idemEntry{}, inflight: map[idemKey]*flight{}}
}

// do returns the remembered answer for (client, message), or runs fn and
// remembers its answer.
func (m *idempotency) do(ctx context.Context, client, message string, persist bool, fn func() (int, []byte)) (int, []byte) {
	k := idemKey{client, message}
	now := time.Now()
	m.mu.Lock()
	m.gcLocked(ctx, now)
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
	m.mu.Unlock()

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
		// up must not lose the record of what was done.
		_, err := m.db.ExecContext(context.Background(), `INSERT OR REPLACE INTO message_ids
			(client_id, message_id, status, response, created_at) VALUES (?, ?, ?, ?, ?)`,
			k.client, k.message, status, body, at.UnixMilli())
		_ = err // a failed record only weakens a later retry to a second action; the answer stands
	}
	m.mu.Lock()
	f.status, f.body = status, body
	m.mem[k] = idemEntry{status: status, body: body, at: at}
	delete(m.inflight, k)
	m.mu.Unlock()
	close(f.done)
}

func (m *idempotency) load(ctx context.Context, k idemKey, now time.Time) (int, []byte, bool) {
	var status int
	var body []byte
	var at int64
	err := m.db.QueryRowContext(ctx, `SELECT status, response, created_at FROM message_ids
		WHERE client_id = ? AND message_id = ?`, k.client, k.message).Scan(&status, &body, &at)
	if errors.Is(err, sql.ErrNoRows) || err != nil {
		return 0, nil, false
	}
	if now.Sub(time.UnixMilli(at)) >= m.window {
		return 0, nil, false
	}
	return status, body, true
}

// gcLocked drops expired entries about once a minute, and the oldest half
// when memory holds too many.
func (m *idempotency) gcLocked(ctx context.Context, now time.Time) {
	if now.Sub(m.lastGC) < time.Minute && len(m.mem) < maxMemEntries {
		return
	}
	m.lastGC = now
	cut := now.Add(-m.window)
	if len(m.mem) >= maxMemEntries {
		cut = now.Add(-m.window / 2)
	}
	for k, e := range m.mem {
		if e.at.Before(cut) {
			delete(m.mem, k)
		}
	}
	go m.db.ExecContext(context.WithoutCancel(ctx), "DELETE FROM message_ids WHERE created_at < ?", //nolint:errcheck // best effort
		now.Add(-m.window).UnixMilli())
}
