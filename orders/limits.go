package orders

import (
	"fmt"
	"sync"
	"time"
)

// TooManyAttemptsError means the buyer has made more order attempts in the
// current minute than the gateway allows (EXACTQL_ORDER_ATTEMPTS_PER_MINUTE).
// Nothing was looked up, sent or recorded; RetryAfter is how long until the
// buyer may try again.
type TooManyAttemptsError struct {
	RetryAfter time.Duration
}

// Error implements error.
func (e *TooManyAttemptsError) Error() string {
	return fmt.Sprintf("orders: too many order attempts; retry after %s", e.RetryAfter)
}

// AttemptLimiter counts attempts per key (a buyer's account) in fixed
// one-minute windows and refuses those over its limit. One limiter may
// serve several operations that share a buyer's allowance (placeOrder and,
// once it exists, previewOrder). It is safe for concurrent use and keeps at
// most one small entry per key seen in the current window.
type AttemptLimiter struct {
	perMinute int
	now       func() time.Time

	mu      sync.Mutex
	window  time.Time // start of the current window
	counts  map[string]int
	refused uint64
}

// NewAttemptLimiter returns a limiter allowing perMinute attempts per key and
// minute; perMinute <= 0 allows everything. now is the clock (time.Now when
// nil).
func NewAttemptLimiter(perMinute int, now func() time.Time) *AttemptLimiter {
	if now == nil {
		now = time.Now
	}
	return &AttemptLimiter{perMinute: perMinute, now: now, counts: map[string]int{}}
}

// Allow counts one attempt of key. It returns nil when the attempt may go
// ahead and a *TooManyAttemptsError otherwise (the refused attempt is not
// counted against later windows). A nil limiter allows everything.
func (l *AttemptLimiter) Allow(key string) error {
	if l == nil || l.perMinute <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := now.Truncate(time.Minute); !w.Equal(l.window) {
		// A new window: forget the old counts (bounded memory).
		l.window = w
		clear(l.counts)
	}
	if l.counts[key] >= l.perMinute {
		l.refused++
		return &TooManyAttemptsError{RetryAfter: max(l.window.Add(time.Minute).Sub(now), time.Second)}
	}
	l.counts[key]++
	return nil
}

// Refused returns how many attempts were refused since start.
func (l *AttemptLimiter) Refused() uint64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}
