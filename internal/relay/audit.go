package relay

import (
	"context"
	"fmt"
	"time"
)

// AuditEntry is one relay command or enrollment, as kept in the registry.
type AuditEntry struct {
	At      time.Time `json:"at"`
	Relay   string    `json:"relay"`
	Actor   string    `json:"actor"`   // OS user of a CLI command, or "http:<address>"
	Action  string    `json:"action"`  // token.create, enroll, leave, remove, hubs, serve.start, ...
	Subject string    `json:"subject"` // hub id, token id, count...
	Result  string    `json:"result"`  // "ok" or the refusal
}

// maxAuditField bounds what one audit field may hold.
const maxAuditField = 300

func clip(s string) string {
	if len(s) > maxAuditField {
		return s[:maxAuditField]
	}
	return s
}

// Audit records one action. Secrets never go in: tokens appear by TokenID.
func (r *Registry) Audit(ctx context.Context, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = r.clock()
	}
	_, err := r.db.ExecContext(ctx, r.q(`INSERT INTO relay_audit (at, relay, actor, action, subject, result) VALUES (?, ?, ?, ?, ?, ?)`),
		e.At.UnixMilli(), clip(e.Relay), clip(e.Actor), clip(e.Action), clip(e.Subject), clip(e.Result))
	if err != nil {
		return fmt.Errorf("relay: audit: %w", err)
	}
	return nil
}

// AuditLog returns entries since from, oldest first, at most limit.
func (r *Registry) AuditLog(ctx context.Context, from time.Time, limit int) ([]AuditEntry, error) {
	rows, err := r.db.QueryContext(ctx, r.q(`SELECT at, relay, actor, action, subject, result FROM relay_audit
		WHERE at >= ? ORDER BY at LIMIT ?`), from.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("relay: audit log: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Relay, &e.Actor, &e.Action, &e.Subject, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
