// Package relay is the relay side of remote access: the registry of hubs
// (SQLite for one relay, PostgreSQL shared by a fleet), one-time enrollment
// tokens, port allocation, the enrollment HTTP service, the key lookup sshd
// runs (AuthorizedKeysCommand), and the nginx map kept in step with the
// registry.
package relay

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // SQLite driver "sqlite"
)

// SQLiteFile is the registry's file name in the relay's data directory.
const SQLiteFile = "relay.db"

// Registry is the relays' shared record of hubs, tokens and audit.
type Registry struct {
	db       *sql.DB
	postgres bool
	clock    func() time.Time
}

// ErrNoSuchHub is returned for a hub id the registry does not hold.
var ErrNoSuchHub = errors.New("relay: no such hub")

// Open opens the registry named by dsn: a postgres:// or postgresql:// URL
// for a fleet's shared PostgreSQL database, else the path of a SQLite file
// (made with mode 0600). The schema is created when missing.
func Open(ctx context.Context, dsn string) (*Registry, error) {
	r := &Registry{clock: time.Now}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if !postgresBuilt {
			return nil, errors.New("relay: this hubagent was built without PostgreSQL support (build tag nopostgres); use a SQLite registry or the standard build")
		}
		r.postgres = true
		r.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("relay: registry: %w", err)
		}
		r.db.SetMaxOpenConns(8)
	} else {
		path := strings.TrimPrefix(dsn, "sqlite:")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("relay: registry %s: %w", path, err)
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("relay: registry %s: %w", path, err)
		}
		f.Close()
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		r.db, err = sql.Open("sqlite", "file:"+filepath.ToSlash(path)+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("relay: registry %s: %w", path, err)
		}
		r.db.SetMaxOpenConns(4)
	}
	if err := r.migrate(ctx); err != nil {
		r.db.Close()
		return nil, err
	}
	return r, nil
}

// Close closes the registry.
func (r *Registry) Close() error { return r.db.Close() }

// SetClock replaces the clock (tests).
func (r *Registry) SetClock(now func() time.Time) { r.clock = now }

// The schema is plain SQL both databases accept. Times are unix
// milliseconds. A removed hub keeps its row (key dropped) for a quarantine
// period, so its port is not handed to another hub while the old session
// may still hold it.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS relay_tokens (
		hash TEXT PRIMARY KEY,
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		used_at BIGINT,
		used_by TEXT)`,
	`CREATE TABLE IF NOT EXISTS relay_relays (
		name TEXT PRIMARY KEY,
		ssh_addr TEXT NOT NULL,
		ssh_user TEXT NOT NULL,
		host_key TEXT NOT NULL,
		domain TEXT NOT NULL,
		ports TEXT NOT NULL,
		gen BIGINT NOT NULL DEFAULT 0,
		seen_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS relay_hubs (
		id TEXT PRIMARY KEY,
		key_blob TEXT UNIQUE,
		relay TEXT NOT NULL,
		port INTEGER NOT NULL,
		public_name TEXT NOT NULL,
		enrolled_at BIGINT NOT NULL,
		removed_at BIGINT,
		UNIQUE (relay, port))`,
	`CREATE TABLE IF NOT EXISTS relay_audit (
		at BIGINT NOT NULL,
		relay TEXT NOT NULL,
		actor TEXT NOT NULL,
		action TEXT NOT NULL,
		subject TEXT NOT NULL,
		result TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS relay_audit_at ON relay_audit (at)`,
}

func (r *Registry) migrate(ctx context.Context) error {
	for _, s := range schema {
		if _, err := r.db.ExecContext(ctx, s); err != nil {
			// Two relays starting at once on an empty PostgreSQL race on
			// CREATE ... IF NOT EXISTS; the loser sees a unique violation.
			if isUnique(err) {
				continue
			}
			return fmt.Errorf("relay: registry schema: %w", err)
		}
	}
	return nil
}

// q rewrites ? placeholders to $n for PostgreSQL.
func (r *Registry) q(query string) string {
	if !r.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// isUnique says whether err is a unique-constraint violation.
func isUnique(err error) bool {
	if pgUnique(err) {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// tx runs f in a transaction, committing when it returns nil.
func (r *Registry) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("relay: registry: begin: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("relay: registry: commit: %w", err)
	}
	return nil
}

func (r *Registry) nowMs() int64 { return r.clock().UnixMilli() }
