package notify

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The outbox is bounded per partner (Options.MaxPendingPerPartner): past
// the bound the partner's oldest events are dropped and counted, as events
// past max_age are. Refusing is not an option: the events stand for
// changes that already happened in the home, and the state writer must
// not stall because a partner is away. A partner that sees a gap in a
// subscription's sequence resynchronises with QueryStatus, which the
// newest events (kept) make cheap.
//
// The count per partner is kept in memory, so the state writer's hook costs
// no query while a partner is within its bound; it is learnt with one
// count the first time, adjusted on inserts and acknowledgements, and
// recounted exactly whenever it says the bound is passed. A trim goes down
// to nine tenths of the bound, so a partner that stays away costs one trim
// per tenth of the bound in events, not one per state batch; trims scan the
// partner's rows (no extra index on the outbox: every event would pay for
// it in flash writes).

// boundOutbox accounts for rows just inserted in tx and trims the partners
// they took past the bound.
func (n *Notifier) boundOutbox(ctx context.Context, tx *sql.Tx, rows []outboxRow) error {
	if len(rows) == 0 {
		return nil
	}
	per := map[string]int{}
	for _, r := range rows {
		per[r.sub.clientID]++
	}
	limit := n.opts.MaxPendingPerPartner
	n.pendMu.Lock()
	defer n.pendMu.Unlock()
	for client, k := range per {
		c, known := n.pending[client]
		if known {
			c += k
		} else if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM outbox WHERE client_id = ?", client).Scan(&c); err != nil {
			return fmt.Errorf("notify: count outbox: %w", err)
		}
		if c > limit {
			dropped, left, err := trimOutbox(ctx, tx, client, limit*9/10)
			if err != nil {
				return err
			}
			c = left
			if dropped > 0 {
				n.countDropped(ctx, client, dropped)
			}
		}
		n.pending[client] = c
	}
	return nil
}

// trimOutbox deletes a partner's oldest events beyond keep (its
// AccountUnlinked events, the last word of a subscription, stay) and
// returns how many went and how many are left.
func trimOutbox(ctx context.Context, tx *sql.Tx, client string, keep int) (int, int, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE client_id = ? AND name != ? AND id <= (
		SELECT id FROM outbox WHERE client_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		client, EventAccountUnlinked, client, keep)
	if err != nil {
		return 0, 0, fmt.Errorf("notify: trim outbox: %w", err)
	}
	k, _ := res.RowsAffected()
	var left int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM outbox WHERE client_id = ?", client).Scan(&left); err != nil {
		return 0, 0, fmt.Errorf("notify: count outbox: %w", err)
	}
	return int(k), left, nil
}

// countDropped adds to the partner's dropped counter (partner list, status
// page, metric) and logs, at most once a minute per partner. tx is the
// memory outbox's; the counter is durable at once (a trim is rare: once
// per tenth of the bound in events).
func (n *Notifier) countDropped(ctx context.Context, client string, k int) {
	n.db.ExecContext(ctx, `INSERT INTO partner_delivery (client_id, dropped) VALUES (?, ?)
		ON CONFLICT(client_id) DO UPDATE SET dropped = partner_delivery.dropped + excluded.dropped`, client, k) //nolint:errcheck // a counter
	n.dropped.Add(uint64(k))
	if time.Since(n.trimLog[client]) > time.Minute {
		n.trimLog[client] = time.Now()
		n.log.Warn("notify: partner's undelivered events past notify.max_pending_per_partner; oldest dropped",
			"partner", client, "dropped", k, "max_pending_per_partner", n.opts.MaxPendingPerPartner)
	}
}

// pendingDone lowers a partner's count by k acknowledged or expired events.
func (n *Notifier) pendingDone(client string, k int) {
	n.pendMu.Lock()
	if c, ok := n.pending[client]; ok {
		n.pending[client] = max(0, c-k)
	}
	n.pendMu.Unlock()
}

// forgetPending drops a partner's count after deletions not counted one by
// one (an unsubscription, a gone subscription); the next insert recounts.
func (n *Notifier) forgetPending(client string) {
	n.pendMu.Lock()
	delete(n.pending, client)
	n.pendMu.Unlock()
}
