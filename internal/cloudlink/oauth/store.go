package oauth

import (
	"database/sql"
	"sync/atomic"
	"time"
)

// Store is the account-linking data in the agent's database: partners,
// household users, grants, codes, refresh tokens and sessions. The CLI uses
// it directly (with or without a running agent: SQLite WAL and busy_timeout
// serialise the writers). The Server caches grants for the bearer check;
// every change to grants, their exposure or partners made through a Store
// bumps its generation after the commit, which invalidates that cache
// (grant_cache.go bounds what another process's writes could leave stale).
type Store struct {
	db  *sql.DB
	now func() time.Time
	gen atomic.Uint64
}

// changed marks grants, exposure or partners as changed: the Server's
// grant cache reloads on next use. Call it after the change committed.
func (st *Store) changed() { st.gen.Add(1) }

// generation is the number of changes so far.
func (st *Store) generation() uint64 { return st.gen.Load() }

// NewStore wraps the agent's database (store.Store.DB()).
func NewStore(db *sql.DB) *Store { return &Store{db: db, now: time.Now} }
