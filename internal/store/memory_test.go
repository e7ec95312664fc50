package store

import (
	"context"
	"path/filepath"
	"testing"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite enforces a soft heap limit only when it counts its allocations
// (SQLITE_CONFIG_MEMSTATUS). modernc's build turns the count off, so a
// soft_heap_limit pragma would be a no-op and the store does not set one;
// the page cache size per connection is the bound. If a modernc release
// turns the count on, this fails: then a limit would work, and be worth
// setting.
func TestSQLiteKeepsNoHeapCountSoASoftHeapLimitWouldBeANoOp(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), FileName), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.db.ExecContext(ctx, "CREATE TABLE m(x BLOB)"); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if _, err := s.db.ExecContext(ctx, "INSERT INTO m VALUES (randomblob(4000))"); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM m WHERE length(x) = 4000").Scan(&n); err != nil || n != 200 {
		t.Fatalf("count %d, %v", n, err)
	}
	tls := libc.NewTLS()
	defer tls.Close()
	if used := sqlite3.Xsqlite3_memory_used(tls); used != 0 {
		t.Fatalf("sqlite3_memory_used = %d with 200 pages written: SQLite counts its heap now, so soft_heap_limit would work; consider setting it in Open", used)
	}
}
