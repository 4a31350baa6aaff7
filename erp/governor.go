package erp

import (
	"container/heap"
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Priority orders calls waiting for the rate budget: order writes go before
// interactive reads, which go before cache refills and other background work.
type Priority int

// The priorities, lowest first.
const (
	PriorityBackground Priority = iota + 1
	PriorityInteractive
	// PriorityFirstPass is the mirror's first full pass (ARCHITECTURE §3:
	// "ahead of fallback reads"): it queues before interactive reads and is
	// not held to the even daily spread of reads (the feeds cap it at a
	// share of each minute themselves); like any read it never spends the
	// write reserve, of the day or of the minute.
	PriorityFirstPass
	PriorityWrite
)

type priorityKey struct{}

// WithPriority returns a context whose Exact calls wait for the budget with
// priority p. A call made with PriorityWrite is also exempt from the daily
// pacing of reads and may spend the write reserve: use it only for order
// writes and the lookups that belong to them.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFromContext returns the priority set by WithPriority, or
// PriorityInteractive.
func PriorityFromContext(ctx context.Context) Priority {
	if p, ok := ctx.Value(priorityKey{}).(Priority); ok && p >= PriorityBackground && p <= PriorityWrite {
		return p
	}
	return PriorityInteractive
}

// GovernorOptions configures a Governor. Zero fields take the defaults named
// in their comments.
type GovernorOptions struct {
	// MinuteLimit is the assumed per-minute limit until a response's
	// X-RateLimit-Minutely-Limit says otherwise (default 60).
	MinuteLimit int
	// DayLimit is the assumed daily limit until X-RateLimit-Limit says
	// otherwise (default 5000).
	DayLimit int
	// Burst is how many reads may go at once above the even daily share
	// (default: the minutely limit).
	Burst int
	// WriteReserve is the fraction of the daily limit only writes may spend
	// (default 0.10; a negative value means none).
	WriteReserve float64
	// MaxWait is the longest a read waits for budget before it fails with a
	// *RateLimitError (default 2 s). Writes wait until their context ends.
	MaxWait time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ErrorCapPerHour is how many 4xx answers one endpoint may have received
	// within an hour before reads (GETs) of it fail fast (default 5). GET and
	// POST answers of an endpoint count together, as at Exact, which blocks
	// the app key after 10: reads stop early so the rest of the hour's
	// headroom stays for order writes.
	ErrorCapPerHour int
	// WriteErrorCapPerHour is the same limit for writes (POST; default 9,
	// one below Exact's block). It is never below ErrorCapPerHour.
	WriteErrorCapPerHour int
	// ResetSlack is added to every reset time Exact announces, because its
	// reset values are only minute-precise (default 1 s).
	ResetSlack time.Duration
	// Window is the assumed length of the minutely window before headers
	// announce its reset (default 1 minute).
	Window time.Duration
}

// GovernorState is a snapshot of a Governor's view of the budget.
type GovernorState struct {
	MinuteLimit     int
	MinuteRemaining int
	MinuteReset     time.Time
	DayLimit        int
	DayRemaining    int
	DayReset        time.Time
	// BlockedUntil is when calls may be sent again after a 429 (zero if not blocked).
	BlockedUntil time.Time
	// ReadTokens is the burst allowance left for reads.
	ReadTokens float64
	InFlight   int
	Waiting    int
	// RateLimited counts 429 responses seen.
	RateLimited int64
}

// Governor paces the calls of one division so that Exact's minutely and
// daily limits are never exceeded. Each call is counted against the budget
// when it starts and reconciled with the headers of its response, so any
// number of concurrent callers cannot overshoot. Use one Governor per
// division; its methods are safe for concurrent use.
type Governor struct {
	now     func() time.Time
	burst   int
	reserve float64
	maxWait time.Duration
	slack   time.Duration
	window  time.Duration
	errCap  int
	wErrCap int

	mu           sync.Mutex
	minLimit     int
	minRemaining int
	minReset     time.Time
	minKnown     bool // the minutely window was announced by Exact
	dayKnown     bool // the daily window was announced by Exact
	dayLimit     int
	dayRemaining int
	dayReset     time.Time
	blockedUntil time.Time
	blockedMin   bool
	tokens       float64
	tokensAt     time.Time
	inflight     int
	waiters      waiterHeap
	seq          uint64
	timer        *time.Timer
	timerAt      time.Time
	rateLimited  int64
	errors       map[string]*endpointErrors
	shared       *sharedBudget // set by ShareBudget (budget.go)
	// A first pass in progress (FirstPassRunning): reads leave it its
	// share of the minute, less what it already used in this window.
	fpRunning int
	fpShare   float64
	fpUsed    int
	fpWindow  time.Time // minReset of the window fpUsed counts in
}

// endpointErrors is one endpoint's error accounting: the times of the 4xx
// answers of the last hour, and the calls in flight, each of which may
// still add one.
type endpointErrors struct {
	at       []time.Time
	inflight int
	wake     chan struct{} // closed when a call ends
}

// NewGovernor returns a Governor with the given options.
func NewGovernor(o GovernorOptions) *Governor {
	g := &Governor{
		now:      o.Now,
		burst:    o.Burst,
		reserve:  o.WriteReserve,
		maxWait:  o.MaxWait,
		slack:    o.ResetSlack,
		window:   o.Window,
		errCap:   o.ErrorCapPerHour,
		wErrCap:  o.WriteErrorCapPerHour,
		minLimit: o.MinuteLimit,
		dayLimit: o.DayLimit,
		errors:   map[string]*endpointErrors{},
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.minLimit <= 0 {
		g.minLimit = 60
	}
	if g.dayLimit <= 0 {
		g.dayLimit = 5000
	}
	switch {
	case g.reserve == 0:
		g.reserve = 0.10
	case g.reserve < 0:
		g.reserve = 0
	case g.reserve > 1:
		g.reserve = 1
	}
	if g.maxWait <= 0 {
		g.maxWait = 2 * time.Second
	}
	if g.slack <= 0 {
		g.slack = time.Second
	}
	if g.window <= 0 {
		g.window = time.Minute
	}
	if g.errCap <= 0 {
		g.errCap = 5
	}
	if g.wErrCap <= 0 {
		g.wErrCap = 9
	}
	g.wErrCap = max(g.wErrCap, g.errCap)
	now := g.now()
	g.dayRemaining = g.dayLimit
	g.dayReset = nextMidnightUTC(now)
	g.tokens = float64(g.burstLocked())
	g.tokensAt = now
	// minReset stays zero: the first call opens the first assumed window.
	return g
}

func nextMidnightUTC(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day()+1, 0, 0, 0, 0, time.UTC)
}

func (g *Governor) burstLocked() int {
	if g.burst > 0 {
		return g.burst
	}
	return g.minLimit
}

// minuteReserveLocked is the part of the minutely limit only writes may
// spend: the write reserve fraction of it, at least one call when there is a
// reserve at all.
func (g *Governor) minuteReserveLocked() int {
	if g.reserve <= 0 {
		return 0
	}
	return max(1, int(math.Ceil(g.reserve*float64(g.minLimit))))
}

func (g *Governor) reserveLocked() int {
	return int(math.Ceil(g.reserve * float64(g.dayLimit)))
}

// readRateLocked is the even share of the daily budget left for reads, per
// second, over the time until the daily reset.
func (g *Governor) readRateLocked(now time.Time) float64 {
	avail := float64(g.dayRemaining - g.reserveLocked())
	if avail <= 0 {
		return 0
	}
	left := g.dayReset.Sub(now).Seconds()
	if left < 1 {
		left = 1
	}
	return avail / left
}

// rollLocked opens new windows whose time has come and refills read tokens.
func (g *Governor) rollLocked(now time.Time) {
	if g.minReset.IsZero() || !now.Before(g.minReset.Add(g.slack)) {
		// Calls still in flight may land in the new window.
		g.minRemaining = g.minLimit - g.inflight
		g.minReset = now.Add(g.window)
		g.minKnown = false
	}
	if !now.Before(g.dayReset.Add(g.slack)) {
		g.dayRemaining = g.dayLimit - g.inflight
		g.dayReset = nextMidnightUTC(now)
		g.dayKnown = false
	}
	if now.After(g.tokensAt) {
		g.tokens += g.readRateLocked(now) * now.Sub(g.tokensAt).Seconds()
		g.tokensAt = now
	}
	if b := float64(g.burstLocked()); g.tokens > b {
		g.tokens = b
	}
}

// admitLocked reports whether a call of priority p may start now, and if not
// when it could at the earliest and whether the minutely window is the cause.
func (g *Governor) admitLocked(p Priority, now time.Time) (ok bool, next time.Time, minutely bool) {
	if now.Before(g.blockedUntil) {
		return false, g.blockedUntil, g.blockedMin
	}
	if g.minRemaining <= 0 {
		return false, g.minReset.Add(g.slack), true
	}
	if p == PriorityWrite {
		if g.dayRemaining <= 0 {
			return false, g.dayReset.Add(g.slack), false
		}
		return true, now, false
	}
	if g.dayRemaining-g.reserveLocked() <= 0 {
		return false, g.dayReset.Add(g.slack), false
	}
	// The write reserve holds for the minutely window too: reads leave the
	// last calls of every minute to order writes (and their validation
	// reads), so browsing can never lock orders out for the rest of a minute.
	if g.minRemaining <= g.minuteReserveLocked() {
		return false, g.minReset.Add(g.slack), true
	}
	if p == PriorityFirstPass {
		return true, now, false
	}
	if hold := g.firstPassHoldLocked(); hold > 0 && g.minRemaining <= g.minuteReserveLocked()+hold {
		return false, g.minReset.Add(g.slack), true
	}
	if g.tokens < 1 {
		rate := g.readRateLocked(now)
		if rate <= 0 {
			return false, g.dayReset.Add(g.slack), false
		}
		d := time.Duration((1 - g.tokens) / rate * float64(time.Second))
		if d < time.Millisecond {
			d = time.Millisecond
		}
		return false, now.Add(d), false
	}
	return true, now, false
}

func (g *Governor) grantLocked(p Priority) {
	g.minRemaining--
	g.dayRemaining--
	g.inflight++
	if p == PriorityFirstPass {
		if !g.fpWindow.Equal(g.minReset) {
			g.fpWindow, g.fpUsed = g.minReset, 0
		}
		g.fpUsed++
	}
	if p != PriorityWrite && p != PriorityFirstPass {
		g.tokens--
	}
}

// waitLocal is Wait on this process's own account (budget.go adds the
// shared one): it blocks until a call of priority p may be sent and returns
// the function to call when the call has finished. A read that would wait
// longer than MaxWait, and any call that would wait past its context's
// deadline, fails at once with a *RateLimitError instead of sleeping.
func (g *Governor) waitLocal(ctx context.Context, p Priority) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g.mu.Lock()
	now := g.now()
	g.rollLocked(now)
	ok, next, minutely := g.admitLocked(p, now)
	if ok && (len(g.waiters) == 0 || g.waiters[0].p < p) {
		g.grantLocked(p)
		g.mu.Unlock()
		return g.releaser(), nil
	}
	if ok {
		next = now // only queued behind others
	}
	// The latest moment this caller accepts, on the governor's clock.
	var limit time.Time
	if p != PriorityWrite {
		limit = now.Add(g.maxWait)
	}
	if dl, has := ctx.Deadline(); has {
		d := now.Add(time.Until(dl))
		if limit.IsZero() || d.Before(limit) {
			limit = d
		}
	}
	if !limit.IsZero() && next.After(limit) {
		g.mu.Unlock()
		return nil, &RateLimitError{Reset: next, Minutely: minutely}
	}
	g.seq++
	w := &waiter{p: p, seq: g.seq, ch: make(chan struct{})}
	heap.Push(&g.waiters, w)
	g.dispatchLocked(now)
	g.mu.Unlock()

	var timeout <-chan time.Time
	if !limit.IsZero() {
		t := time.NewTimer(limit.Sub(now))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-w.ch:
		return g.releaser(), nil
	case <-ctx.Done():
	case <-timeout:
	}
	g.mu.Lock()
	if w.granted {
		g.mu.Unlock()
		return g.releaser(), nil
	}
	heap.Remove(&g.waiters, w.index)
	now = g.now()
	g.rollLocked(now)
	_, next, minutely = g.admitLocked(p, now)
	g.dispatchLocked(now)
	g.mu.Unlock()
	if err := ctx.Err(); err != nil && err != context.DeadlineExceeded {
		return nil, err
	}
	return nil, &RateLimitError{Reset: next, Minutely: minutely}
}

