package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp"
)

// ErrCopyTargetNotEmpty is returned by CopyToPostgres when the destination
// already holds a token chain or orders: copying over them could replace a
// live chain (forcing a new consent) or mix two journals.
var ErrCopyTargetNotEmpty = errors.New("store: the PostgreSQL store already holds a token chain or orders")

// ErrCopySourceBusy is returned by CopyToPostgres while a gateway holds the
// SQLite file's refresh lock: the chain is rotating, stop the gateway first.
var ErrCopySourceBusy = errors.New("store: a gateway is refreshing the Exact token in the SQLite store; stop it first")

// MovedReason is the consent-needed reason CopyToPostgres leaves on the
// SQLite file's token, so a gateway started on the old file by mistake never
// rotates the chain that now lives in PostgreSQL (that would force a new
// consent) and never posts its copied pending orders a second time.
const MovedReason = "the Exact token chain was moved to PostgreSQL by `exactql store copy`; this file must not use it (start the gateway with EXACTQL_DATABASE_URL)"

// CopyStats says what CopyToPostgres copied.
type CopyStats struct {
	Token       bool
	Orders      int
	Idempotency int
	// MirrorRows is the mirror rows copied (0 when the destination held a
	// mirror already: it is kept).
	MirrorRows int
}

// CopyToPostgres copies the token pair, the order journal and the
// idempotency records (and the mirror's rows and feed states, so the first
// leader resumes the feeds instead of reading Exact again) of the SQLite
// store src into the empty PostgreSQL
// store dst, in one PostgreSQL transaction (all or nothing), so replicas on
// dst continue the same Exact token chain without a new consent and know
// every order accepted so far. Afterwards src's token is marked with
// MovedReason. Stop the gateway using src first: a refresh after the copy
// would rotate the chain away from the copied pair.
func CopyToPostgres(ctx context.Context, src *SQLite, dst *Postgres) (CopyStats, error) {
	var stats CopyStats
	var owner string
	var until int64
	if err := src.db.QueryRowContext(ctx, `SELECT owner, until_ms FROM refresh_lease WHERE id = 1`).Scan(&owner, &until); err != nil {
		return stats, fmt.Errorf("store.CopyToPostgres: read source: %w", err)
	}
	if owner != "" && until > src.now().UnixMilli() {
		return stats, fmt.Errorf("store.CopyToPostgres: %w", ErrCopySourceBusy)
	}
	tok, err := loadToken(ctx, src.db)
	switch {
	case errors.Is(err, erp.ErrNoToken):
		tok = nil
	case err != nil:
		return stats, fmt.Errorf("store.CopyToPostgres: read source token: %w", err)
	case tok.ConsentNeeded == MovedReason:
		return stats, fmt.Errorf("store.CopyToPostgres: the source's token chain was already moved to PostgreSQL")
	}
	recs, err := src.queryRecords(ctx, `SELECT `+journalColumns+` FROM order_journal ORDER BY created_ms, gateway_id`)
	if err != nil {
		return stats, fmt.Errorf("store.CopyToPostgres: read source journal: %w", err)
	}
	type idem struct {
		account, key, fingerprint, gatewayID string
		created                              int64
	}
	var idems []idem
	rows, err := src.db.QueryContext(ctx, `SELECT account, idem_key, fingerprint, gateway_id, created_ms FROM idempotency`)
	if err != nil {
		return stats, fmt.Errorf("store.CopyToPostgres: read source idempotency: %w", err)
	}
	for rows.Next() {
		var i idem
		if err := rows.Scan(&i.account, &i.key, &i.fingerprint, &i.gatewayID, &i.created); err != nil {
			rows.Close()
			return stats, fmt.Errorf("store.CopyToPostgres: read source idempotency: %w", err)
		}
		idems = append(idems, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return stats, fmt.Errorf("store.CopyToPostgres: read source idempotency: %w", err)
	}

	states, err := src.MirrorStates(ctx)
	if err != nil {
		return stats, fmt.Errorf("store.CopyToPostgres: read source mirror: %w", err)
	}
	var mirror []feeds.Row
	for feed := range states {
		if err := src.MirrorRows(ctx, feed, func(key string, data []byte) error {
			mirror = append(mirror, feeds.Row{RowKey: feeds.RowKey{Feed: feed, Key: key}, Data: append([]byte(nil), data...)})
			return nil
		}); err != nil {
			return stats, fmt.Errorf("store.CopyToPostgres: read source mirror: %w", err)
		}
	}
	mirrorCopied := false

	err = pgx.BeginFunc(ctx, dst.pool, func(tx pgx.Tx) error {
		// Nobody may refresh in PostgreSQL while the chain arrives.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, dst.refreshKey); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM oauth_token) + (SELECT count(*) FROM order_journal)
			+ (SELECT count(*) FROM idempotency)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrCopyTargetNotEmpty
		}
		if tok != nil {
			if _, err := tx.Exec(ctx, saveTokenSQL, tokenArgs(tok, dst.now())...); err != nil {
				return err
			}
		}
		for _, rec := range recs {
			if _, err := tx.Exec(ctx, `INSERT INTO order_journal (`+journalColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
				rec.GatewayID, rec.Account, rec.IdempotencyKey, rec.Fingerprint, rec.State, rec.Doc,
				rec.ExactID, rec.OrderNumber, rec.RejectionReason, rec.Attempts, rec.LastError,
				ms(rec.Created), ms(rec.FirstAttempt), ms(rec.NextAttempt), ms(rec.Updated),
				rec.LeaseOwner, ms(rec.LeaseUntil)); err != nil {
				return err
			}
		}
		for _, i := range idems {
			if _, err := tx.Exec(ctx, `INSERT INTO idempotency (account, idem_key, fingerprint, gateway_id, created_ms)
				VALUES ($1, $2, $3, $4, $5)`, i.account, i.key, i.fingerprint, i.gatewayID, i.created); err != nil {
				return err
			}
		}
		// The mirror, unless the destination has one (its leader's is newer).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(dst.schema, "mirror-write")); err != nil {
			return err
		}
		var feedsThere int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM mirror_feeds`).Scan(&feedsThere); err != nil {
			return err
		}
		if feedsThere > 0 || len(states) == 0 {
			return nil
		}
		b := &pgx.Batch{}
		for _, r := range mirror {
			b.Queue(`INSERT INTO mirror_rows (feed, key, data) VALUES ($1, $2, $3)`, r.Feed, r.Key, r.Data)
		}
		for feed, st := range states {
			var synced int64
			if !st.SyncedAt.IsZero() {
				synced = st.SyncedAt.UnixMilli()
			}
			b.Queue(`INSERT INTO mirror_feeds (feed, watermark, complete, synced_ms) VALUES ($1, $2, $3, $4)`,
				feed, st.Watermark, st.Complete, synced)
			// Replicas already following reload the feed.
			b.Queue(`INSERT INTO mirror_log (feed, key, replace, at_ms) VALUES ($1, '', TRUE, $2)`, feed, dst.now().UnixMilli())
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		mirrorCopied = true
		return nil
	})
	if errors.Is(err, ErrCopyTargetNotEmpty) {
		return stats, fmt.Errorf("store.CopyToPostgres: %w", err)
	}
	if err != nil {
		return stats, dst.wrap("store.CopyToPostgres", err)
	}
	stats = CopyStats{Token: tok != nil, Orders: len(recs), Idempotency: len(idems)}
	if mirrorCopied {
		stats.MirrorRows = len(mirror)
	}
	if tok != nil {
		moved := *tok
		moved.ConsentNeeded = MovedReason
		if err := saveToken(ctx, src.db, &moved, src.now()); err != nil {
			return stats, fmt.Errorf("store.CopyToPostgres: copied, but marking the SQLite token as moved failed (do not start a gateway on that file): %w", err)
		}
	}
	return stats, nil
}
