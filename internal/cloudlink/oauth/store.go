package oauth

import (
	"database/sql"
	"time"
)

// Store is the account-linking data in the agent's database: partners,
// household users, grants, codes, refresh tokens and sessions. The CLI uses
// it directly (with or without a running agent: SQLite WAL and busy_timeout
// serialise the writers), and the Server reads through it on every request,
// so nothing is cached that another process could make stale.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// NewStore wraps the agent's database (store.Store.DB()).
func NewStore(db *sql.DB) *Store { return &Store{db: db, now: time.Now} }
