// Package store keeps the agent's state in SQLite (modernc.org/sqlite, pure
// Go): devices, their properties and last known state, and the hub's own
// identity. It runs in WAL mode with synchronous=NORMAL: a power cut may lose
// the last few hundred milliseconds of state, never the database.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database's name inside the data directory.
const FileName = "hubagent.db"

// Store is the agent's database.
type Store struct {
	db   *sql.DB
	path string
}

// Options tune Open.
type Options struct {
	// ReadOnly opens an existing database without creating or migrating it
	// (for CLI commands that read while no agent runs).
	ReadOnly bool
}

// ErrNotExist is returned by Open in ReadOnly mode when there is no database.
var ErrNotExist = errors.New("store: no database")

// Open opens (creating when needed, mode 0600) the database at path and
// applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w at %s", ErrNotExist, path)
		}
	} else {
		// Create the file ourselves so it is 0600 from the first byte; SQLite
		// gives its -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		f.Close()
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	// A small page cache per connection: the hub serves reads from its
	// registry, so SQLite mostly writes; its default 2 MB per connection
	// would be a tenth of a gateway's memory budget for little gain.
	q.Add("_pragma", "cache_size(-256)")
	// No soft_heap_limit: modernc's SQLite is built with
	// SQLITE_DEFAULT_MEMSTATUS=0, so SQLite keeps no count of its heap and
	// never enforces one (memory_test.go pins that). What bounds SQLite's
	// heap is this cache size times the four connections, plus each
	// connection's schema and prepared statements.
	if opts.ReadOnly {
		q.Add("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// After a checkpoint the WAL restarts from its beginning; a burst
		// (a first discovery, flush_interval 0) can leave it megabytes
		// long, which this cuts back to at the next restart: flash space
		// on a 16 MB router. The checkpoint policy itself is in
		// writer_checkpoint.go.
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
		q.Set("_txlock", "immediate")
	}
	dsn := "file:" + filepath.ToSlash(path) + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// As many idle connections as open ones: with database/sql's default of
	// two, a burst (state flush, notifier, a Control's idempotency write)
	// closed and reopened connections, each reopen parsing the schema again
	// on the request path. Idle ones still close after a minute.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	s := &Store{db: db, path: path}
	// The first query is where SQLite finds out whether the file is a
	// database at all; a damaged file is reported, never replaced.
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if !opts.ReadOnly {
		if _, err := migrate(ctx, db); err != nil {
			db.Close()
			return nil, fmt.Errorf("%w (database %s)", err, path)
		}
	} else {
		var v int
		if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		if v > SchemaVersion() {
			db.Close()
			return nil, fmt.Errorf("store: database %s has schema version %d, newer than this hubagent knows (%d)", path, v, SchemaVersion())
		}
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// DB exposes the handle for packages that keep their own tables in this
// database (OAuth grants, subscriptions, outbox).
func (s *Store) DB() *sql.DB { return s.db }

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict ("ok"
// when the database is sound).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return res, nil
}

// KV returns the value stored under key, and false when there is none.
func (s *Store) KV(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, "SELECT value FROM kv WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: get %s: %w", key, err)
	}
	return v, true, nil
}

// SetKV stores value under key.
func (s *Store) SetKV(ctx context.Context, key string, value []byte) error {
	_, err := s.db.ExecContext(ctx,
		"INSERT INTO kv(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value)
	if err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}

// HubID returns the hub's identity, made once at first start and kept for
// the life of the database (16 hex characters).
func (s *Store) HubID(ctx context.Context) (string, error) {
	if v, ok, err := s.KV(ctx, "hub_id"); err != nil || ok {
		return string(v), err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: make hub id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	// INSERT OR IGNORE then read back: two racing first starts agree.
	if _, err := s.db.ExecContext(ctx, "INSERT OR IGNORE INTO kv(key, value) VALUES('hub_id', ?)", []byte(id)); err != nil {
		return "", fmt.Errorf("store: save hub id: %w", err)
	}
	v, _, err := s.KV(ctx, "hub_id")
	return string(v), err
}
