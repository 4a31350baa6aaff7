package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exactql/exactql/orders"
)

// The order journal and idempotency records (ARCHITECTURE §6.3–6.4). The
// schema is migration 2 in store.go. The journal row and the idempotency row
// of an order are written in one transaction; the primary key (account,
// idem_key) of idempotency makes concurrent duplicates collapse into one
// order, also across processes sharing the file.

// Fault-hook operations of the journal (see FailWrites).
const (
	OpJournalAccept = "journal_accept"
	OpJournalClaim  = "journal_claim"
	OpJournalSettle = "journal_settle"
)

const journalColumns = `gateway_id, account, idem_key, fingerprint, state, doc, exact_id, order_number,
	rejection_reason, attempts, last_error, created_ms, first_attempt_ms, next_attempt_ms, updated_ms,
	lease_owner, lease_until_ms`

type rowScanner interface {
	Scan(dest ...any) error
}

func scanRecord(r rowScanner) (orders.JournalRecord, error) {
	var rec orders.JournalRecord
	var created, first, next, updated, leaseUntil int64
	err := r.Scan(&rec.GatewayID, &rec.Account, &rec.IdempotencyKey, &rec.Fingerprint, &rec.State, &rec.Doc,
		&rec.ExactID, &rec.OrderNumber, &rec.RejectionReason, &rec.Attempts, &rec.LastError,
		&created, &first, &next, &updated, &rec.LeaseOwner, &leaseUntil)
	if err != nil {
		return orders.JournalRecord{}, err
	}
	rec.Created, rec.FirstAttempt, rec.NextAttempt = fromMS(created), fromMS(first), fromMS(next)
	rec.Updated, rec.LeaseUntil = fromMS(updated), fromMS(leaseUntil)
	return rec, nil
}

func getRecord(ctx context.Context, q queryer, gatewayID string) (orders.JournalRecord, error) {
	rec, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+journalColumns+` FROM order_journal WHERE gateway_id = ?`, gatewayID))
	if errors.Is(err, sql.ErrNoRows) {
		return orders.JournalRecord{}, orders.ErrNoRecord
	}
	return rec, err
}

// Accept implements orders.Journal: it inserts the journal row and the
// idempotency row in one IMMEDIATE transaction, or returns the record the
// key already points to.
func (s *SQLite) Accept(ctx context.Context, rec orders.JournalRecord) (orders.JournalRecord, bool, error) {
	if rec.GatewayID == "" || rec.Account == "" || rec.IdempotencyKey == "" {
		return orders.JournalRecord{}, false, errors.New("store.Accept: gateway ID, account and key are required")
	}
	if err := s.checkFault(OpJournalAccept); err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Accept: %w", err)
	}
	// An order accepted into a deleted or replaced file would be gone
	// after a restart.
	if err := s.CheckIdentity(); err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Accept: %w", err)
	}
	var got orders.JournalRecord
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var existing string
		err := tx.QueryRowContext(ctx, `SELECT gateway_id FROM idempotency WHERE account = ? AND idem_key = ?`,
			rec.Account, rec.IdempotencyKey).Scan(&existing)
		switch {
		case err == nil:
			got, err = getRecord(ctx, tx, existing)
			return err
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if rec.Updated.IsZero() {
			rec.Updated = rec.Created
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_journal (`+journalColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.GatewayID, rec.Account, rec.IdempotencyKey, rec.Fingerprint, rec.State, rec.Doc,
			rec.ExactID, rec.OrderNumber, rec.RejectionReason, rec.Attempts, rec.LastError,
			ms(rec.Created), ms(rec.FirstAttempt), ms(rec.NextAttempt), ms(rec.Updated),
			rec.LeaseOwner, ms(rec.LeaseUntil)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency (account, idem_key, fingerprint, gateway_id, created_ms)
			VALUES (?, ?, ?, ?, ?)`, rec.Account, rec.IdempotencyKey, rec.Fingerprint, rec.GatewayID, ms(rec.Created)); err != nil {
			return err
		}
		got, created = rec, true
		return nil
	})
	if err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Accept: %w", err)
	}
	return got, created, nil
}

// ByKey implements orders.Journal.
func (s *SQLite) ByKey(ctx context.Context, account, key string) (orders.JournalRecord, error) {
	rec, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+prefixed("j.")+` FROM idempotency i
		JOIN order_journal j ON j.gateway_id = i.gateway_id WHERE i.account = ? AND i.idem_key = ?`, account, key))
	if errors.Is(err, sql.ErrNoRows) {
		err = orders.ErrNoRecord
	}
	if err != nil {
		return orders.JournalRecord{}, fmt.Errorf("store.ByKey: %w", err)
	}
	return rec, nil
}

