package erp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// A shared rate budget (ARCHITECTURE §11): Exact counts calls per app and
// division, so gateway replicas that share one database must also share one
// account of the minutely and daily windows. The scheme:
//
//   - One row per division (BudgetRow) holds exactly the state a Governor
//     keeps in memory: both windows, the 429 block, the read-pacing tokens
//     and the calls in flight.
//   - Admission and accounting are one transaction: the store locks the row
//     (SELECT … FOR UPDATE in PostgreSQL, an IMMEDIATE transaction in
//     SQLite), the Governor's own rules (rollLocked, admitLocked,
//     grantLocked) decide on it, and the debited row is written back before
//     the lock is released. Two replicas can therefore never both spend the
//     last call of a window, and the write reserve and write priority hold
//     across replicas because every replica's reads are refused once only
//     the reserve is left.
//   - Every response's X-RateLimit-* headers are merged into the row with
//     the Governor's reconcile rules (the other calls in flight, across all
//     replicas, are assumed not yet counted by Exact), and a 429 blocks every
//     replica until the announced reset.
//   - A replica that dies with calls in flight leaks them in the row's
//     in-flight count; that only makes the budget stricter, and the count is
//     dropped once no call was admitted for inFlightExpiry (longer than any
//     call can take).
//
// The local Governor still runs first (priority queue, waits, its own view),
// so a call needs both the local and the shared admission; the stricter one
// decides.

// inFlightExpiry is how long after the last admission the shared in-flight
// count is trusted; every call ends well within it (HTTP timeout 30 s).
const inFlightExpiry = 2 * time.Minute

// ErrBudgetUnavailable is wrapped by the error Governor.Wait returns when the
// shared rate budget could not be read or written (database unreachable).
// Nothing is sent to Exact then: without the shared account a call could
// push the replicas together over Exact's limits.
var ErrBudgetUnavailable = errors.New("erp: shared rate budget unavailable")

// BudgetRow is the shared state of one division's rate budget, as stored by a
// BudgetStore. Its fields mirror a Governor's accounting.
type BudgetRow struct {
	MinuteLimit     int
	MinuteRemaining int
	MinuteReset     time.Time
	MinuteKnown     bool // the minutely window was announced by Exact
	DayLimit        int
	DayRemaining    int
	DayReset        time.Time
	DayKnown        bool
	BlockedUntil    time.Time
	BlockedMinutely bool
	ReadTokens      float64
	TokensAt        time.Time
	// InFlight counts admitted calls not yet released, over all replicas.
	InFlight int
	// InFlightUntil is when InFlight stops being trusted (see inFlightExpiry).
	InFlightUntil time.Time
	// RateLimited counts the 429 responses seen by all replicas.
	RateLimited int64
}

// BudgetStore keeps BudgetRows durably for a SharedBudget. It is implemented
// by store.Postgres and store.SQLite.
type BudgetStore interface {
	// UpdateBudget runs fn on the division's row inside one transaction that
	// holds the row's lock against every other process, so fn's decision
	// and the row it returns are atomic. cur is nil when the division has
	// no row yet. A non-nil row returned with a nil error is written before
	// the transaction commits; an error rolls everything back.
	UpdateBudget(ctx context.Context, division int, fn func(cur *BudgetRow) (*BudgetRow, error)) error
}

// BudgetDecision is a BudgetLedger's answer to one admission request.
type BudgetDecision struct {
	// OK means the call was admitted and already counted.
	OK bool
	// RetryAt is the earliest moment a refused call could be admitted.
	RetryAt time.Time
	// Minutely is true when the minutely window (or a 429 announced for it)
	// is the reason for a refusal.
	Minutely bool
}

// BudgetLedger is the shared account a Governor consults, besides its own,
// when several processes call Exact for one division.
type BudgetLedger interface {
	// Admit decides whether one call of priority p may start at now and, if
	// so, counts it, atomically.
	Admit(ctx context.Context, division int, p Priority, now time.Time) (BudgetDecision, error)
	// Release records that an admitted call has finished.
	Release(ctx context.Context, division int, now time.Time) error
	// Reconcile merges a response's X-RateLimit-* headers and status into
	// the shared account.
	Reconcile(ctx context.Context, division int, h http.Header, status int, now time.Time) error
}

