-- Idempotency keyed by partner, grant and messageId, with a hash of what
-- the message asked (namespace, name, payload): a reused messageId with a
-- different request is refused, and a partner serving two households never
-- gets one household's answer on the other's token. The old table held only
-- a 10-minute window, so it is replaced rather than converted.
DROP TABLE message_ids;

CREATE TABLE message_ids (
	client_id    TEXT NOT NULL,
	grant_id     TEXT NOT NULL,
	message_id   TEXT NOT NULL,
	request_hash BLOB NOT NULL,
	status       INTEGER NOT NULL,
	response     BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (client_id, grant_id, message_id)
) WITHOUT ROWID;

CREATE INDEX message_ids_created ON message_ids(created_at);
