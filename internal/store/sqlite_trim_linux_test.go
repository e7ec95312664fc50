//go:build linux && (amd64 || arm64 || arm || 386 || loong64 || ppc64le || riscv64 || s390x)

package store

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"testing"
)

// anonKB is the process's resident anonymous memory (smaps_rollup).
func anonKB(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		t.Skipf("no smaps_rollup: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Anonymous:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no Anonymous line in smaps_rollup")
	return 0
}

// A burst through SQLite (here 16 MB of rows in an in-memory database,
// then closed) leaves the pages SQLite freed resident in libc's
// allocator; ReleaseMemory must hand them to the OS.
func TestReleaseMemoryGivesSQLitesFreedPagesBack(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE TABLE m(x BLOB)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 4000) INSERT INTO m SELECT randomblob(4000) FROM n",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := anonKB(t)
	if err := ReleaseMemory(); err != nil {
		t.Fatal(err)
	}
	after := anonKB(t)
	t.Logf("anonymous resident memory %d kB -> %d kB", before, after)
	if before-after < 2048 {
		t.Errorf("ReleaseMemory gave back %d kB after a 16 MB SQLite burst, want at least 2 MiB", before-after)
	}
}
