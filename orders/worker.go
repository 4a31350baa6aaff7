package orders

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/exactql/exactql/erp"
)

// dueBatch is how many due orders one RunOnce takes from the journal.
const dueBatch = 50

// searchWindow is how far before an order's first attempt the worker looks
// for it in Exact: a day, so no time-zone confusion can hide it (§3 Dates).
const searchWindow = 24 * time.Hour

// Run is the background worker: it processes due pending orders (RunOnce)
// at start, which resumes the journal's pending orders after a restart, and
// then every PollInterval, until ctx ends. It returns nil when ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.o.PollInterval)
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("order worker")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunOnce processes the pending orders that are due now, once: each is
// claimed (a lease in the journal, so no two workers, also in different
// processes, send one order at the same time), looked for in Exact by its
// reference (ARCHITECTURE §6.8) and only when not found POSTed again. It
// returns how many orders it attempted.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	now := s.o.Now()
	recs, err := s.o.Journal.Due(ctx, now, dueBatch)
	if err != nil {
		return 0, fmt.Errorf("orders.RunOnce: %w", err)
	}
	n := 0
	var firstErr error
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		owner, err := newUUID()
		if err != nil {
			return n, fmt.Errorf("orders.RunOnce: %w", err)
		}
		now := s.o.Now()
		rec, ok, err := s.o.Journal.Claim(ctx, r.GatewayID, owner, now, now.Add(s.o.LeaseTTL))
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("orders.RunOnce: %w", err)
			}
			continue
		}
		if !ok {
			continue
		}
		n++
		s.resume(ctx, rec, owner)
	}
	return n, firstErr
}

// resume makes one worker attempt for a claimed pending order.
func (s *Service) resume(ctx context.Context, rec JournalRecord, owner string) {
	// The journal gets 10 s from when it is written to, not from the start
	// of the attempt: the search below may wait on Exact's rate limit.
	journal := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	log := s.log.With().Str("order", rec.GatewayID).Int("attempt", rec.Attempts).Logger()
	retry := func(err error) {
		now := s.o.Now()
		next := s.nextAttempt(rec.Attempts, now, err)
		log.Warn().Err(err).Time("next_attempt", next).Msg("pending order not settled; retrying later")
		jctx, cancel := journal()
		defer cancel()
		if serr := s.o.Journal.Settle(jctx, rec.GatewayID, owner, Settlement{State: StatePending, LastError: errText(err), NextAttempt: next, At: now}); serr != nil {
			log.Error().Err(serr).Msg("journal: recording a pending attempt failed")
		}
		s.count(OutcomeRetryLater)
	}
	d, err := decodeDoc(rec)
	if err != nil {
		retry(err)
		return
	}
	from := rec.FirstAttempt
	if from.IsZero() || (!rec.Created.IsZero() && rec.Created.Before(from)) {
		from = rec.Created
	}
	// The reference is matched here rather than with substringof on
	// Remarks: whether Exact filters its memo fields that way is
	// UNCONFIRMED, and a buyer's orders of about a day are few.
	sctx, scancel := context.WithTimeout(erp.WithPriority(ctx, erp.PriorityWrite), s.o.AttemptTimeout)
	found, err := s.o.Exact.OrdersSince(sctx, rec.Account, from.Add(-searchWindow))
	scancel()
	if err != nil {
		retry(err)
		return
	}
	for i := range found {
		if refOf(found[i].Remarks) == rec.GatewayID {
			log.Info().Str("exact_id", found[i].OrderID).Msg("pending order found in Exact")
			jctx, cancel := journal()
			defer cancel()
			s.settleWritten(jctx, rec, owner, &found[i], s.o.Now(), log)
			s.count(OutcomeFound)
			return
		}
	}
	if _, err := s.send(ctx, rec, d, owner, false); err != nil {
		log.Error().Err(err).Msg("order worker")
	}
}

// nextAttempt is when a pending order is tried again after its attempts-th
// attempt: exponential backoff from RetryBase up to RetryMax with jitter
// (half fixed, half random), and never before a rate limit's reset.
func (s *Service) nextAttempt(attempts int, now time.Time, err error) time.Time {
	d := s.o.RetryBase
	for i := 1; i < attempts && d < s.o.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.o.RetryMax)
	half := d / 2
	wait := half + time.Duration(rand.Int64N(int64(d-half)+1))
	next := now.Add(wait)
	var rl *erp.RateLimitError
	if errors.As(err, &rl) && rl.Reset.After(next) {
		next = rl.Reset
	}
	return next
}
