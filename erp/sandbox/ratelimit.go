package sandbox

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// window is a fixed counting window aligned to the clock: it starts at a
// multiple of its length since the zero time, so with the default lengths the
// minute window starts on the minute and the day window at midnight UTC.
type window struct {
	start time.Time
	used  int
}

func (w *window) roll(now time.Time, length time.Duration) {
	if s := now.Truncate(length); !s.Equal(w.start) {
		w.start, w.used = s, 0
	}
}

type budget struct {
	minute, day window
}

type rateKey struct {
	clientID string
	division int
}

type errKey struct {
	endpoint string
}

// limiter keeps the call budgets per client id and division, and the error
// counts per endpoint.
type limiter struct {
	mu      sync.Mutex
	budgets map[rateKey]*budget
	errs    map[errKey]*window
}

func newLimiter() *limiter {
	return &limiter{budgets: map[rateKey]*budget{}, errs: map[errKey]*window{}}
}

// rateInfo is what the six rate-limit headers say.
type rateInfo struct {
	dayLimit, dayRemaining, minLimit, minRemaining int
	dayReset, minReset                             time.Time
}

func (ri rateInfo) setHeaders(h http.Header, withDaily bool) {
	if withDaily {
		h.Set("X-RateLimit-Limit", strconv.Itoa(ri.dayLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(ri.dayRemaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ri.dayReset.UnixMilli(), 10))
	}
	h.Set("X-RateLimit-Minutely-Limit", strconv.Itoa(ri.minLimit))
	h.Set("X-RateLimit-Minutely-Remaining", strconv.Itoa(ri.minRemaining))
	h.Set("X-RateLimit-Minutely-Reset", strconv.FormatInt(ri.minReset.UnixMilli(), 10))
}

// take consumes one call of k's budget when consume is set and budget is
// left. It reports the state after the call and whether the call is allowed.
func (s *Sandbox) take(k rateKey, consume bool) (rateInfo, bool) {
	now := s.clock.Now()
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.budgets[k]
	if b == nil {
		b = &budget{}
		l.budgets[k] = b
	}
	b.minute.roll(now, s.opts.MinuteLength)
	b.day.roll(now, s.opts.DayLength)
	ok := b.minute.used < s.opts.MinuteLimit && b.day.used < s.opts.DayLimit
	if ok && consume {
		b.minute.used++
		b.day.used++
	}
	return rateInfo{
		dayLimit: s.opts.DayLimit, dayRemaining: max(s.opts.DayLimit-b.day.used, 0),
		dayReset: b.day.start.Add(s.opts.DayLength),
		minLimit: s.opts.MinuteLimit, minRemaining: max(s.opts.MinuteLimit-b.minute.used, 0),
		minReset: b.minute.start.Add(s.opts.MinuteLength),
	}, ok
}

func (s *Sandbox) hourLength() time.Duration { return 60 * s.opts.MinuteLength }

// countError records an error answer (400, 401, 403, 404) on endpoint.
func (s *Sandbox) countError(endpoint string) {
	now := s.clock.Now()
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.errs[errKey{endpoint}]
	if w == nil {
		w = &window{}
		l.errs[errKey{endpoint}] = w
	}
	w.roll(now, s.hourLength())
	w.used++
}

// blockedUntil reports whether endpoint is blocked for too many errors and
// until when.
func (s *Sandbox) blockedUntil(endpoint string) (time.Time, bool) {
	if !s.opts.BlockAfterErrors {
		return time.Time{}, false
	}
	now := s.clock.Now()
	l := s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.errs[errKey{endpoint}]
	if w == nil {
		return time.Time{}, false
	}
	w.roll(now, s.hourLength())
	if w.used < errorBlockThreshold {
		return time.Time{}, false
	}
	return w.start.Add(s.hourLength()), true
}

// errorBlockThreshold is Exact's limit of error answers per endpoint per hour.
const errorBlockThreshold = 10

func isCountedError(status int) bool {
	return status == 400 || status == 401 || status == 403 || status == 404
}
