-- The mirror's change log and leadership (pg_leader.go, ARCHITECTURE §11):
-- every committed mirror batch appends what it touched, so replicas that do
-- not run the feeds apply the changes to their in-memory indexes (LISTEN,
-- and a cheap poll of the position). key '' with replace marks a whole
-- re-read of the feed; key '' without it a state-only change. Entries older
-- than an hour are pruned; pruned_seq tells a replica that fell further
-- behind to reload everything.
CREATE TABLE mirror_log (
	seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	feed TEXT NOT NULL,
	key TEXT NOT NULL,
	replace BOOLEAN NOT NULL DEFAULT FALSE,
	at_ms BIGINT NOT NULL
);
-- One row: the fencing epoch of the mirror leader (bumped by every new
-- leader; a batch written under an older epoch is refused) and how far
-- the log has been pruned.
CREATE TABLE mirror_leader (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	epoch BIGINT NOT NULL,
	holder TEXT NOT NULL,
	since_ms BIGINT NOT NULL,
	pruned_seq BIGINT NOT NULL
);
INSERT INTO mirror_leader (id, epoch, holder, since_ms, pruned_seq) VALUES (1, 0, '', 0, 0);
