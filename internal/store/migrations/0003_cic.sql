-- The /cic/v1 interface: the idempotency window for mutating messages (a
-- retried messageId answers the first answer again, across restarts) and
-- the audit trail of every Control.

CREATE TABLE message_ids (
	client_id  TEXT NOT NULL,
	message_id TEXT NOT NULL,
	status     INTEGER NOT NULL,
	response   BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (client_id, message_id)
) WITHOUT ROWID;

CREATE INDEX message_ids_created ON message_ids(created_at);

CREATE TABLE audit (
	id         INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	client_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	properties TEXT NOT NULL,
	result     TEXT NOT NULL,
	message    TEXT NOT NULL DEFAULT ''
);

CREATE INDEX audit_at ON audit(at);
