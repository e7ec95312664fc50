package cic

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// auditLog records every Control: who asked (partner, user), which device,
// what was requested, and how it ended. Commands naming a device the
// partner may not see leave one compact row per message, without their
// ids: what a partner can make the hub write for nothing stays small. The
// table is kept within an age and a size (api.audit_max_age,
// api.audit_max_bytes), oldest rows first.
type auditLog struct {
	db    *sql.DB
	bound *tableBound
}

// Defaults of the audit retention: 30 days, 2 MiB (some 10,000 commands).
const (
	DefaultAuditMaxAge   = 30 * 24 * time.Hour
	DefaultAuditMaxBytes = 2 << 20
)

// Bounds of one audit row's free-form columns.
const (
	maxAuditProps   = 1024
	maxAuditMessage = 300
)

func newAuditLog(db *sql.DB, maxAge time.Duration, maxBytes int64) *auditLog {
	return &auditLog{db: db, bound: &tableBound{db: db, table: "audit", timeCol: "at", orderCol: "id",
		sizeExpr: "length(client_id) + length(user_id) + length(device_id) + length(properties) + length(result) + length(message) + 32",
		maxAge:   maxAge, maxBytes: maxBytes}}
}

// auditRows are one message's audit rows, ready to be written: on their
// own (record), or in the transaction that remembers the message for
// idempotency (one write lock and one commit per Control instead of two;
// see idempotency.finish).
type auditRows struct {
	a    *auditLog
	c    Caller
	rows []auditRow
	at   time.Time
	size int
}

type auditRow struct{ device, props, result, message string }

const auditInsert = `INSERT INTO audit (at, client_id, user_id, device_id, properties, result, message) VALUES (?, ?, ?, ?, ?, ?, ?)`

// rowsFor prepares the commands' outcomes. visible[i] tells whether
// command i named a device the caller may see.
func (a *auditLog) rowsFor(c Caller, cmds []Command, results []ControlResult, visible []bool, at time.Time) *auditRows {
	r := &auditRows{a: a, c: c, at: at}
	unseen := 0
	for i, cmd := range cmds {
		if !visible[i] {
			unseen++
			continue
		}
		result := "OK"
		if results[i].ErrorCode != "" {
			result = string(results[i].ErrorCode)
		}
		r.rows = append(r.rows, auditRow{cmd.DeviceID, auditProps(cmd), result, truncate(results[i].Message, maxAuditMessage)})
	}
	if unseen > 0 {
		r.rows = append(r.rows, auditRow{"", "{}", "DEVICE_NOT_FOUND",
			strconv.Itoa(unseen) + " command(s) named no device visible to the partner"})
	}
	for _, row := range r.rows {
		r.size += len(c.ClientID) + len(c.UserID) + len(row.device) + len(row.props) + len(row.result) + len(row.message) + 32
	}
	return r
}

// record writes the commands' outcomes in one transaction (one flash write
// per message, not per command).
func (a *auditLog) record(ctx context.Context, c Caller, cmds []Command, results []ControlResult, visible []bool, at time.Time) {
	a.rowsFor(c, cmds, results, visible, at).write(ctx)
}

// write writes the rows on their own.
func (r *auditRows) write(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	if len(r.rows) == 1 {
		// The common case, one command: no transaction round trips.
		row := r.rows[0]
		if _, err := r.a.db.ExecContext(ctx, auditInsert, r.at.UnixMilli(), r.c.ClientID, r.c.UserID,
			row.device, row.props, row.result, row.message); err == nil {
			r.written(ctx)
		}
		return
	}
	tx, err := r.a.db.BeginTx(ctx, nil)
	if err != nil {
		return
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if r.writeTx(ctx, tx) != nil {
		return
	}
	if tx.Commit() == nil {
		r.written(ctx)
	}
}

// writeTx writes the rows in tx; call written after tx committed.
func (r *auditRows) writeTx(ctx context.Context, tx *sql.Tx) error {
	for _, row := range r.rows {
		if _, err := tx.ExecContext(ctx, auditInsert, r.at.UnixMilli(), r.c.ClientID, r.c.UserID,
			row.device, row.props, row.result, row.message); err != nil {
			return fmt.Errorf("cic: audit: %w", err)
		}
	}
	return nil
}

// written accounts the committed rows against the table's bound.
func (r *auditRows) written(ctx context.Context) { r.a.bound.wrote(ctx, r.size, r.at) }

// auditProps is the command's properties as JSON, or a summary when they
// would take more than maxAuditProps bytes.
func auditProps(cmd Command) string {
	b, _ := json.Marshal(cmd.Properties) // device.Value always marshals
	if len(b) <= maxAuditProps {
		return string(b)
	}
	return fmt.Sprintf(`{"truncated":true,"properties":%d,"bytes":%d}`, len(cmd.Properties), len(b))
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
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