func (g *Governor) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.inflight--
			now := g.now()
			g.rollLocked(now)
			g.dispatchLocked(now)
			g.mu.Unlock()
		})
	}
}

// dispatchLocked admits waiters in priority order while the budget allows and
// arms the timer for the moment the first blocked waiter could go.
func (g *Governor) dispatchLocked(now time.Time) {
	for len(g.waiters) > 0 {
		w := g.waiters[0]
		ok, next, _ := g.admitLocked(w.p, now)
		if !ok {
			g.armLocked(now, next)
			return
		}
		heap.Pop(&g.waiters)
		g.grantLocked(w.p)
		w.granted = true
		close(w.ch)
	}
}

func (g *Governor) armLocked(now, at time.Time) {
	if g.timer != nil && g.timerAt.Equal(at) {
		return
	}
	d := at.Sub(now)
	if d < time.Millisecond {
		d = time.Millisecond
	}
	g.timerAt = at
	if g.timer == nil {
		g.timer = time.AfterFunc(d, g.tick)
		return
	}
	g.timer.Stop()
	g.timer.Reset(d)
}

func (g *Governor) tick() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.timerAt = time.Time{}
	now := g.now()
	g.rollLocked(now)
	g.dispatchLocked(now)
}

// Rate-limit header names (canonical form; Exact's case varies).
const (
	hdrDayLimit     = "X-Ratelimit-Limit"
	hdrDayRemaining = "X-Ratelimit-Remaining"
	hdrDayReset     = "X-Ratelimit-Reset"
	hdrMinLimit     = "X-Ratelimit-Minutely-Limit"
	hdrMinRemaining = "X-Ratelimit-Minutely-Remaining"
	hdrMinReset     = "X-Ratelimit-Minutely-Reset"
)

