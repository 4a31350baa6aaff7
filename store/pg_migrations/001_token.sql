-- The OAuth2 token chain (one row) and a heartbeat row for Ping. The
-- refresh lock is a session advisory lock (pg_token.go), not a row.
CREATE TABLE oauth_token (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	access_token TEXT NOT NULL,
	refresh_token TEXT NOT NULL,
	expiry_ms BIGINT NOT NULL,
	refresh_started_ms BIGINT NOT NULL DEFAULT 0,
	consent_needed TEXT NOT NULL DEFAULT '',
	updated_ms BIGINT NOT NULL
);
CREATE TABLE heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at_ms BIGINT NOT NULL
);
