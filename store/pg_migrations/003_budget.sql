-- The shared Exact rate budget, one row per division (pg_budget.go,
-- erp/budget.go).
CREATE TABLE rate_budget (
	division BIGINT PRIMARY KEY,
	minute_limit INTEGER NOT NULL,
	minute_remaining INTEGER NOT NULL,
	minute_reset_ms BIGINT NOT NULL,
	minute_known BOOLEAN NOT NULL,
	day_limit INTEGER NOT NULL,
	day_remaining INTEGER NOT NULL,
	day_reset_ms BIGINT NOT NULL,
	day_known BOOLEAN NOT NULL,
	blocked_until_ms BIGINT NOT NULL,
	blocked_minutely BOOLEAN NOT NULL,
	read_tokens DOUBLE PRECISION NOT NULL,
	tokens_at_ms BIGINT NOT NULL,
	inflight INTEGER NOT NULL,
	inflight_until_ms BIGINT NOT NULL,
	rate_limited BIGINT NOT NULL,
	updated_ms BIGINT NOT NULL
);