// SharedBudget is the BudgetLedger over a BudgetStore. It applies the same
// rules as a Governor built with the same options.
type SharedBudget struct {
	store BudgetStore
	opts  GovernorOptions
}

// NewSharedBudget returns a SharedBudget keeping its rows in s; o gives the
// assumed limits, burst, write reserve, slack and window (Now and MaxWait
// are ignored: the caller passes the time).
func NewSharedBudget(s BudgetStore, o GovernorOptions) *SharedBudget {
	o.Now = nil
	return &SharedBudget{store: s, opts: o}
}

// scratch returns a Governor holding row's state at now, to apply the
// Governor's rules to it. It starts no timer: it never has waiters.
func (b *SharedBudget) scratch(row *BudgetRow, now time.Time) *Governor {
	o := b.opts
	o.Now = func() time.Time { return now }
	g := NewGovernor(o)
	if row == nil {
		return g
	}
	g.minLimit, g.minRemaining, g.minReset, g.minKnown = row.MinuteLimit, row.MinuteRemaining, row.MinuteReset, row.MinuteKnown
	g.dayLimit, g.dayRemaining, g.dayReset, g.dayKnown = row.DayLimit, row.DayRemaining, row.DayReset, row.DayKnown
	g.blockedUntil, g.blockedMin = row.BlockedUntil, row.BlockedMinutely
	g.tokens, g.tokensAt = row.ReadTokens, row.TokensAt
	g.inflight = row.InFlight
	if !row.InFlightUntil.IsZero() && now.After(row.InFlightUntil) {
		g.inflight = 0
	}
	g.rateLimited = row.RateLimited
	return g
}

func rowOf(g *Governor, inFlightUntil time.Time) *BudgetRow {
	return &BudgetRow{
		MinuteLimit: g.minLimit, MinuteRemaining: g.minRemaining, MinuteReset: g.minReset, MinuteKnown: g.minKnown,
		DayLimit: g.dayLimit, DayRemaining: g.dayRemaining, DayReset: g.dayReset, DayKnown: g.dayKnown,
		BlockedUntil: g.blockedUntil, BlockedMinutely: g.blockedMin,
		ReadTokens: g.tokens, TokensAt: g.tokensAt, InFlight: g.inflight, InFlightUntil: inFlightUntil,
		RateLimited: g.rateLimited,
	}
}

func keepUntil(row *BudgetRow) time.Time {
	if row == nil {
		return time.Time{}
	}
	return row.InFlightUntil
}

// Admit implements BudgetLedger in one UpdateBudget transaction.
func (b *SharedBudget) Admit(ctx context.Context, division int, p Priority, now time.Time) (BudgetDecision, error) {
	var d BudgetDecision
	err := b.store.UpdateBudget(ctx, division, func(cur *BudgetRow) (*BudgetRow, error) {
		g := b.scratch(cur, now)
		g.rollLocked(now)
		ok, next, minutely := g.admitLocked(p, now)
		d = BudgetDecision{OK: ok, RetryAt: next, Minutely: minutely}
		until := keepUntil(cur)
		if ok {
			g.grantLocked(p)
			until = now.Add(inFlightExpiry)
		}
		return rowOf(g, until), nil
	})
	if err != nil {
		return BudgetDecision{}, fmt.Errorf("erp.SharedBudget.Admit: %w", err)
	}
	return d, nil
}

// Release implements BudgetLedger.
func (b *SharedBudget) Release(ctx context.Context, division int, now time.Time) error {
	err := b.store.UpdateBudget(ctx, division, func(cur *BudgetRow) (*BudgetRow, error) {
		if cur == nil {
			return nil, nil
		}
		g := b.scratch(cur, now)
		if g.inflight > 0 {
			g.inflight--
		}
		g.rollLocked(now)
		return rowOf(g, cur.InFlightUntil), nil
	})
	if err != nil {
		return fmt.Errorf("erp.SharedBudget.Release: %w", err)
	}
	return nil
}

// Reconcile implements BudgetLedger with the Governor's Update rules.
func (b *SharedBudget) Reconcile(ctx context.Context, division int, h http.Header, status int, now time.Time) error {
	err := b.store.UpdateBudget(ctx, division, func(cur *BudgetRow) (*BudgetRow, error) {
		g := b.scratch(cur, now)
		g.updateLocal(h, status)
		return rowOf(g, keepUntil(cur)), nil
	})
	if err != nil {
		return fmt.Errorf("erp.SharedBudget.Reconcile: %w", err)
	}
	return nil
}

