package notify

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hubagent/hubagent/internal/store"
)

// seqReserve is how many sequence numbers of a subscription are reserved in
// subscriptions.next_seq ahead of use. The memory outbox numbers events
// without a write each; the durable next_seq stays at or above every number
// handed out, so after a power cut numbering resumes past anything a
// partner may have seen (a gap, which tells the partner to resynchronise
// with QueryStatus), never below it. A graceful stop writes the exact next
// number: no gap.
const seqReserve = 10000

// seqState is one subscription's sequence allocator.
type seqState struct {
	next     int64 // the next number to hand out
	reserved int64 // durable next_seq: numbers below it may be handed out
	staged   int64 // reservation written by the transaction in flight
}

// reserve makes sure the reservations of the subscriptions in rows cover
// their events, writing more in the database where one is used up (a write
// every seqReserve events at most; the flushes renew them before that).
// It runs before the memory outbox's transaction, so no database write
// waits while the memory outbox is held; appendMu keeps appenders apart.
func (n *Notifier) reserve(ctx context.Context, rows []outboxRow) error {
	need := map[*activeSub]int64{}
	for _, r := range rows {
		need[r.sub]++
	}
	n.seqMu.Lock()
	defer n.seqMu.Unlock()
	for s, k := range need {
		st := n.seqs[s.id]
		if st == nil {
			var top sql.NullInt64
			if err := n.mem.QueryRowContext(ctx, "SELECT max(seq) FROM outbox WHERE subscription_id = ?", s.id).Scan(&top); err != nil {
				return fmt.Errorf("notify: sequence: %w", err)
			}
			st = &seqState{next: max(s.nextSeq, top.Int64+1), reserved: s.nextSeq}
			n.seqs[s.id] = st
		}
		if st.next+k > st.reserved {
			res := st.next + k + seqReserve
			if _, err := n.db.ExecContext(ctx, "UPDATE subscriptions SET next_seq = max(next_seq, ?) WHERE id = ?", res, s.id); err != nil {
				return fmt.Errorf("notify: reserve sequence numbers: %w", err)
			}
			st.reserved = res
		}
	}
	return nil
}

// nextSeq hands out s's next sequence number (reserve ran first).
func (n *Notifier) nextSeq(s *activeSub) int64 {
	n.seqMu.Lock()
	defer n.seqMu.Unlock()
	st := n.seqs[s.id]
	st.next++
	return st.next - 1
}

// persistTx is the state writer's transaction hook: it makes the memory
// outbox's unacknowledged events, the sequence reservations and the
// partners' delivery health durable with the state.
func (n *Notifier) persistTx(ctx context.Context, tx *sql.Tx, _ []store.Change) error {
	n.persistMu.Lock()
	defer n.persistMu.Unlock()
	n.dirty.Store(false)
	n.resetInFlight()
	rows, err := n.mem.QueryContext(ctx, `SELECT id, subscription_id, client_id, seq, name, payload, created_at
		FROM outbox WHERE persisted = 0 ORDER BY id`)
	if err != nil {
		return fmt.Errorf("notify: persist outbox: %w", err)
	}
	for rows.Next() {
		var r persistedRow
		if err := rows.Scan(&r.id, &r.sub, &r.client, &r.seq, &r.name, &r.payload, &r.created); err != nil {
			rows.Close()
			return fmt.Errorf("notify: persist outbox: %w", err)
		}
		n.inFlight = append(n.inFlight, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("notify: persist outbox: %w", err)
	}
	if len(n.inFlight) > 0 {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO outbox (subscription_id, client_id, seq, name, payload, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("notify: persist outbox: %w", err)
		}
		defer ins.Close()
		for _, r := range n.inFlight {
			if _, err := ins.ExecContext(ctx, r.sub, r.client, r.seq, r.name, r.payload, r.created); err != nil {
				return fmt.Errorf("notify: persist outbox: %w", err)
			}
		}
	}
	if err := n.persistGone(ctx, tx); err != nil {
		return err
	}
	if err := n.persistSeqs(ctx, tx); err != nil {
		return err
	}
	return n.persistHealth(ctx, tx)
}

type persistedRow struct {
	id, seq, created  int64
	sub, client, name string
	payload           []byte
}

// persistGone deletes the durable copies of events acknowledged, expired
// or trimmed since the last flush.
func (n *Notifier) persistGone(ctx context.Context, tx *sql.Tx) error {
	n.goneTop = 0
	rows, err := n.mem.QueryContext(ctx, "SELECT rowid, client_id, subscription_id, seq FROM gone ORDER BY rowid")
	if err != nil {
		return fmt.Errorf("notify: persist acknowledgements: %w", err)
	}
	type key struct {
		client, sub string
		seq         int64
	}
	var gone []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&n.goneTop, &k.client, &k.sub, &k.seq); err != nil {
			rows.Close()
			return fmt.Errorf("notify: persist acknowledgements: %w", err)
		}
		gone = append(gone, k)
	}
	rows.Close()
	if len(gone) == 0 {
		return rows.Err()
	}
	del, err := tx.PrepareContext(ctx, "DELETE FROM outbox WHERE client_id = ? AND subscription_id = ? AND seq = ?")
	if err != nil {
		return fmt.Errorf("notify: persist acknowledgements: %w", err)
	}
	defer del.Close()
	for _, k := range gone {
		if _, err := del.ExecContext(ctx, k.client, k.sub, k.seq); err != nil {
			return fmt.Errorf("notify: persist acknowledgements: %w", err)
		}
	}
	return nil
}

