-- Foundation schema: hub identity, devices, their property descriptors and
-- last known state. State rows are one per property so a change rewrites only
-- the property that changed (small writes on flash).

CREATE TABLE kv (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE devices (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	category     TEXT NOT NULL,
	manufacturer TEXT NOT NULL DEFAULT '',
	model        TEXT NOT NULL DEFAULT '',
	room         TEXT NOT NULL DEFAULT '',
	online       INTEGER NOT NULL DEFAULT 0,
	source       TEXT NOT NULL DEFAULT '',
	binding      BLOB,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE properties (
	device_id   TEXT NOT NULL,
	name        TEXT NOT NULL,
	position    INTEGER NOT NULL,
	type        TEXT NOT NULL,
	unit        TEXT NOT NULL DEFAULT '',
	min         REAL,
	max         REAL,
	step        REAL,
	enum_values TEXT,
	access      TEXT NOT NULL,
	PRIMARY KEY (device_id, name)
) WITHOUT ROWID;

CREATE TABLE state (
	device_id  TEXT NOT NULL,
	name       TEXT NOT NULL,
	value      TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (device_id, name)
) WITHOUT ROWID;
