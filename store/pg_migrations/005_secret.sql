-- Named random secrets of the store (pg_secret.go), e.g. the key that signs
-- the orders cursor: every replica must sign and verify with the same bytes.
CREATE TABLE app_secret (
	name TEXT PRIMARY KEY,
	value BYTEA NOT NULL,
	created_ms BIGINT NOT NULL
);
