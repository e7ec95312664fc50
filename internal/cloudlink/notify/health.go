package notify

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Health is a partner's delivery state, for `partner list`, the status page
// and metrics.
type Health struct {
	Backlog       int       `json:"backlog"`
	OldestPending time.Time `json:"oldestPending,omitzero"`
	LastAttempt   time.Time `json:"lastAttempt,omitzero"`
	LastSuccess   time.Time `json:"lastSuccess,omitzero"`
	LastResult    string    `json:"lastResult,omitempty"`
	Failures      int       `json:"consecutiveFailures"`
	Dropped       int       `json:"dropped"`
	NeedsRelink   bool      `json:"needsRelink"`
}

// PartnerHealth reads every partner's delivery state from the database
// (it works with the agent stopped too), keyed by client id.
func PartnerHealth(ctx context.Context, db *sql.DB) (map[string]Health, error) {
	out := map[string]Health{}
	rows, err := db.QueryContext(ctx, "SELECT client_id, count(*), min(created_at) FROM outbox GROUP BY client_id")
	if err != nil {
		return nil, fmt.Errorf("notify: backlog: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		var oldest int64
		if err := rows.Scan(&id, &n, &oldest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("notify: backlog: %w", err)
		}
		out[id] = Health{Backlog: n, OldestPending: time.UnixMilli(oldest)}
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT client_id, last_attempt_at, last_success_at, last_result, failures, dropped, needs_relink
		FROM partner_delivery`)
	if err != nil {
		return nil, fmt.Errorf("notify: delivery health: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var attempt, success int64
		var h Health
		if err := rows.Scan(&id, &attempt, &success, &h.LastResult, &h.Failures, &h.Dropped, &h.NeedsRelink); err != nil {
			return nil, fmt.Errorf("notify: delivery health: %w", err)
		}
		cur := out[id]
		h.Backlog, h.OldestPending = cur.Backlog, cur.OldestPending
		if attempt > 0 {
			h.LastAttempt = time.UnixMilli(attempt)
		}
		if success > 0 {
			h.LastSuccess = time.UnixMilli(success)
		}
		out[id] = h
	}
	return out, rows.Err()
}

// PartnerHealth is PartnerHealth of the running notifier: the backlog
// comes from the memory outbox it delivers from, and successes not yet
// flushed count, so the status page is current between flushes.
func (n *Notifier) PartnerHealth(ctx context.Context) (map[string]Health, error) {
	out, err := PartnerHealth(ctx, n.db)
	if err != nil {
		return nil, err
	}
	for id, h := range out {
		h.Backlog, h.OldestPending = 0, time.Time{}
		out[id] = h
	}
	rows, err := n.mem.QueryContext(ctx, "SELECT client_id, count(*), min(created_at) FROM outbox GROUP BY client_id")
	if err != nil {
		return nil, fmt.Errorf("notify: backlog: %w", err)
	}
	for rows.Next() {
		var id string
		var k int
		var oldest int64
		if err := rows.Scan(&id, &k, &oldest); err != nil {
			rows.Close()
			return nil, fmt.Errorf("notify: backlog: %w", err)
		}
		h := out[id]
		h.Backlog, h.OldestPending = k, time.UnixMilli(oldest)
		out[id] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify: backlog: %w", err)
	}
	n.healthMu.Lock()
	for id, ok := range n.okSince {
		if h, found := out[id]; found && h.LastResult == "ok" {
			h.LastAttempt, h.LastSuccess = time.UnixMilli(max(ok.at, h.LastAttempt.UnixMilli())), time.UnixMilli(ok.at)
			out[id] = h
		}
	}
	n.healthMu.Unlock()
	return out, nil
}
