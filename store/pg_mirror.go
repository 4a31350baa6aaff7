package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exactql/exactql/catalog/feeds"
)

// The mirror's rows and feed states in PostgreSQL, with the same guarantees
// as mirror.go: a batch's rows, deletions and state commit in one
// transaction, so the watermark never runs ahead of (or behind) its rows.
// Rows are walked in byte order of their keys (COLLATE "C"), as SQLite
// orders them, whatever the database's collation.

var _ feeds.Store = (*Postgres)(nil)

// MirrorStates returns the committed state of every feed that has one.
func (p *Postgres) MirrorStates(ctx context.Context) (map[string]feeds.State, error) {
	rows, err := p.pool.Query(ctx, `SELECT feed, watermark, complete, synced_ms FROM mirror_feeds`)
	if err != nil {
		return nil, p.wrap("store.MirrorStates", err)
	}
	defer rows.Close()
	out := map[string]feeds.State{}
	for rows.Next() {
		var feed string
		var st feeds.State
		var synced int64
		if err := rows.Scan(&feed, &st.Watermark, &st.Complete, &synced); err != nil {
			return nil, p.wrap("store.MirrorStates", err)
		}
		if synced > 0 {
			st.SyncedAt = time.UnixMilli(synced).UTC()
		}
		out[feed] = st
	}
	if err := rows.Err(); err != nil {
		return nil, p.wrap("store.MirrorStates", err)
	}
	return out, nil
}

// MirrorRows calls fn with every row of feed in key order.
func (p *Postgres) MirrorRows(ctx context.Context, feed string, fn func(key string, data []byte) error) error {
	rows, err := p.pool.Query(ctx, `SELECT key, data FROM mirror_rows WHERE feed = $1 ORDER BY key COLLATE "C"`, feed)
	if err != nil {
		return p.wrap("store.MirrorRows", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			return p.wrap("store.MirrorRows", err)
		}
		if err := fn(key, data); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return p.wrap("store.MirrorRows", err)
	}
	return nil
}

// MirrorApply commits b's rows, deletions and state in one transaction.
func (p *Postgres) MirrorApply(ctx context.Context, b feeds.Batch) error {
	if err := checkBatch(b); err != nil {
		return err
	}
	if err := p.checkFault(OpMirrorApply); err != nil {
		return fmt.Errorf("store.MirrorApply: %w", err)
	}
	var synced int64
	if !b.State.SyncedAt.IsZero() {
		synced = b.State.SyncedAt.UnixMilli()
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		// Writers of the mirror take turns (the log's order is the commit
		// order) and only the current leader may write (fencing).
		if err := p.mirrorTurn(ctx, tx); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		if b.Replace {
			batch.Queue(`DELETE FROM mirror_rows WHERE feed = $1`, b.Feed)
		}
		for _, r := range b.Upserts {
			batch.Queue(`INSERT INTO mirror_rows (feed, key, data) VALUES ($1, $2, $3)
				ON CONFLICT (feed, key) DO UPDATE SET data = excluded.data`, r.Feed, r.Key, r.Data)
		}
		for _, k := range b.Deletes {
			batch.Queue(`DELETE FROM mirror_rows WHERE feed = $1 AND key = $2`, k.Feed, k.Key)
		}
		batch.Queue(`INSERT INTO mirror_feeds (feed, watermark, complete, synced_ms) VALUES ($1, $2, $3, $4)
			ON CONFLICT (feed) DO UPDATE SET watermark = excluded.watermark, complete = excluded.complete,
			synced_ms = excluded.synced_ms`, b.Feed, b.State.Watermark, b.State.Complete, synced)
		// The change log: one entry per touched row (a whole re-read is one
		// replace entry), and one for the feed's state.
		fs, ks, rs := []string{b.Feed}, []string{""}, []bool{b.Replace}
		if !b.Replace {
			for _, r := range b.Upserts {
				fs, ks, rs = append(fs, r.Feed), append(ks, r.Key), append(rs, false)
			}
		}
		for _, k := range b.Deletes {
			fs, ks, rs = append(fs, k.Feed), append(ks, k.Key), append(rs, false)
		}
		batch.Queue(`INSERT INTO mirror_log (feed, key, replace, at_ms)
			SELECT f, k, r, $4 FROM unnest($1::text[], $2::text[], $3::bool[]) AS t(f, k, r)`, fs, ks, rs, p.now().UnixMilli())
		batch.Queue(`SELECT pg_notify($1, '')`, p.mirrorChannel())
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		return p.pruneMirrorLog(ctx, tx)
	})
	return p.wrap("store.MirrorApply", err)
}
