// Package callerlimit limits the Exact calls one caller causes
// (ARCHITECTURE.md §7): each caller, identified by a key taken from the
// request context (its token's sub, or its client address when anonymous),
// may cause at most a configured number of Exact calls per minute, so one
// client cannot spend the division's budget.
//
// The check sits where Exact calls happen (the erp client asks Allow before
// every HTTP call), not in front of HTTP handlers: cache hits and requests
// that join a fetch already in flight never reach the erp client and so
// cost nothing. Background refreshes (cache.IsRefresh) and calls made
// without a caller key are shared work and are never charged.
package callerlimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exactql/exactql/cache"
)

// DefaultPerMinute is the default budget of Exact calls per caller and
// minute (EXACTQL_CALLER_BUDGET).
const DefaultPerMinute = 30

// DefaultMaxCallers bounds how many callers are tracked at once; see
// Limiter for what happens beyond it.
const DefaultMaxCallers = 100_000

// window is the period the budget refers to.
const window = time.Minute

// ErrInvalid reports a bad argument to New.
var ErrInvalid = errors.New("callerlimit: invalid argument")

// KeyFunc returns the key of the caller carried by ctx, or "" when ctx
// carries no caller (such calls are never charged). The gateway passes a
// function reading resolvers.FromContext(ctx).BudgetKey().
type KeyFunc func(ctx context.Context) string

// LimitedError is returned by Allow when the caller has spent its budget.
// RetryAfter is how long until the caller may cause one more call.
type LimitedError struct {
	RetryAfter time.Duration
}

// Error implements error. It names neither the caller nor its address.
func (e *LimitedError) Error() string {
	return fmt.Sprintf("callerlimit: caller's budget of Exact calls is spent; retry in %ds", e.RetryAfterSeconds())
}

// CallerScoped marks the error as the caller's own (cache.CallerScoped):
// callers that joined a cache load this error ended load the data on their
// own budget instead of inheriting it.
func (e *LimitedError) CallerScoped() bool { return true }

var _ cache.CallerScoped = (*LimitedError)(nil)

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, at least 1,
// for a Retry-After header or the retryAfterSeconds error extension.
func (e *LimitedError) RetryAfterSeconds() int {
	s := int(math.Ceil(e.RetryAfter.Seconds()))
	return max(s, 1)
}

// Limiter is a token bucket per caller: a caller starts with perMinute
// calls and regains them at perMinute per minute, so over any minute it
// causes at most about perMinute calls (plus what it had saved, at most
// perMinute). It is safe for concurrent use; a nil *Limiter allows
// everything.
//
// Memory is bounded: a caller whose bucket has refilled is forgotten by a
// sweep that runs at most once a minute (forgetting a full bucket loses
// nothing), and when DefaultMaxCallers callers with partly spent budgets
// are tracked at once an arbitrary one is forgotten to make room, which
// only ever gives that caller its full budget back early.
type Limiter struct {
	perMinute  int
	rate       float64 // calls regained per second
	key        KeyFunc
	now        func() time.Time
	maxCallers int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time

	refusals atomic.Uint64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a Limiter allowing each caller perMinute Exact calls per
// minute. perMinute 0 turns the limit off (Allow always succeeds); key
// reads the caller's key from a context; now is the clock (nil means
// time.Now). A negative perMinute or a nil key is ErrInvalid.
func New(perMinute int, key KeyFunc, now func() time.Time) (*Limiter, error) {
	if perMinute < 0 {
		return nil, fmt.Errorf("callerlimit.New: negative budget %d: %w", perMinute, ErrInvalid)
	}
	if key == nil {
		return nil, fmt.Errorf("callerlimit.New: nil KeyFunc: %w", ErrInvalid)
	}
	if now == nil {
		now = time.Now
	}
	return &Limiter{
		perMinute:  perMinute,
		rate:       float64(perMinute) / window.Seconds(),
		key:        key,
		now:        now,
		maxCallers: DefaultMaxCallers,
		buckets:    make(map[string]*bucket),
	}, nil
}

// Allow charges one Exact call to the caller in ctx. It returns a
// *LimitedError when that caller has spent its budget, and nil when the
// call may go ahead: always for a nil or disabled Limiter, for background
// refreshes (cache.IsRefresh) and for contexts without a caller key.
func (l *Limiter) Allow(ctx context.Context) error {
	if l == nil || l.perMinute == 0 || cache.IsRefresh(ctx) {
		return nil
	}
	k := l.key(ctx)
	if k == "" {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweepLocked(now)
	b := l.buckets[k]
	if b == nil {
		if len(l.buckets) >= l.maxCallers {
			for victim := range l.buckets { // map order: an arbitrary caller
				delete(l.buckets, victim)
				break
			}
		}
		b = &bucket{tokens: float64(l.perMinute), last: now}
		l.buckets[k] = b
	}
	l.refillLocked(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	l.refusals.Add(1)
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
	return &LimitedError{RetryAfter: wait}
}

// refillLocked adds the calls regained since b was last seen. A clock that
// went backwards regains nothing.
func (l *Limiter) refillLocked(b *bucket, now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(float64(l.perMinute), b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
}

// sweepLocked forgets callers whose buckets are full again, at most once
// per window.
func (l *Limiter) sweepLocked(now time.Time) {
	if now.Sub(l.lastSweep) < window && !now.Before(l.lastSweep) {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		l.refillLocked(b, now)
		if b.tokens >= float64(l.perMinute) {
			delete(l.buckets, k)
		}
	}
}

// Refusals is the number of calls refused since start, for metrics.
func (l *Limiter) Refusals() uint64 {
	if l == nil {
		return 0
	}
	return l.refusals.Load()
}

// Callers is the number of callers currently tracked.
func (l *Limiter) Callers() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
