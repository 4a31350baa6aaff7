-- The mirror's rows and feed states (pg_mirror.go): rows keyed by
-- (feed, key) holding the erp record as JSON, one state row per feed.
CREATE TABLE mirror_rows (
	feed TEXT NOT NULL,
	key TEXT NOT NULL,
	data BYTEA NOT NULL,
	PRIMARY KEY (feed, key)
);
CREATE TABLE mirror_feeds (
	feed TEXT PRIMARY KEY,
	watermark BIGINT NOT NULL,
	complete BOOLEAN NOT NULL,
	synced_ms BIGINT NOT NULL
);