type rateTrio struct {
	ok        bool
	limit     int
	remaining int
	reset     time.Time
}

func readTrio(h http.Header, limitName, remName, resetName string) rateTrio {
	rem, err1 := strconv.Atoi(h.Get(remName))
	ms, err2 := strconv.ParseInt(h.Get(resetName), 10, 64)
	if err1 != nil || err2 != nil || ms <= 0 {
		return rateTrio{}
	}
	lim, _ := strconv.Atoi(h.Get(limitName))
	return rateTrio{ok: true, limit: lim, remaining: rem, reset: time.UnixMilli(ms)}
}

// reconcile merges a window announced by a response into the local view. The
// other calls in flight are assumed not yet counted by Exact, so the result
// errs on the side of fewer calls. A window the governor only assumed is
// replaced by the announced one.
func (g *Governor) reconcile(now time.Time, t rateTrio, limit, remaining *int, reset *time.Time, known *bool) {
	if t.limit > 0 {
		*limit = t.limit
	}
	if !now.Before(t.reset.Add(g.slack)) {
		return // a window that has already ended
	}
	rem := t.remaining - max(g.inflight-1, 0)
	switch {
	case !*known || t.reset.After(*reset):
		*known = true
		*reset = t.reset
		*remaining = rem
	case t.reset.Before(*reset):
		*known = true
		*reset = t.reset
		*remaining = min(*remaining, rem)
	default:
		*remaining = min(*remaining, rem)
	}
}

