package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/exactql/exactql/catalog/feeds"
)

// The mirror's rows and feed states (ARCHITECTURE §3). The schema is
// migration 3 in store.go: rows keyed by (feed, key) holding the erp record
// as JSON, and one state row per feed. A batch's rows, deletions and state
// are committed in one transaction.

// OpMirrorApply is the fault-hook operation of MirrorApply (see FailWrites).
const OpMirrorApply = "mirror_apply"

var _ feeds.Store = (*SQLite)(nil)

// MirrorStates returns the committed state of every feed that has one.
func (s *SQLite) MirrorStates(ctx context.Context) (map[string]feeds.State, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT feed, watermark, complete, synced_ms FROM mirror_feeds`)
	if err != nil {
		return nil, fmt.Errorf("store.MirrorStates: %w", err)
	}
	defer rows.Close()
	out := map[string]feeds.State{}
	for rows.Next() {
		var feed string
		var st feeds.State
		var synced int64
		if err := rows.Scan(&feed, &st.Watermark, &st.Complete, &synced); err != nil {
			return nil, fmt.Errorf("store.MirrorStates: %w", err)
		}
		if synced > 0 {
			st.SyncedAt = time.UnixMilli(synced).UTC()
		}
		out[feed] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store.MirrorStates: %w", err)
	}
	return out, nil
}

// MirrorRows calls fn with every row of feed in key order.
func (s *SQLite) MirrorRows(ctx context.Context, feed string, fn func(key string, data []byte) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT key, data FROM mirror_rows WHERE feed = ? ORDER BY key`, feed)
	if err != nil {
		return fmt.Errorf("store.MirrorRows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			return fmt.Errorf("store.MirrorRows: %w", err)
		}
		if err := fn(key, data); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store.MirrorRows: %w", err)
	}
	return nil
}

// MirrorApply commits b's rows, deletions and state in one transaction.
func (s *SQLite) MirrorApply(ctx context.Context, b feeds.Batch) error {
	if err := checkBatch(b); err != nil {
		return err
	}
	if err := s.checkFault(OpMirrorApply); err != nil {
		return fmt.Errorf("store.MirrorApply: %w", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if b.Replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mirror_rows WHERE feed = ?`, b.Feed); err != nil {
				return err
			}
		}
		if len(b.Upserts) > 0 {
			st, err := tx.PrepareContext(ctx, `INSERT INTO mirror_rows (feed, key, data) VALUES (?, ?, ?)
				ON CONFLICT (feed, key) DO UPDATE SET data = excluded.data`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, r := range b.Upserts {
				if _, err := st.ExecContext(ctx, r.Feed, r.Key, r.Data); err != nil {
					return err
				}
			}
		}
		for _, k := range b.Deletes {
			if _, err := tx.ExecContext(ctx, `DELETE FROM mirror_rows WHERE feed = ? AND key = ?`, k.Feed, k.Key); err != nil {
				return err
			}
		}
		var synced int64
		if !b.State.SyncedAt.IsZero() {
			synced = b.State.SyncedAt.UnixMilli()
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO mirror_feeds (feed, watermark, complete, synced_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (feed) DO UPDATE SET watermark = excluded.watermark, complete = excluded.complete,
			synced_ms = excluded.synced_ms`, b.Feed, b.State.Watermark, b.State.Complete, synced)
		return err
	})
	if err != nil {
		return fmt.Errorf("store.MirrorApply: %w", err)
	}
	return nil
}

// checkBatch refuses a mirror batch that names no feed or carries a row
// without feed, key or data, before either backend touches its database.
func checkBatch(b feeds.Batch) error {
	if b.Feed == "" {
		return fmt.Errorf("store.MirrorApply: %w", errors.New("batch without a feed"))
	}
	for _, r := range b.Upserts {
		if r.Feed == "" || r.Key == "" || len(r.Data) == 0 {
			return fmt.Errorf("store.MirrorApply: %w", errors.New("row without feed, key or data"))
		}
	}
	return nil
}
