package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exactql/exactql/orders"
)

// The order journal and idempotency records in PostgreSQL, with the same
// behaviour as journal.go. Races between replicas are decided by the
// database: the primary key (account, idem_key) of idempotency makes
// concurrent Accepts of one key collapse into one order (a second inserter
// waits for the first transaction and then finds the key taken), and Claim
// is one conditional UPDATE, so two replicas never hold one order's lease.

func pgGetRecord(ctx context.Context, q pgQueryer, gatewayID string, lock bool) (orders.JournalRecord, error) {
	sql := `SELECT ` + journalColumns + ` FROM order_journal WHERE gateway_id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	rec, err := scanRecord(q.QueryRow(ctx, sql, gatewayID))
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.JournalRecord{}, orders.ErrNoRecord
	}
	return rec, err
}

// Accept implements orders.Journal: the journal row and the idempotency row
// are inserted in one transaction; when another replica's transaction holds
// or has committed the key, nothing is written and its record is returned.
func (p *Postgres) Accept(ctx context.Context, rec orders.JournalRecord) (orders.JournalRecord, bool, error) {
	if rec.GatewayID == "" || rec.Account == "" || rec.IdempotencyKey == "" {
		return orders.JournalRecord{}, false, errors.New("store.Accept: gateway ID, account and key are required")
	}
	if err := p.checkFault(OpJournalAccept); err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Accept: %w", err)
	}
	if rec.Updated.IsZero() {
		rec.Updated = rec.Created
	}
	errTaken := errors.New("key taken")
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO order_journal (`+journalColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			rec.GatewayID, rec.Account, rec.IdempotencyKey, rec.Fingerprint, rec.State, rec.Doc,
			rec.ExactID, rec.OrderNumber, rec.RejectionReason, rec.Attempts, rec.LastError,
			ms(rec.Created), ms(rec.FirstAttempt), ms(rec.NextAttempt), ms(rec.Updated),
			rec.LeaseOwner, ms(rec.LeaseUntil)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency (account, idem_key, fingerprint, gateway_id, created_ms)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account, idem_key) DO NOTHING`,
			rec.Account, rec.IdempotencyKey, rec.Fingerprint, rec.GatewayID, ms(rec.Created))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errTaken // rolls the journal row back
		}
		return nil
	})
	if err == nil {
		return rec, true, nil
	}
	if !errors.Is(err, errTaken) {
		return orders.JournalRecord{}, false, p.wrap("store.Accept", err)
	}
	// The conflicting transaction has committed (ON CONFLICT waited for it).
	got, err := p.ByKey(ctx, rec.Account, rec.IdempotencyKey)
	if err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Accept: %w", err)
	}
	return got, false, nil
}

// ByKey implements orders.Journal.
func (p *Postgres) ByKey(ctx context.Context, account, key string) (orders.JournalRecord, error) {
	rec, err := scanRecord(p.pool.QueryRow(ctx, `SELECT `+prefixed("j.")+` FROM idempotency i
		JOIN order_journal j ON j.gateway_id = i.gateway_id WHERE i.account = $1 AND i.idem_key = $2`, account, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.JournalRecord{}, fmt.Errorf("store.ByKey: %w", orders.ErrNoRecord)
	}
	if err != nil {
		return orders.JournalRecord{}, p.wrap("store.ByKey", err)
	}
	return rec, nil
}

// Record implements orders.Journal.
func (p *Postgres) Record(ctx context.Context, gatewayID string) (orders.JournalRecord, error) {
	rec, err := pgGetRecord(ctx, p.pool, gatewayID, false)
	if err != nil {
		return orders.JournalRecord{}, p.wrap("store.Record", err)
	}
	return rec, nil
}

// Claim implements orders.Journal with one conditional UPDATE: under
// PostgreSQL's row lock the condition is re-checked after a competing
// replica's update commits, so exactly one replica gets the lease.
func (p *Postgres) Claim(ctx context.Context, gatewayID, owner string, now, until time.Time) (orders.JournalRecord, bool, error) {
	if owner == "" {
		return orders.JournalRecord{}, false, errors.New("store.Claim: owner is required")
	}
	if err := p.checkFault(OpJournalClaim); err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Claim: %w", err)
	}
	rec, err := scanRecord(p.pool.QueryRow(ctx, `UPDATE order_journal SET lease_owner = $1, lease_until_ms = $2,
		attempts = attempts + 1, updated_ms = $3,
		first_attempt_ms = CASE WHEN first_attempt_ms = 0 THEN $3 ELSE first_attempt_ms END
		WHERE gateway_id = $4 AND state = $5 AND (lease_owner = '' OR lease_owner = $1 OR lease_until_ms < $3)
		RETURNING `+journalColumns, owner, ms(until), ms(now), gatewayID, orders.StatePending))
	if err == nil {
		return rec, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return orders.JournalRecord{}, false, p.wrap("store.Claim", err)
	}
	rec, err = pgGetRecord(ctx, p.pool, gatewayID, false)
	if err != nil {
		return orders.JournalRecord{}, false, p.wrap("store.Claim", err)
	}
	return rec, false, nil
}

// Settle implements orders.Journal.
func (p *Postgres) Settle(ctx context.Context, gatewayID, owner string, st orders.Settlement) error {
	if err := p.checkFault(OpJournalSettle); err != nil {
		return fmt.Errorf("store.Settle: %w", err)
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		cur, err := pgGetRecord(ctx, tx, gatewayID, true)
		if err != nil {
			return err
		}
		if cur.State != orders.StatePending {
			return nil // final states never change
		}
		switch st.State {
		case orders.StateWritten, orders.StateRejected:
			_, err = tx.Exec(ctx, `UPDATE order_journal SET state = $1, exact_id = $2, order_number = $3,
				rejection_reason = $4, last_error = $5, next_attempt_ms = 0, updated_ms = $6, lease_owner = '', lease_until_ms = 0
				WHERE gateway_id = $7`, st.State, st.ExactID, st.OrderNumber, st.RejectionReason, st.LastError, ms(st.At), gatewayID)
			return err
		case orders.StatePending:
			if cur.LeaseOwner != owner {
				return orders.ErrLeaseLost
			}
			_, err = tx.Exec(ctx, `UPDATE order_journal SET last_error = $1, next_attempt_ms = $2, updated_ms = $3,
				lease_owner = '', lease_until_ms = 0 WHERE gateway_id = $4`, st.LastError, ms(st.NextAttempt), ms(st.At), gatewayID)
			return err
		default:
			return fmt.Errorf("unknown state %q", st.State)
		}
	})
	return p.wrap("store.Settle", err)
}

// Due implements orders.Journal.
func (p *Postgres) Due(ctx context.Context, now time.Time, limit int) ([]orders.JournalRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	out, err := p.queryRecords(ctx, `SELECT `+journalColumns+` FROM order_journal
		WHERE state = $1 AND next_attempt_ms <= $2 AND (lease_owner = '' OR lease_until_ms < $2)
		ORDER BY created_ms, gateway_id LIMIT $3`, orders.StatePending, ms(now), limit)
	if err != nil {
		return nil, p.wrap("store.Due", err)
	}
	return out, nil
}

// ByAccount implements orders.Journal.
func (p *Postgres) ByAccount(ctx context.Context, account string, states ...string) ([]orders.JournalRecord, error) {
	q := `SELECT ` + journalColumns + ` FROM order_journal WHERE account = $1`
	args := []any{account}
	if len(states) > 0 {
		ph := make([]string, len(states))
		for i, st := range states {
			args = append(args, st)
			ph[i] = "$" + strconv.Itoa(i+2)
		}
		q += ` AND state IN (` + strings.Join(ph, ", ") + `)`
	}
	q += ` ORDER BY created_ms DESC, gateway_id DESC`
	out, err := p.queryRecords(ctx, q, args...)
	if err != nil {
		return nil, p.wrap("store.ByAccount", err)
	}
	return out, nil
}

func (p *Postgres) queryRecords(ctx context.Context, q string, args ...any) ([]orders.JournalRecord, error) {
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []orders.JournalRecord
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// Pending implements orders.Journal.
func (p *Postgres) Pending(ctx context.Context) (orders.PendingSummary, error) {
	var n int
	var oldest *int64
	if err := p.pool.QueryRow(ctx, `SELECT count(*), min(created_ms) FROM order_journal WHERE state = $1`,
		orders.StatePending).Scan(&n, &oldest); err != nil {
		return orders.PendingSummary{}, p.wrap("store.Pending", err)
	}
	sum := orders.PendingSummary{Count: n}
	if oldest != nil {
		sum.Oldest = fromMS(*oldest)
	}
	return sum, nil
}

var _ orders.Journal = (*Postgres)(nil)