// updateLocal is Update on this process's own account (budget.go adds the
// shared one): it reconciles the budget with the X-RateLimit-* headers and
// status of a response. A 429 stops all calls until the announced reset
// (plus slack).
func (g *Governor) updateLocal(h http.Header, status int) {
	day := readTrio(h, hdrDayLimit, hdrDayRemaining, hdrDayReset)
	minute := readTrio(h, hdrMinLimit, hdrMinRemaining, hdrMinReset)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.rollLocked(now)
	if minute.ok {
		g.reconcile(now, minute, &g.minLimit, &g.minRemaining, &g.minReset, &g.minKnown)
	}
	if day.ok {
		g.reconcile(now, day, &g.dayLimit, &g.dayRemaining, &g.dayReset, &g.dayKnown)
	}
	if status == http.StatusTooManyRequests {
		g.rateLimited++
		var until time.Time
		minutely := true
		switch {
		case minute.ok:
			until = minute.reset.Add(g.slack)
			g.minRemaining = 0
		case day.ok && day.remaining <= 0:
			until = day.reset.Add(g.slack)
			g.dayRemaining = 0
			minutely = false
		default:
			// Nothing announced: assume a whole minutely window.
			until = now.Add(g.window + g.slack)
			g.minRemaining = 0
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err == nil && ra > 0 {
			if t := now.Add(time.Duration(ra) * time.Second); t.After(until) {
				until = t
			}
		}
		if until.After(g.blockedUntil) {
			g.blockedUntil = until
			g.blockedMin = minutely
		}
	}
	g.dispatchLocked(now)
}

// Snapshot returns the governor's current view of the budget.
func (g *Governor) Snapshot() GovernorState {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.rollLocked(now)
	s := GovernorState{
		MinuteLimit:     g.minLimit,
		MinuteRemaining: g.minRemaining,
		MinuteReset:     g.minReset,
		DayLimit:        g.dayLimit,
		DayRemaining:    g.dayRemaining,
		DayReset:        g.dayReset,
		ReadTokens:      g.tokens,
		InFlight:        g.inflight,
		Waiting:         len(g.waiters),
		RateLimited:     g.rateLimited,
	}
	if now.Before(g.blockedUntil) {
		s.BlockedUntil = g.blockedUntil
	}
	return s
}

// errorCapped reports whether endpoint has received ErrorCapPerHour 4xx
// answers within the last hour (reads of it would be refused).
func (g *Governor) errorCapped(endpoint string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pruneLocked(endpoint).at) >= g.errCap
}

