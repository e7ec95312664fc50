package cic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// idempotency remembers answers for a window (default 10 minutes) keyed by
// partner, grant and messageId, together with a hash of what was asked
// (namespace, name, payload): a partner that lost an answer can retry
// without the hub acting twice, a reused messageId with a different request
// is refused instead of answered with another request's answer, and a
// partner serving two households never gets one household's answer on the
// other's token.
//
// Messages that acted (a Control that reached a device, a Subscribe...) are
// kept in the database, bounded by age and size (a retry after a restart
// must not switch the heating on twice); answers are also kept in memory,
// bounded by size with the oldest dropped first: an answer dropped from
// memory and not in the database is computed afresh, which is safe because
// only messages that acted on nothing are not in the database.
// Concurrent duplicates wait for the first one instead of running twice.
type idempotency struct {
	db       *sql.DB
	window   time.Duration
	maxBytes int
	bound    *tableBound

	mu       sync.Mutex
	mem      map[idemKey]idemEntry
	order    []idemKey // insertion order, oldest first, from head
	head     int
	memBytes int
	inflight map[idemKey]*flight
	now      func() time.Time
}

type idemKey struct{ client, grant, message string }

// reqHash identifies what a message asked.
type reqHash [sha256.Size]byte

// requestHash hashes namespace, name and payload. The payload is compacted
// first, so a retry re-encoded with other whitespace is still the same
// request.
func requestHash(namespace, name string, payload []byte) reqHash {
	h := sha256.New()
	h.Write([]byte(namespace))
	h.Write([]byte{0})
	h.Write([]byte(name))
	h.Write([]byte{0})
	var buf bytes.Buffer
	if json.Compact(&buf, payload) == nil {
		payload = buf.Bytes()
	}
	h.Write(payload)
	var out reqHash
	h.Sum(out[:0])
	return out
}

type idemEntry struct {
	hash   reqHash
	status int
	body   []byte
	at     time.Time
}

type flight struct {
	done   chan struct{}
	hash   reqHash
	status int
	body   []byte
}

// errReused answers a messageId reused within the window for another
// request.
var errReused = invalid("messageId was already used for a different request; use a new messageId")

// defaultIdemBytes bounds the answers kept in memory: a gateway has tens of
// MB in all, and a busy partner's reads must not fill them.
const defaultIdemBytes = 2 << 20

// idemEntryOverhead is what an entry costs besides its answer and key
// strings: its map slot (key, entry, the map's spare room), its queue slot
// and the strings' headers. Counted, so that small answers (a Control's
// is ~100 bytes) cannot make the window hold tens of thousands of entries
// several times the bound in all.
const idemEntryOverhead = 256

// idemCost is what entry e under k counts against maxBytes.
func idemCost(k idemKey, e idemEntry) int {
	return len(e.body) + len(k.client) + len(k.grant) + len(k.message) + idemEntryOverhead
}

// Defaults of the database window: its age and total size.
const (
	DefaultIdempotencyWindow   = 10 * time.Minute
	DefaultIdempotencyMaxBytes = 4 << 20
)

func newIdempotency(db *sql.DB, window time.Duration, maxDBBytes int64) *idempotency {
	return &idempotency{db: db, window: window, maxBytes: defaultIdemBytes,
		mem: map[idemKey]idemEntry{}, inflight: map[idemKey]*flight{}, now: time.Now,
		bound: &tableBound{db: db, table: "message_ids", timeCol: "created_at", orderCol: "created_at",
			sizeExpr: "length(client_id) + length(grant_id) + length(message_id) + length(response) + 64",
			maxAge:   window, maxBytes: maxDBBytes}}
}

// do returns the remembered answer for k, or runs fn and remembers its
// answer; in the database too when persist is set and fn reports that it
// acted. A remembered answer to a different request (hash) is errReused.
func (m *idempotency) do(ctx context.Context, k idemKey, hash reqHash, persist bool,
	fn func() (status int, body []byte, acted bool)) (int, []byte, error) {
	return m.doWith(ctx, k, hash, persist, func() (int, []byte, bool, *auditRows) {
		status, body, acted := fn()
		return status, body, acted, nil
	})
}

