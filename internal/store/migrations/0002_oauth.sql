-- Account linking (cic-profile §4): household users, partner clouds (OAuth
-- clients), grants (user × partner × scopes × exposed devices), single-use
-- authorization codes, rotating refresh tokens and browser sessions.
-- Every secret a partner or browser presents (client secret, code, refresh
-- token, session) is stored as its SHA-256 only; passwords as bcrypt.

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

-- Partners are soft-deleted (removed_at) so that the notifier can still
-- reach a removed partner to tell it AccountUnlinked.
CREATE TABLE partners (
	client_id            TEXT PRIMARY KEY,
	name                 TEXT NOT NULL,
	public               INTEGER NOT NULL DEFAULT 0,
	secret_hash          BLOB,
	redirect_uris        TEXT NOT NULL,          -- JSON array, matched exactly
	callback_hosts       TEXT NOT NULL DEFAULT '[]', -- JSON array
	allow_private_callback INTEGER NOT NULL DEFAULT 0,
	-- The notifier's credentials towards the partner must be usable later,
	-- so they are stored retrievable (the database file is 0600).
	notify_token_url     TEXT NOT NULL DEFAULT '',
	notify_client_id     TEXT NOT NULL DEFAULT '',
	notify_client_secret TEXT NOT NULL DEFAULT '',
	notify_hmac_secret   TEXT NOT NULL DEFAULT '',
	created_at           INTEGER NOT NULL,
	removed_at           INTEGER
) WITHOUT ROWID;

CREATE TABLE grants (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	client_id    TEXT NOT NULL REFERENCES partners(client_id),
	scopes       TEXT NOT NULL,                  -- space separated
	share_new    INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	revoked_at   INTEGER,
	revoke_reason TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX grants_by_client ON grants(client_id, revoked_at);
CREATE INDEX grants_by_user ON grants(user_id, client_id, revoked_at);

-- One row per device the owner decided on for the grant (exposed or not).
-- A device without a row was added after consent: it is exposed only when
-- share_new is set and its category is not sensitive.
CREATE TABLE grant_devices (
	grant_id  TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
	device_id TEXT NOT NULL,
	exposed   INTEGER NOT NULL,
	PRIMARY KEY (grant_id, device_id)
) WITHOUT ROWID;

CREATE TABLE auth_codes (
	hash           BLOB PRIMARY KEY,
	grant_id       TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
	client_id      TEXT NOT NULL,
	redirect_uri   TEXT NOT NULL,
	code_challenge TEXT NOT NULL DEFAULT '',
	scopes         TEXT NOT NULL,
	expires_at     INTEGER NOT NULL,
	used_at        INTEGER
) WITHOUT ROWID;

-- Refresh tokens form one chain per code exchange (family). seq grows by one
-- per rotation; a discarded token is a successor replaced by a retry.
CREATE TABLE refresh_tokens (
	hash       BLOB PRIMARY KEY,
	grant_id   TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
	family_id  TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	scopes     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	discarded  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX refresh_by_family ON refresh_tokens(family_id, seq);

CREATE TABLE sessions (
	hash       BLOB PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
