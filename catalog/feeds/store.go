package feeds

import (
	"context"
	"time"
)

// State is a feed's progress as committed in the store.
type State struct {
	// Watermark is the highest Exact Timestamp applied (incremental feeds)
	// or the Unix milliseconds of the last whole read (reference sets).
	Watermark int64
	// Complete is true once the feed's first full pass has finished: from
	// then on its rows answer reads, and a restart resumes from Watermark.
	Complete bool
	// SyncedAt is when the feed last read Exact successfully.
	SyncedAt time.Time
}

// RowKey names one mirrored row.
type RowKey struct {
	Feed string
	Key  string
}

// Row is one mirrored row: the erp record of its feed as JSON.
type Row struct {
	RowKey
	Data []byte
}

// Batch is what one sync step commits: rows, deletions and the new state of
// Feed, all in one transaction, so the watermark never runs ahead of the
// rows it stands for (nor behind them).
type Batch struct {
	Feed  string
	State State
	// Replace drops every row of Feed not in Upserts first (a whole re-read
	// of a reference set).
	Replace bool
	Upserts []Row
	// Deletes may name rows of other feeds (sync/Deleted removes items,
	// prices, accounts, …); unknown keys are ignored.
	Deletes []RowKey
}

// Store is what the feed runner needs from durable storage. store.SQLite
// implements it; a PostgreSQL store (ARCHITECTURE §11) must give the same
// guarantees: Apply is atomic, and what Apply committed is what a later
// States/Rows returns, also after a restart.
type Store interface {
	// MirrorStates returns the committed state of every feed that has one.
	MirrorStates(ctx context.Context) (map[string]State, error)
	// MirrorRows calls fn with every row of feed, in key order; an error
	// from fn stops the walk and is returned.
	MirrorRows(ctx context.Context, feed string, fn func(key string, data []byte) error) error
	// MirrorApply commits b atomically.
	MirrorApply(ctx context.Context, b Batch) error
}

// ChangeLog is what a replica that does not run the feeds reads to follow
// the one that does (ARCHITECTURE §11): every committed batch appends the
// keys it touched, in commit order, to a log with increasing positions.
// store.Postgres implements it.
type ChangeLog interface {
	// MirrorPosition returns the position of the last committed entry.
	MirrorPosition(ctx context.Context) (int64, error)
	// MirrorChanges returns up to limit entries after position after, in
	// order, each with its row as stored now.
	MirrorChanges(ctx context.Context, after int64, limit int) (Changes, error)
}

// Changes is one read of a ChangeLog.
type Changes struct {
	// Position is the last entry returned (the log's position when Reload,
	// after when there is nothing new).
	Position int64
	// Reload is set when entries after the reader's position are gone
	// (pruned): the reader must reload every feed.
	Reload  bool
	Entries []LogEntry
}

// LogEntry is one change: a row of Feed (Key), a whole re-read of Feed
// (Replace), or only Feed's state (Key "").
type LogEntry struct {
	Seq     int64
	Feed    string
	Key     string
	Replace bool
	// Data is the row as stored now; nil when it no longer exists.
	Data []byte
}