func prefixed(p string) string {
	cols := strings.Split(journalColumns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// Record implements orders.Journal.
func (s *SQLite) Record(ctx context.Context, gatewayID string) (orders.JournalRecord, error) {
	rec, err := getRecord(ctx, s.db, gatewayID)
	if err != nil {
		return orders.JournalRecord{}, fmt.Errorf("store.Record: %w", err)
	}
	return rec, nil
}

// Claim implements orders.Journal with a compare-and-swap UPDATE, so two
// processes never both hold one order.
func (s *SQLite) Claim(ctx context.Context, gatewayID, owner string, now, until time.Time) (orders.JournalRecord, bool, error) {
	if owner == "" {
		return orders.JournalRecord{}, false, errors.New("store.Claim: owner is required")
	}
	if err := s.checkFault(OpJournalClaim); err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Claim: %w", err)
	}
	var rec orders.JournalRecord
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE order_journal SET lease_owner = ?, lease_until_ms = ?,
			attempts = attempts + 1, updated_ms = ?,
			first_attempt_ms = CASE WHEN first_attempt_ms = 0 THEN ? ELSE first_attempt_ms END
			WHERE gateway_id = ? AND state = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until_ms < ?)`,
			owner, ms(until), ms(now), ms(now), gatewayID, orders.StatePending, owner, ms(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		rec, err = getRecord(ctx, tx, gatewayID)
		if err != nil {
			return err
		}
		ok = n == 1
		return nil
	})
	if err != nil {
		return orders.JournalRecord{}, false, fmt.Errorf("store.Claim: %w", err)
	}
	return rec, ok, nil
}

// Settle implements orders.Journal.
func (s *SQLite) Settle(ctx context.Context, gatewayID, owner string, st orders.Settlement) error {
	if err := s.checkFault(OpJournalSettle); err != nil {
		return fmt.Errorf("store.Settle: %w", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := getRecord(ctx, tx, gatewayID)
		if err != nil {
			return err
		}
		if cur.State != orders.StatePending {
			return nil // final states never change
		}
		switch st.State {
		case orders.StateWritten, orders.StateRejected:
			_, err = tx.ExecContext(ctx, `UPDATE order_journal SET state = ?, exact_id = ?, order_number = ?,
				rejection_reason = ?, last_error = ?, next_attempt_ms = 0, updated_ms = ?, lease_owner = '', lease_until_ms = 0
				WHERE gateway_id = ?`, st.State, st.ExactID, st.OrderNumber, st.RejectionReason, st.LastError, ms(st.At), gatewayID)
			return err
		case orders.StatePending:
			if cur.LeaseOwner != owner {
				return orders.ErrLeaseLost
			}
			_, err = tx.ExecContext(ctx, `UPDATE order_journal SET last_error = ?, next_attempt_ms = ?, updated_ms = ?,
				lease_owner = '', lease_until_ms = 0 WHERE gateway_id = ?`, st.LastError, ms(st.NextAttempt), ms(st.At), gatewayID)
			return err
		default:
			return fmt.Errorf("unknown state %q", st.State)
		}
	})
	if err != nil {
		return fmt.Errorf("store.Settle: %w", err)
	}
	return nil
}

// Due implements orders.Journal.
func (s *SQLite) Due(ctx context.Context, now time.Time, limit int) ([]orders.JournalRecord, error) {
	if limit <= 0 {
		limit = 100
	}
	out, err := s.queryRecords(ctx, `SELECT `+journalColumns+` FROM order_journal
		WHERE state = ? AND next_attempt_ms <= ? AND (lease_owner = '' OR lease_until_ms < ?)
		ORDER BY created_ms, gateway_id LIMIT ?`, orders.StatePending, ms(now), ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store.Due: %w", err)
	}
	return out, nil
}

// ByAccount implements orders.Journal.
func (s *SQLite) ByAccount(ctx context.Context, account string, states ...string) ([]orders.JournalRecord, error) {
	q := `SELECT ` + journalColumns + ` FROM order_journal WHERE account = ?`
	args := []any{account}
	if len(states) > 0 {
		q += ` AND state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
		for _, st := range states {
			args = append(args, st)
		}
	}
	q += ` ORDER BY created_ms DESC, gateway_id DESC`
	out, err := s.queryRecords(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store.ByAccount: %w", err)
	}
	return out, nil
}

func (s *SQLite) queryRecords(ctx context.Context, q string, args ...any) ([]orders.JournalRecord, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
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
func (s *SQLite) Pending(ctx context.Context) (orders.PendingSummary, error) {
	var n int
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*), min(created_ms) FROM order_journal WHERE state = ?`,
		orders.StatePending).Scan(&n, &oldest); err != nil {
		return orders.PendingSummary{}, fmt.Errorf("store.Pending: %w", err)
	}
	sum := orders.PendingSummary{Count: n}
	if oldest.Valid {
		sum.Oldest = fromMS(oldest.Int64)
	}
	return sum, nil
}

var _ orders.Journal = (*SQLite)(nil)
