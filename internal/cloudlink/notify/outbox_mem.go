package notify

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The outbox the workers deliver from lives in memory: an in-memory SQLite
// database with the durable table's columns plus `persisted`. Events are
// appended to it as the state writer publishes each window's batch, and a
// healthy partner acknowledges them before they ever reach flash. The
// state writer's transactions (every store.flush_interval, on Flush and
// at shutdown) copy the events not yet acknowledged into the durable
// `outbox` table and delete the durable copies of those acknowledged,
// expired or trimmed since (the trigger below notes them in `gone`), so a
// partner down for an hour still gets its events after a restart, and
// deliveries cost no write each. At start the durable rows are loaded back.
//
// One connection: ":memory:" is private to its connection, and every use
// is short (no statement runs while another's rows are open on it).
//
// auto_vacuum FULL (set before the first table) gives the pages of
// delivered events back at each commit: without it an in-memory database
// keeps its largest size in its free list for good, and a burst (every
// device's first state to every partner at start) stayed resident as
// several MB outside Go.
//
// The flush finds the rows not yet persisted by scanning the table (in
// memory: a few thousand rows while partners keep up, MaxPendingPerPartner
// per partner at worst, once per flush_interval) rather than through a
// partial index, which every event paid for twice, at its insert and at
// its acknowledgement.
const memSchema = `
PRAGMA auto_vacuum = FULL;
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	subscription_id TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	name            TEXT NOT NULL,
	payload         BLOB NOT NULL,
	created_at      INTEGER NOT NULL,
	persisted       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_by_client ON outbox(client_id, subscription_id, seq);
CREATE TABLE gone (client_id TEXT NOT NULL, subscription_id TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TRIGGER outbox_gone AFTER DELETE ON outbox WHEN old.persisted = 1 BEGIN
	INSERT INTO gone VALUES (old.client_id, old.subscription_id, old.seq);
END;`

func openMemOutbox(ctx context.Context, durable *sql.DB) (*sql.DB, error) {
	mem, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, fmt.Errorf("notify: memory outbox: %w", err)
	}
	mem.SetMaxOpenConns(1)
	mem.SetMaxIdleConns(1)
	mem.SetConnMaxLifetime(0)
	mem.SetConnMaxIdleTime(0)
	if _, err := mem.ExecContext(ctx, memSchema); err != nil {
		mem.Close()
		return nil, fmt.Errorf("notify: memory outbox: %w", err)
	}
	if err := loadDurableOutbox(ctx, durable, mem); err != nil {
		mem.Close()
		return nil, err
	}
	return mem, nil
}

// loadDurableOutbox copies the events a previous run left undelivered.
func loadDurableOutbox(ctx context.Context, durable, mem *sql.DB) error {
	rows, err := durable.QueryContext(ctx, "SELECT subscription_id, client_id, seq, name, payload, created_at FROM outbox ORDER BY id")
	if err != nil {
		return fmt.Errorf("notify: load outbox: %w", err)
	}
	defer rows.Close()
	tx, err := mem.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("notify: load outbox: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	for rows.Next() {
		var sub, client, name string
		var seq, created int64
		var payload []byte
		if err := rows.Scan(&sub, &client, &seq, &name, &payload, &created); err != nil {
			return fmt.Errorf("notify: load outbox: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (subscription_id, client_id, seq, name, payload, created_at, persisted)
			VALUES (?, ?, ?, ?, ?, ?, 1)`, sub, client, seq, name, payload, created); err != nil {
			return fmt.Errorf("notify: load outbox: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("notify: load outbox: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("notify: load outbox: %w", err)
	}
	return nil
}

// insertMem appends events to the memory outbox, numbered by the
// subscriptions' sequence allocators.
func (n *Notifier) insertMem(ctx context.Context, tx *sql.Tx, rows []outboxRow) error {
	return insertOutbox(ctx, tx, n.memStmts.insert, rows, n.nextSeq)
}

// inMemTx runs fn with the live subscriptions, appends the events it
// returns to the memory outbox within the partners' bounds, and returns the
// partners that got events.
func (n *Notifier) inMemTx(ctx context.Context, what string, fn func(subs []*activeSub) ([]outboxRow, error)) (map[string]bool, error) {
	subs, err := loadActive(ctx, n.db, time.Now())
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	rows, err := fn(subs)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	n.appendMu.Lock()
	defer n.appendMu.Unlock()
	if err := n.reserve(ctx, rows); err != nil {
		return nil, err
	}
	tx, err := n.mem.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("notify: %s: %w", what, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := n.insertMem(ctx, tx, rows); err != nil {
		return nil, err
	}
	if err := n.boundOutbox(ctx, tx, rows); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("notify: %s: %w", what, err)
	}
	n.dirty.Store(true)
	clients := map[string]bool{}
	for _, r := range rows {
		clients[r.sub.clientID] = true
	}
	return clients, nil
}