// doWith is do for an operation that also leaves audit rows: they are
// written in the transaction that records the message when it is
// persisted, else on their own.
func (m *idempotency) doWith(ctx context.Context, k idemKey, hash reqHash, persist bool,
	fn func() (status int, body []byte, acted bool, audit *auditRows)) (int, []byte, error) {
	now := m.now()
	m.mu.Lock()
	m.expireLocked(now)
	if e, ok := m.mem[k]; ok && now.Sub(e.at) < m.window {
		m.mu.Unlock()
		if e.hash != hash {
			return 0, nil, errReused
		}
		return e.status, e.body, nil
	}
	if f, ok := m.inflight[k]; ok {
		m.mu.Unlock()
		if f.hash != hash {
			return 0, nil, errReused
		}
		select {
		case <-f.done:
			return f.status, f.body, nil
		case <-ctx.Done():
			return 499, nil, nil
		}
	}
	f := &flight{done: make(chan struct{}), hash: hash}
	m.inflight[k] = f
	m.mu.Unlock()

	if persist {
		if e, ok := m.load(ctx, k, now); ok {
			m.finish(k, f, e, false, nil)
			if e.hash != hash {
				return 0, nil, errReused
			}
			return e.status, e.body, nil
		}
	}
	status, body, acted, audit := fn()
	m.finish(k, f, idemEntry{hash: hash, status: status, body: body, at: now}, persist && acted, audit)
	return status, body, nil
}

func (m *idempotency) finish(k idemKey, f *flight, e idemEntry, persist bool, audit *auditRows) {
	// Background context: the answer is computed; the partner hanging up
	// must not lose the record of what was done. A failed record only
	// weakens a later retry to a second action; the answer stands.
	ctx := context.Background()
	switch {
	case persist:
		if err := m.persist(ctx, k, e, audit); err != nil && audit != nil {
			audit.write(ctx) // the audit trail does not depend on the record
		}
	case audit != nil:
		audit.write(ctx)
	}
	m.mu.Lock()
	f.status, f.body = e.status, e.body
	if old, ok := m.mem[k]; ok {
		m.memBytes -= idemCost(k, old)
	} else {
		m.order = append(m.order, k)
	}
	m.mem[k] = e
	m.memBytes += idemCost(k, e)
	m.evictLocked()
	delete(m.inflight, k)
	m.mu.Unlock()
	close(f.done)
}

// persist records the message, and its audit rows if any, in one
// transaction: one write lock and one commit per Control.
func (m *idempotency) persist(ctx context.Context, k idemKey, e idemEntry, audit *auditRows) error {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cic: record message %s: %w", k.message, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO message_ids
		(client_id, grant_id, message_id, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.client, k.grant, k.message, e.hash[:], e.status, e.body, e.at.UnixMilli()); err != nil {
		return fmt.Errorf("cic: record message %s: %w", k.message, err)
	}
	if audit != nil {
		if err := audit.writeTx(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cic: record message %s: %w", k.message, err)
	}
	m.bound.wrote(ctx, len(k.client)+len(k.grant)+len(k.message)+len(e.body)+64, e.at)
	if audit != nil {
		audit.written(ctx)
	}
	return nil
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
		m.memBytes -= idemCost(k, e)
		delete(m.mem, k)
	}
	// Compact the queue once its dead head is as long as its live tail.
	if m.head > 1024 && m.head*2 > len(m.order) {
		m.order = append(m.order[:0:0], m.order[m.head:]...)
		m.head = 0
	}
}

func (m *idempotency) load(ctx context.Context, k idemKey, now time.Time) (idemEntry, bool) {
	var e idemEntry
	var hash []byte
	var at int64
	err := m.db.QueryRowContext(ctx, `SELECT request_hash, status, response, created_at FROM message_ids
		WHERE client_id = ? AND grant_id = ? AND message_id = ?`, k.client, k.grant, k.message).Scan(&hash, &e.status, &e.body, &at)
	// An unreadable record counts as unknown, as after the window.
	if err != nil || now.Sub(time.UnixMilli(at)) >= m.window || len(hash) != len(e.hash) {
		return e, false
	}
	copy(e.hash[:], hash)
	e.at = time.UnixMilli(at)
	return e, true
}
