package cic

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// tableBound keeps one append-mostly table (audit, message_ids) within an
// age and a total size, so what partners make the hub write to flash is
// bounded whatever they send. The size is the sum of the rows' column
// lengths (sizeExpr), a close proxy of their bytes on disk.
type tableBound struct {
	db      *sql.DB
	table   string // trusted constant
	timeCol string // milliseconds since the epoch
	// orderCol orders rows oldest first for the size bound; a unique
	// column (audit's id) keeps rows written in the same millisecond
	// apart, else rows tied with the newest one to go go with it.
	orderCol string
	sizeExpr string // SQL expression of one row's bytes
	maxAge   time.Duration
	maxBytes int64

	mu        sync.Mutex // one prune at a time
	added     atomic.Int64
	lastPrune atomic.Int64 // unix ms
	pruned    atomic.Uint64
}

// wrote notes n bytes written and prunes once the writes since the last
// prune reach a sixteenth of the bound, or a minute has passed: the table
// never grows much past its bound, and a prune (a scan of a bounded table)
// runs rarely.
func (b *tableBound) wrote(ctx context.Context, n int, now time.Time) {
	added := b.added.Add(int64(n))
	if added < b.maxBytes/16 && now.UnixMilli()-b.lastPrune.Load() < time.Minute.Milliseconds() {
		return
	}
	if !b.mu.TryLock() {
		return // another request is pruning
	}
	defer b.mu.Unlock()
	b.added.Store(0)
	b.lastPrune.Store(now.UnixMilli())
	if _, err := b.prune(context.WithoutCancel(ctx), now); err != nil {
		// The next write retries; the bound is overshot by at most one
		// sixteenth per failed prune.
		b.lastPrune.Store(0)
	}
}

// prune deletes rows older than maxAge, then the oldest rows until the
// rest fit in maxBytes. It returns how many rows went.
func (b *tableBound) prune(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	res, err := b.db.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s < ?", b.table, b.timeCol),
		now.Add(-b.maxAge).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("cic: prune %s by age: %w", b.table, err)
	}
	k, _ := res.RowsAffected()
	total += k
	// The newest rows whose running total fits stay; every row at or
	// before the newest one that does not fit goes.
	res, err = b.db.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE %[2]s <= (
		SELECT max(%[2]s) FROM (SELECT %[2]s, sum(%[3]s) OVER (ORDER BY %[2]s DESC ROWS UNBOUNDED PRECEDING) AS cum FROM %[1]s)
		WHERE cum > ?)`, b.table, b.orderCol, b.sizeExpr), b.maxBytes)
	if err != nil {
		return total, fmt.Errorf("cic: prune %s by size: %w", b.table, err)
	}
	k, _ = res.RowsAffected()
	total += k
	b.pruned.Add(uint64(total))
	return total, nil
}

// bytes is the table's current size by sizeExpr.
func (b *tableBound) bytes(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := b.db.QueryRowContext(ctx, fmt.Sprintf("SELECT sum(%s) FROM %s", b.sizeExpr, b.table)).Scan(&n)
	return n.Int64, err
}
