package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/exactql/exactql/catalog/feeds"
)

// One mirror for every replica (ARCHITECTURE §11). One replica at a time
// runs the feeds: the one holding the mirror advisory lock on its own
// dedicated connection (a MirrorLink); when that connection ends (the
// process dies, the network fails) PostgreSQL releases the lock and
// another replica's link takes it. A new leader bumps the fencing epoch,
// and MirrorApply refuses a batch from a store whose epoch is not the
// current one, so a leader that lost its lock can never write after its
// successor started. Every batch appends what it touched to mirror_log
// and NOTIFYs the mirror channel; replicas apply the log to their indexes.
// Webhooks received by any replica are passed to the leader by a NOTIFY on
// the wake channel.

// ErrNotMirrorLeader is returned by MirrorApply on a replica that does not
// (or no longer) lead the mirror.
var ErrNotMirrorLeader = errors.New("store: this replica does not lead the mirror")

var _ feeds.ChangeLog = (*Postgres)(nil)

// mirrorLogKeep is how long log entries are kept; a replica that falls
// further behind reloads every feed.
const mirrorLogKeep = time.Hour

// pruneEvery is how many batches pass between prunes of the log.
const pruneEvery = 100

// FenceMirror makes this store refuse mirror writes until a MirrorLink
// of it takes the lead (a replica that never leads never writes). Stores
// never fenced (SQLite, `exactql store copy`) write without a leader.
func (p *Postgres) FenceMirror() { p.fence.CompareAndSwap(0, -1) }

func (p *Postgres) mirrorChannel() string {
	return fmt.Sprintf("exactql_mirror_%x", uint64(lockKey(p.schema, "mirror-channel")))
}
func (p *Postgres) wakeChannel() string {
	return fmt.Sprintf("exactql_wake_%x", uint64(lockKey(p.schema, "wake-channel")))
}

// mirrorTurn takes the mirror writers' transaction lock (so the log's
// order is the commit order: positions never appear behind a reader) and
// checks this store's fencing epoch.
func (p *Postgres) mirrorTurn(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(p.schema, "mirror-write")); err != nil {
		return err
	}
	fence := p.fence.Load()
	if fence == 0 {
		return nil
	}
	if fence < 0 {
		return ErrNotMirrorLeader
	}
	var epoch int64
	if err := tx.QueryRow(ctx, `SELECT epoch FROM mirror_leader WHERE id = 1`).Scan(&epoch); err != nil {
		return err
	}
	if epoch != fence {
		return ErrNotMirrorLeader
	}
	return nil
}

// pruneMirrorLog drops entries older than mirrorLogKeep every pruneEvery
// batches, recording how far it pruned.
func (p *Postgres) pruneMirrorLog(ctx context.Context, tx pgx.Tx) error {
	if p.applies.Add(1)%pruneEvery != 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `WITH gone AS (DELETE FROM mirror_log WHERE at_ms < $1 RETURNING seq)
		UPDATE mirror_leader SET pruned_seq = GREATEST(pruned_seq, (SELECT COALESCE(MAX(seq), 0) FROM gone)) WHERE id = 1`,
		p.now().Add(-mirrorLogKeep).UnixMilli())
	return err
}

// MirrorPosition returns the position of the last committed log entry.
func (p *Postgres) MirrorPosition(ctx context.Context) (int64, error) {
	var pos int64
	err := p.pool.QueryRow(ctx, `SELECT GREATEST((SELECT COALESCE(MAX(seq), 0) FROM mirror_log),
		(SELECT pruned_seq FROM mirror_leader WHERE id = 1))`).Scan(&pos)
	return pos, p.wrap("store.MirrorPosition", err)
}

// MirrorChanges returns up to limit log entries after position after, each
// with its row as stored now (nil when deleted since).
func (p *Postgres) MirrorChanges(ctx context.Context, after int64, limit int) (feeds.Changes, error) {
	out := feeds.Changes{Position: after}
	var pruned int64
	if err := p.pool.QueryRow(ctx, `SELECT pruned_seq FROM mirror_leader WHERE id = 1`).Scan(&pruned); err != nil {
		return out, p.wrap("store.MirrorChanges", err)
	}
	if after < pruned {
		pos, err := p.MirrorPosition(ctx)
		return feeds.Changes{Position: pos, Reload: true}, err
	}
	rows, err := p.pool.Query(ctx, `SELECT l.seq, l.feed, l.key, l.replace, r.data FROM mirror_log l
		LEFT JOIN mirror_rows r ON l.key <> '' AND r.feed = l.feed AND r.key = l.key
		WHERE l.seq > $1 ORDER BY l.seq LIMIT $2`, after, limit)
	if err != nil {
		return out, p.wrap("store.MirrorChanges", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e feeds.LogEntry
		if err := rows.Scan(&e.Seq, &e.Feed, &e.Key, &e.Replace, &e.Data); err != nil {
			return out, p.wrap("store.MirrorChanges", err)
		}
		out.Entries = append(out.Entries, e)
		out.Position = e.Seq
	}
	return out, p.wrap("store.MirrorChanges", rows.Err())
}

// WakeMirrorLeader passes a webhook's topic to the mirror leader (NOTIFY
// on the wake channel); the leader's link receives it.
func (p *Postgres) WakeMirrorLeader(ctx context.Context, topic string) error {
	_, err := p.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, p.wakeChannel(), topic)
	return p.wrap("store.WakeMirrorLeader", err)
}