// persistSeqs renews reservations more than half used; at a graceful stop
// (exact) it writes every subscription's exact next number instead.
func (n *Notifier) persistSeqs(ctx context.Context, tx *sql.Tx) error {
	n.seqMu.Lock()
	defer n.seqMu.Unlock()
	exact := n.final.Load()
	for id, st := range n.seqs {
		st.staged = 0
		var q string
		var v int64
		switch {
		case exact:
			q, v = "UPDATE subscriptions SET next_seq = ? WHERE id = ?", st.next
		case st.reserved-st.next < seqReserve/2:
			q, v = "UPDATE subscriptions SET next_seq = max(next_seq, ?) WHERE id = ?", st.next+seqReserve
		default:
			continue
		}
		if _, err := tx.ExecContext(ctx, q, v, id); err != nil {
			return fmt.Errorf("notify: persist sequence: %w", err)
		}
		st.staged = v
	}
	return nil
}

// persistDone follows the writer's commit: the events written are marked
// durable (those acknowledged meanwhile are noted gone, so the next flush
// deletes their copies), the deletions done are forgotten.
func (n *Notifier) persistDone(err error) {
	n.persistMu.Lock()
	defer n.persistMu.Unlock()
	ctx := context.Background()
	if err != nil {
		n.dirty.Store(true)
		return
	}
	n.seqMu.Lock()
	for _, st := range n.seqs {
		if st.staged != 0 {
			st.reserved, st.staged = st.staged, 0
		}
	}
	n.seqMu.Unlock()
	n.healthMu.Lock()
	for c, h := range n.okSince {
		if h.written {
			delete(n.okSince, c)
		}
	}
	n.healthMu.Unlock()
	if err := n.markPersisted(ctx); err != nil {
		// The memory outbox failing is a bug, not the disk: the next
		// flush writes the rows again (a duplicate delivery at worst).
		n.log.Error("notify: mark events durable", "err", err)
		n.dirty.Store(true)
	}
}

func (n *Notifier) markPersisted(ctx context.Context) error {
	tx, err := n.mem.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	for _, r := range n.inFlight {
		res, err := tx.ExecContext(ctx, "UPDATE outbox SET persisted = 1 WHERE id = ?", r.id)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k == 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO gone VALUES (?, ?, ?)", r.client, r.sub, r.seq); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM gone WHERE rowid <= ?", n.goneTop); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	n.persisted.Add(uint64(len(n.inFlight)))
	n.resetInFlight()
	return nil
}

// resetInFlight empties inFlight without keeping its rows' payloads alive
// in the spare capacity, and gives a burst-sized slice back: the start-up
// burst's events (one per device for every partner) were otherwise kept,
// with their payloads, until the next burst as big.
func (n *Notifier) resetInFlight() {
	if cap(n.inFlight) > 256 {
		n.inFlight = nil
		return
	}
	clear(n.inFlight)
	n.inFlight = n.inFlight[:0]
}

// writerDirty tells the state writer an interval should commit even with no
// state pending: events appended, acknowledged or dropped, health changed.
func (n *Notifier) writerDirty() bool {
	if n.dirty.Load() || n.final.Load() {
		return true
	}
	n.healthMu.Lock()
	defer n.healthMu.Unlock()
	return len(n.okSince) > 0
}

// okHealth is a partner's successful deliveries since the last flush.
type okHealth struct {
	at      int64 // last success, Unix ms
	written bool  // by the transaction in flight
}

// noteSuccess records a success after a success: written at the next
// flush, not per POST.
func (n *Notifier) noteSuccess(client string, at time.Time) {
	n.healthMu.Lock()
	n.okSince[client] = &okHealth{at: at.UnixMilli()}
	n.healthMu.Unlock()
}

func (n *Notifier) persistHealth(ctx context.Context, tx *sql.Tx) error {
	n.healthMu.Lock()
	defer n.healthMu.Unlock()
	for c, h := range n.okSince {
		if _, err := tx.ExecContext(ctx, `UPDATE partner_delivery SET last_attempt_at = max(last_attempt_at, ?),
			last_success_at = max(last_success_at, ?) WHERE client_id = ? AND last_result = 'ok'`, h.at, h.at, c); err != nil {
			return fmt.Errorf("notify: persist delivery health: %w", err)
		}
		h.written = true
	}
	return nil
}

// finish makes everything durable at a graceful stop: no new events are
// taken, then one last transaction writes the undelivered events and the
// exact sequence numbers.
func (n *Notifier) finish() {
	n.hub.SetWriterHooks(store.Hooks{Tx: n.persistTx, Done: n.persistDone, Dirty: n.writerDirty})
	defer n.hub.SetWriterHooks(store.Hooks{})
	n.final.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.hub.Flush(ctx); err != nil {
		n.log.Error("notify: persist undelivered events at stop", "err", err)
	}
}
