package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/exactql/exactql/erp"
)

// OpBudget is the fault-hook operation of UpdateBudget (see FailWrites).
const OpBudget = "budget"

// UpdateBudget implements erp.BudgetStore for the embedded file: the
// IMMEDIATE transaction holds SQLite's write lock, which serialises the
// decision against every other process using the file.
func (s *SQLite) UpdateBudget(ctx context.Context, division int, fn func(cur *erp.BudgetRow) (*erp.BudgetRow, error)) error {
	if err := s.checkFault(OpBudget); err != nil {
		return fmt.Errorf("store.UpdateBudget: %w", err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := scanBudget(tx.QueryRowContext(ctx, `SELECT `+budgetColumns+` FROM rate_budget WHERE division = ?`, division))
		if errors.Is(err, sql.ErrNoRows) {
			cur = nil
		} else if err != nil {
			return err
		}
		next, err := fn(cur)
		if err != nil || next == nil {
			return err
		}
		if next.MinuteLimit <= 0 {
			return errors.New("budget row without a minutely limit")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rate_budget (division, `+budgetColumns+`, updated_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (division) DO UPDATE SET minute_limit = excluded.minute_limit,
				minute_remaining = excluded.minute_remaining, minute_reset_ms = excluded.minute_reset_ms,
				minute_known = excluded.minute_known, day_limit = excluded.day_limit,
				day_remaining = excluded.day_remaining, day_reset_ms = excluded.day_reset_ms,
				day_known = excluded.day_known, blocked_until_ms = excluded.blocked_until_ms,
				blocked_minutely = excluded.blocked_minutely, read_tokens = excluded.read_tokens,
				tokens_at_ms = excluded.tokens_at_ms, inflight = excluded.inflight,
				inflight_until_ms = excluded.inflight_until_ms, rate_limited = excluded.rate_limited,
				updated_ms = excluded.updated_ms`,
			append(append([]any{division}, budgetArgs(next)...), s.now().UnixMilli())...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store.UpdateBudget: %w", err)
	}
	return nil
}

var _ erp.BudgetStore = (*SQLite)(nil)