// recordError counts a 4xx answer from endpoint.
func (g *Governor) recordError(endpoint string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.pruneLocked(endpoint)
	e.at = append(e.at, g.now())
}

// admitErrors lets a call to endpoint go when, even if it and every call
// in flight to the endpoint failed, the endpoint's 4xx answers of the hour
// would stay within the cap of its kind (reads ErrorCapPerHour, writes
// WriteErrorCapPerHour). When the recorded answers alone reach the cap it
// returns capped; when only calls in flight stand in the way it waits for
// one to end (or ctx; a read waits at most MaxWait and then fails with a
// *RateLimitError, as when the budget is short, whose Reset is
// errorRoomLocked's). The returned done must be called once with the
// answer's status (0 for none).
func (g *Governor) admitErrors(ctx context.Context, endpoint string, write bool) (done func(status int), capped bool, err error) {
	limit := g.errCap
	var expired <-chan time.Time
	if write {
		limit = g.wErrCap
	}
	for {
		g.mu.Lock()
		e := g.pruneLocked(endpoint)
		switch {
		case len(e.at) >= limit:
			g.mu.Unlock()
			return nil, true, nil
		case len(e.at)+e.inflight < limit:
			e.inflight++
			g.mu.Unlock()
			var once sync.Once
			return func(status int) { once.Do(func() { g.endCall(endpoint, status) }) }, false, nil
		}
		if e.wake == nil {
			e.wake = make(chan struct{})
		}
		wake := e.wake
		g.mu.Unlock()
		if !write && expired == nil {
			t := time.NewTimer(g.maxWait)
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-expired:
			g.mu.Lock()
			reset := g.errorRoomLocked(endpoint, limit)
			g.mu.Unlock()
			return nil, false, &RateLimitError{Reset: reset, Endpoint: endpoint, ErrorCap: true}
		case <-wake:
		}
	}
}