// sharedBudget is a Governor's link to a BudgetLedger.
type sharedBudget struct {
	ledger   BudgetLedger
	division int
	errs     atomic.Int64
}

// ShareBudget makes g consult l for every call, besides its own account, as
// the division's budget is shared with other processes. Call it before the
// governor is used for the division's calls.
func (g *Governor) ShareBudget(l BudgetLedger, division int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if l == nil {
		g.shared = nil
		return
	}
	g.shared = &sharedBudget{ledger: l, division: division}
}

// SharedBudgetErrors counts the shared-ledger operations that failed (the
// database was unreachable); 0 without a shared budget.
func (g *Governor) SharedBudgetErrors() int64 {
	if sh := g.sharedLink(); sh != nil {
		return sh.errs.Load()
	}
	return 0
}

func (g *Governor) sharedLink() *sharedBudget {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.shared
}

// ledgerTimeout bounds one ledger operation that has no caller context
// (reconciling, releasing).
const ledgerTimeout = 5 * time.Second

// Wait blocks until a call of priority p may be sent and returns the function
// to call when the call has finished (after Update with its response
// headers). A read that would wait longer than MaxWait, and any call that
// would wait past its context's deadline, fails at once with a
// *RateLimitError instead of sleeping. With a shared budget (ShareBudget) the
// call must also be admitted by the ledger; an unreachable ledger fails the
// call with an error wrapping ErrBudgetUnavailable, and nothing is sent.
func (g *Governor) Wait(ctx context.Context, p Priority) (release func(), err error) {
	sh := g.sharedLink()
	if sh == nil {
		return g.waitLocal(ctx, p)
	}
	// The latest moment (real time) this caller accepts for the shared
	// admission; the local wait applies its own limit on each round.
	var deadline time.Time
	if p != PriorityWrite {
		deadline = time.Now().Add(g.maxWait)
	}
	if dl, ok := ctx.Deadline(); ok && (deadline.IsZero() || dl.Before(deadline)) {
		deadline = dl
	}
	for {
		local, err := g.waitLocal(ctx, p)
		if err != nil {
			return nil, err
		}
		d, err := sh.ledger.Admit(ctx, sh.division, p, g.now())
		if err != nil {
			sh.errs.Add(1)
			g.refund(p)
			local()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("erp.Governor.Wait: %w: %w", ErrBudgetUnavailable, err)
		}
		if d.OK {
			return g.sharedReleaser(sh, local), nil
		}
		// Another replica spent the budget: this call was not made, so its
		// local debit is undone before waiting for the shared window.
		g.refund(p)
		local()
		wait := max(d.RetryAt.Sub(g.now()), time.Millisecond)
		if !deadline.IsZero() && time.Now().Add(wait).After(deadline) {
			return nil, &RateLimitError{Reset: d.RetryAt, Minutely: d.Minutely}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// refund undoes the local debit of a call that was granted locally but never
// sent.
func (g *Governor) refund(p Priority) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.minRemaining = min(g.minRemaining+1, g.minLimit)
	g.dayRemaining = min(g.dayRemaining+1, g.dayLimit)
	if p != PriorityWrite && p != PriorityFirstPass {
		g.tokens = min(g.tokens+1, float64(g.burstLocked()))
	}
}

func (g *Governor) sharedReleaser(sh *sharedBudget, local func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			local()
			ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
			defer cancel()
			// A failed release leaves the call counted in flight until
			// inFlightExpiry: stricter, never looser.
			if err := sh.ledger.Release(ctx, sh.division, g.now()); err != nil {
				sh.errs.Add(1)
			}
		})
	}
}

// Update reconciles the budget with the X-RateLimit-* headers and status of a
// response. A 429 stops all calls until the announced reset (plus slack);
// with a shared budget it stops every process's calls.
func (g *Governor) Update(h http.Header, status int) {
	g.updateLocal(h, status)
	sh := g.sharedLink()
	if sh == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), ledgerTimeout)
	defer cancel()
	if err := sh.ledger.Reconcile(ctx, sh.division, h, status, g.now()); err != nil {
		sh.errs.Add(1)
	}
}
