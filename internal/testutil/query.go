package testutil

import (
	"database/sql"
	"testing"
)

// Scan reads row into dest and fails the test on any error, so that a
// query that failed (a wrong table name, a locked database, NULL where a
// number was expected) cannot pass for a count of zero.
func Scan(t testing.TB, row *sql.Row, dest ...any) {
	t.Helper()
	if err := row.Scan(dest...); err != nil {
		t.Fatalf("query: %v", err)
	}
}
