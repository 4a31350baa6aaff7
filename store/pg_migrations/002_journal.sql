-- The order journal and the idempotency records (pg_journal.go).
CREATE TABLE order_journal (
	gateway_id TEXT PRIMARY KEY,
	account TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	state TEXT NOT NULL,
	doc BYTEA NOT NULL,
	exact_id TEXT NOT NULL DEFAULT '',
	order_number BIGINT NOT NULL DEFAULT 0,
	rejection_reason TEXT NOT NULL DEFAULT '',
	attempts INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	first_attempt_ms BIGINT NOT NULL DEFAULT 0,
	next_attempt_ms BIGINT NOT NULL DEFAULT 0,
	updated_ms BIGINT NOT NULL,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX order_journal_due ON order_journal (state, next_attempt_ms);
CREATE INDEX order_journal_account ON order_journal (account, created_ms);
CREATE TABLE idempotency (
	account TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	gateway_id TEXT NOT NULL REFERENCES order_journal (gateway_id),
	created_ms BIGINT NOT NULL,
	PRIMARY KEY (account, idem_key)
);