// errorRoomLocked is when admitErrors lets a call to endpoint go for
// certain, under its own rule (calls in flight count as possible errors):
// the moment enough of the hour's recorded 4xx answers have aged out that,
// even if every call in flight fails now, the endpoint stays under limit.
// A call in flight that ends well frees room earlier, but when is not
// known; this is the earliest time the governor can promise. The caller
// holds g.mu.
func (g *Governor) errorRoomLocked(endpoint string, limit int) time.Time {
	e := g.pruneLocked(endpoint)
	now := g.now()
	// Index of the recorded answer that must age out: after it (and all
	// older ones) leave the hour, len(at)-k-1 + inflight < limit.
	k := len(e.at) + e.inflight - limit
	switch {
	case k < 0:
		return now // room already (a call just ended)
	case k < len(e.at):
		return e.at[k].Add(time.Hour)
	default:
		// The calls in flight alone reach the cap: if they all fail now,
		// their answers hold it for an hour.
		return now.Add(time.Hour)
	}
}

// endCall ends a call admitted by admitErrors: a 4xx answer is counted and
// the calls waiting for a slot look again.
func (g *Governor) endCall(endpoint string, status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.pruneLocked(endpoint)
	e.inflight--
	if status >= 400 && status < 500 {
		e.at = append(e.at, g.now())
	}
	if e.wake != nil {
		close(e.wake)
		e.wake = nil
	}
}

// EndpointErrors returns, per endpoint, the 4xx answers counted within the
// last hour.
func (g *Governor) EndpointErrors() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for ep := range g.errors {
		if n := len(g.pruneLocked(ep).at); n > 0 {
			out[ep] = n
		}
	}
	return out
}

// pruneLocked drops the endpoint's answers older than an hour and returns
// its accounting. The caller holds g.mu.
func (g *Governor) pruneLocked(endpoint string) *endpointErrors {
	e := g.errors[endpoint]
	if e == nil {
		e = &endpointErrors{}
		g.errors[endpoint] = e
	}
	cutoff := g.now().Add(-time.Hour)
	i := 0
	for i < len(e.at) && !e.at[i].After(cutoff) {
		i++
	}
	e.at = e.at[i:]
	return e
}

type waiter struct {
	p       Priority
	seq     uint64
	ch      chan struct{}
	granted bool
	index   int
}

// waiterHeap orders waiters by priority (highest first), then arrival.
type waiterHeap []*waiter

func (h waiterHeap) Len() int { return len(h) }
func (h waiterHeap) Less(i, j int) bool {
	if h[i].p != h[j].p {
		return h[i].p > h[j].p
	}
	return h[i].seq < h[j].seq
}
func (h waiterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *waiterHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waiterHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// FirstPassRunning tells g that a first-pass read of the mirror is running
// until done is called: meanwhile reads (interactive and background) leave
// it share of each minute's limit, less the first-pass calls already made
// in that minute, so fallback reads admitted while no first-pass call
// happens to be waiting cannot spend the minute the pass needs. Writes are
// not held back.
func (g *Governor) FirstPassRunning(share float64) (done func()) {
	g.mu.Lock()
	g.fpRunning++
	g.fpShare = share
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.fpRunning--
			now := g.now()
			g.rollLocked(now)
			g.dispatchLocked(now)
			g.mu.Unlock()
		})
	}
}

// firstPassHoldLocked is how many calls of the current minute reads must
// leave to a running first pass.
func (g *Governor) firstPassHoldLocked() int {
	if g.fpRunning <= 0 || g.fpShare <= 0 {
		return 0
	}
	used := g.fpUsed
	if !g.fpWindow.Equal(g.minReset) {
		used = 0
	}
	return max(0, int(math.Ceil(g.fpShare*float64(g.minLimit)))-used)
}
