package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/exactql/exactql/erp"
)

// The shared rate budget rows (erp/budget.go explains the scheme). A
// division's row is locked with SELECT … FOR UPDATE for the whole decision,
// so admitting a call and counting it is one transaction however many
// replicas ask at once. A missing row is created with INSERT … ON CONFLICT
// DO NOTHING first, so the lock always has a row to hold.

const budgetColumns = `minute_limit, minute_remaining, minute_reset_ms, minute_known,
	day_limit, day_remaining, day_reset_ms, day_known, blocked_until_ms, blocked_minutely,
	read_tokens, tokens_at_ms, inflight, inflight_until_ms, rate_limited`

func scanBudget(r rowScanner) (*erp.BudgetRow, error) {
	var b erp.BudgetRow
	var minReset, dayReset, blocked, tokensAt, inflightUntil int64
	err := r.Scan(&b.MinuteLimit, &b.MinuteRemaining, &minReset, &b.MinuteKnown,
		&b.DayLimit, &b.DayRemaining, &dayReset, &b.DayKnown, &blocked, &b.BlockedMinutely,
		&b.ReadTokens, &tokensAt, &b.InFlight, &inflightUntil, &b.RateLimited)
	if err != nil {
		return nil, err
	}
	b.MinuteReset, b.DayReset, b.BlockedUntil = fromMS(minReset), fromMS(dayReset), fromMS(blocked)
	b.TokensAt, b.InFlightUntil = fromMS(tokensAt), fromMS(inflightUntil)
	return &b, nil
}

func budgetArgs(b *erp.BudgetRow) []any {
	return []any{b.MinuteLimit, b.MinuteRemaining, ms(b.MinuteReset), b.MinuteKnown,
		b.DayLimit, b.DayRemaining, ms(b.DayReset), b.DayKnown, ms(b.BlockedUntil), b.BlockedMinutely,
		b.ReadTokens, ms(b.TokensAt), b.InFlight, ms(b.InFlightUntil), b.RateLimited}
}

// UpdateBudget implements erp.BudgetStore.
func (p *Postgres) UpdateBudget(ctx context.Context, division int, fn func(cur *erp.BudgetRow) (*erp.BudgetRow, error)) error {
	if err := p.checkFault(OpBudget); err != nil {
		return fmt.Errorf("store.UpdateBudget: %w", err)
	}
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		// An empty marker row (minute_limit 0) stands for "no row yet".
		if _, err := tx.Exec(ctx, `INSERT INTO rate_budget (division, minute_limit, minute_remaining, minute_reset_ms,
			minute_known, day_limit, day_remaining, day_reset_ms, day_known, blocked_until_ms, blocked_minutely,
			read_tokens, tokens_at_ms, inflight, inflight_until_ms, rate_limited, updated_ms)
			VALUES ($1, 0, 0, 0, false, 0, 0, 0, false, 0, false, 0, 0, 0, 0, 0, 0)
			ON CONFLICT (division) DO NOTHING`, division); err != nil {
			return err
		}
		cur, err := scanBudget(tx.QueryRow(ctx, `SELECT `+budgetColumns+` FROM rate_budget WHERE division = $1 FOR UPDATE`, division))
		if err != nil {
			return err
		}
		if cur.MinuteLimit == 0 {
			cur = nil
		}
		next, err := fn(cur)
		if err != nil || next == nil {
			return err
		}
		if next.MinuteLimit <= 0 {
			return errors.New("budget row without a minutely limit")
		}
		_, err = tx.Exec(ctx, `UPDATE rate_budget SET (`+budgetColumns+`, updated_ms) =
			($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) WHERE division = $1`,
			append(append([]any{division}, budgetArgs(next)...), p.now().UnixMilli())...)
		return err
	})
	return p.wrap("store.UpdateBudget", err)
}

var _ erp.BudgetStore = (*Postgres)(nil)
