package cic

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// auditLog records every Control: who asked (partner, user), which device,
// what was requested, and how it ended.
type auditLog struct{ db *sql.DB }

func (a *auditLog) record(ctx context.Context, c Caller, cmds []Command, results []ControlResult, at time.Time) {
	ctx = context.WithoutCancel(ctx)
	for i, cmd := range cmds {
		props, _ := json.Marshal(cmd.Properties) // device.Value always marshals
		result := "OK"
		if results[i].ErrorCode != "" {
			result = string(results[i].ErrorCode)
		}
		_, _ = a.db.ExecContext(ctx, `INSERT INTO audit (at, client_id, user_id, device_id, properties, result, message)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, at.UnixMilli(), c.ClientID, c.UserID, cmd.DeviceID, string(props), result, results[i].Message)
	}
}

// AuditEntry is one recorded command.
type AuditEntry struct {
	At         int64           `json:"at"`
	ClientID   string          `json:"clientId"`
	UserID     string          `json:"userId"`
	DeviceID   string          `json:"deviceId"`
	Properties json.RawMessage `json:"properties"`
	Result     string          `json:"result"`
	Message    string          `json:"message,omitempty"`
}

// ReadAudit returns the entries since the given time, oldest first (at most
// limit).
func ReadAudit(ctx context.Context, db *sql.DB, since time.Time, limit int) ([]AuditEntry, error) {
	rows, err := db.QueryContext(ctx, `SELECT at, client_id, user_id, device_id, properties, result, message
		FROM audit WHERE at >= ? ORDER BY at, id LIMIT ?`, since.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("cic: read audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var props string
		if err := rows.Scan(&e.At, &e.ClientID, &e.UserID, &e.DeviceID, &props, &e.Result, &e.Message); err != nil {
			return nil, fmt.Errorf("cic: read audit: %w", err)
		}
		e.Properties = json.RawMessage(props)
		out = append(out, e)
	}
	return out, rows.Err()
}
