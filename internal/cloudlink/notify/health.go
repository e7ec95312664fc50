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
