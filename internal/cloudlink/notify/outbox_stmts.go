package notify

import (
	"context"
	"database/sql"
	"fmt"
)

// memStmts are the memory outbox's statements that run for every state
// batch and every delivery round, prepared once: with a partner's events
// delivered 100 to a POST, a window of changes on 1,000 devices for 3
// partners is 30 rounds, and parsing their SQL each time was a tenth of
// the notifier's CPU. The memory outbox has one connection, which it
// never closes, so they stay prepared on it.
type memStmts struct {
	insert  *sql.Stmt // insertChunk events; used through the appending transaction
	batch   *sql.Stmt // a subscription's oldest events
	nextSub *sql.Stmt // the next subscription with events, after one
	ack     *sql.Stmt // a delivered run of one subscription's events
}

func prepareMemStmts(ctx context.Context, mem *sql.DB) (*memStmts, error) {
	var s memStmts
	for _, p := range []struct {
		to  **sql.Stmt
		sql string
	}{
		{&s.insert, insertOutboxSQL(insertChunk)},
		{&s.batch, `SELECT id, seq, name, payload FROM outbox
		WHERE client_id = ? AND subscription_id = ? ORDER BY seq LIMIT ?`},
		{&s.nextSub, `SELECT subscription_id FROM outbox WHERE client_id = ? AND subscription_id > ?
			ORDER BY subscription_id LIMIT 1`},
		{&s.ack, "DELETE FROM outbox WHERE client_id = ? AND subscription_id = ? AND seq BETWEEN ? AND ?"},
	} {
		st, err := mem.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, fmt.Errorf("notify: memory outbox: %w", err)
		}
		*p.to = st
	}
	return &s, nil
}