// MirrorLeader returns the current leadership epoch and its holder.
func (p *Postgres) MirrorLeader(ctx context.Context) (epoch int64, holder string, err error) {
	err = p.pool.QueryRow(ctx, `SELECT epoch, holder FROM mirror_leader WHERE id = 1`).Scan(&epoch, &holder)
	return epoch, holder, p.wrap("store.MirrorLeader", err)
}

// MirrorLink is a replica's dedicated connection for the mirror: it holds
// the leader lock (a session lock, released when the connection ends) and
// listens for the mirror's changes and for wake-ups. It is not safe for
// concurrent use: one goroutine drives it.
type MirrorLink struct {
	p      *Postgres
	conn   *pgx.Conn
	epoch  int64
	leader bool
}

// OpenMirrorLink opens the dedicated connection (one per replica, outside
// the pool) and listens on the mirror and wake channels.
func (p *Postgres) OpenMirrorLink(ctx context.Context) (*MirrorLink, error) {
	cfg := p.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "exactql-mirror-link"
	// The server ends this session (and frees the leader lock) within about
	// 25 s when the replica's machine or network is gone without closing
	// the connection; a killed process closes it at once.
	cfg.RuntimeParams["tcp_keepalives_idle"] = "10"
	cfg.RuntimeParams["tcp_keepalives_interval"] = "5"
	cfg.RuntimeParams["tcp_keepalives_count"] = "3"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, p.wrap("store.OpenMirrorLink", err)
	}
	for _, ch := range []string{p.mirrorChannel(), p.wakeChannel()} {
		if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{ch}.Sanitize()); err != nil {
			conn.Close(context.Background())
			return nil, p.wrap("store.OpenMirrorLink", err)
		}
	}
	return &MirrorLink{p: p, conn: conn}, nil
}

// TryLead takes the leader lock if it is free, then bumps the fencing
// epoch (holder names this replica in mirror_leader). From then on this
// store's MirrorApply writes under the new epoch.
func (l *MirrorLink) TryLead(ctx context.Context, holder string) (bool, error) {
	if l.leader {
		return true, nil
	}
	var ok bool
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(l.p.schema, "mirror-leader")).Scan(&ok); err != nil {
		return false, l.p.wrap("store.TryLead", err)
	}
	if !ok {
		return false, nil
	}
	// Under the writers' lock: a batch of the previous leader either
	// committed before (and this replica's catch-up sees it) or is refused.
	var epoch int64
	err := pgx.BeginFunc(ctx, l.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(l.p.schema, "mirror-write")); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `UPDATE mirror_leader SET epoch = epoch + 1, holder = $1, since_ms = $2 WHERE id = 1 RETURNING epoch`,
			holder, l.p.now().UnixMilli()).Scan(&epoch)
	})
	if err != nil {
		// The lock is released with the connection, which the caller closes.
		return false, l.p.wrap("store.TryLead", err)
	}
	l.epoch, l.leader = epoch, true
	l.p.fence.Store(epoch)
	return true, nil
}

// Epoch is the fencing epoch this link leads under (0: not leading).
func (l *MirrorLink) Epoch() int64 {
	if !l.leader {
		return 0
	}
	return l.epoch
}

// Notice is a notification received on a link.
type Notice struct {
	// Mirror is set for a committed mirror batch; otherwise Topic is the
	// webhook topic of a wake-up.
	Mirror bool
	Topic  string
}

// Wait waits up to d for a notification. ok is false when none came; an
// error means the connection is unusable (close the link).
func (l *MirrorLink) Wait(ctx context.Context, d time.Duration) (n Notice, ok bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	msg, err := l.conn.WaitForNotification(wctx)
	if err != nil {
		if ctx.Err() == nil && wctx.Err() != nil && pgconn.Timeout(err) && !l.conn.IsClosed() {
			return Notice{}, false, nil
		}
		return Notice{}, false, l.p.wrap("store.MirrorLink.Wait", err)
	}
	if msg.Channel == l.p.mirrorChannel() {
		return Notice{Mirror: true}, true, nil
	}
	return Notice{Topic: msg.Payload}, true, nil
}

// Ping checks the connection within d.
func (l *MirrorLink) Ping(ctx context.Context, d time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return l.p.wrap("store.MirrorLink.Ping", l.conn.Ping(pctx))
}

// Close ends the connection, which releases the leader lock; the store
// refuses mirror writes from then on.
func (l *MirrorLink) Close() {
	if l.leader {
		l.p.fence.Store(-1)
		l.leader = false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}

// Drop marks the link as no longer leading without touching the
// connection (used when the connection failed): mirror writes are refused
// at once.
func (l *MirrorLink) Drop() {
	if l.leader {
		l.p.fence.Store(-1)
		l.leader = false
	}
}
