-- Subscriptions and the notification outbox (cic-profile §6). Outbox rows
-- are written in the same transaction as the state change that caused them,
-- carry a per-subscription sequence, and are deleted once the partner
-- acknowledged them: delivery is at-least-once, ordered, and survives
-- restarts.

CREATE TABLE subscriptions (
	id           TEXT PRIMARY KEY,
	client_id    TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	grant_id     TEXT NOT NULL,
	callback_url TEXT NOT NULL,
	events       TEXT NOT NULL,            -- JSON array of event names
	device_ids   TEXT NOT NULL DEFAULT '[]', -- JSON array; empty = every exposed device
	next_seq     INTEGER NOT NULL DEFAULT 1,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	ended_at     INTEGER                   -- unlinked: only AccountUnlinked is still delivered
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_client ON subscriptions(client_id);
CREATE INDEX subscriptions_by_grant ON subscriptions(grant_id);

CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	subscription_id TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	name            TEXT NOT NULL,          -- StatusChanged, OnlineChanged, DevicesChanged, AccountUnlinked
	payload         BLOB NOT NULL,          -- one event, JSON, without its sequence
	created_at      INTEGER NOT NULL
);
CREATE INDEX outbox_by_client ON outbox(client_id, subscription_id, seq);

-- Delivery health per partner, for `partner list`, the status page and
-- metrics.
CREATE TABLE partner_delivery (
	client_id       TEXT PRIMARY KEY,
	last_attempt_at INTEGER NOT NULL DEFAULT 0,
	last_success_at INTEGER NOT NULL DEFAULT 0,
	last_result     TEXT NOT NULL DEFAULT '',
	failures        INTEGER NOT NULL DEFAULT 0,   -- consecutive
	dropped         INTEGER NOT NULL DEFAULT 0,   -- events dropped past max_age, in total
	needs_relink    INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
