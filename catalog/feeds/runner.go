// Package feeds fills the mirror (ARCHITECTURE §3): it reads Exact's sync/
// feeds and the small reference sets, commits rows and watermarks together
// to a Store, and tells a subscriber (the in-memory indexes of
// catalog/index) what changed. A Runner schedules the feeds inside a share
// of Exact's daily budget, runs a first full pass at no more than half of
// each minute's limit, resumes from the stored watermarks after a restart,
// and polls a feed early when a webhook wakes it.
package feeds

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/exactql/exactql/erp"
)

// Defaults of Options.
const (
	DefaultShare       = 0.3
	DefaultMinInterval = 15 * time.Second
	DefaultWakeDelay   = 2 * time.Second
	// DefaultMinuteShare is the part of each minute's Exact limit the feeds
	// may use (ARCHITECTURE §3: the first pass may use half).
	DefaultMinuteShare = 0.5
	// wakeShare is the part of the sync budget kept for polls woken by
	// webhooks; scheduled polls are planned on the rest.
	wakeShare = 0.1
	// maxBackoff bounds the wait after a failed read.
	maxBackoff = 5 * time.Minute
)

// Change is one row the runner applied. Row is the feed's erp record
// (erp.SyncItem, erp.SyncSalesItemPrice, erp.SyncVolumeDiscount,
// erp.StockPosition, erp.SyncAccount, erp.SyncContact, erp.SyncAddress,
// erp.SyncSalesOrderHeader, erp.SyncSalesOrderLine, erp.ItemGroup,
// erp.Warehouse, erp.ShippingMethod, erp.SalesPriceList,
// erp.SalesPriceListPeriod); it is nil when Deleted.
type Change struct {
	Feed    string
	Key     string
	Row     any
	Deleted bool
}

// Subscriber receives every committed change, in commit order, and at Run's
// start every stored row. Calls never overlap; a slow subscriber delays the
// feeds, so it should only update in-memory state.
type Subscriber func(changes []Change)

// Options configure New. Client and Store are required.
type Options struct {
	// Client is the Exact client; its governor paces every call.
	Client *erp.Client
	// Store persists rows and feed states.
	Store Store
	// Subscriber is told about changes (optional).
	Subscriber Subscriber
	// Share is the part of Exact's daily limit steady-state polling may
	// spend (EXACTQL_SYNC_SHARE; default DefaultShare; at most 1).
	Share float64
	// Weights override DefaultWeights per feed.
	Weights map[string]float64
	// MinInterval is the shortest scheduled interval of any feed (default
	// DefaultMinInterval), whatever the daily limit allows.
	MinInterval time.Duration
	// WakeDelay debounces webhook wake-ups: a woken feed is polled this
	// long after the first wake, once for all wakes in between (default
	// DefaultWakeDelay).
	WakeDelay time.Duration
	// MinuteShare is the part of each minute's Exact limit the feeds may use
	// (default DefaultMinuteShare).
	MinuteShare float64
	// Now, Sleep and After are the clock (defaults: real time). Sleep waits
	// for pacing; After times the scheduler and must be interruptible by
	// Wake, so it returns a channel.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	After func(d time.Duration) <-chan time.Time
}

// feedRun is a feed's live state. Guarded by Runner.mu.
type feedRun struct {
	spec
	index  int
	weight float64
	state  State
	keys   map[string]struct{}
	due    time.Time
	// woken is when a wake asked for a poll that has not started yet (zero:
	// none); a wake during a poll is served by another poll after it.
	woken    time.Time
	cost     int // calls the last successful read took
	calls    int64
	failures int
	errCode  string
}

// Runner runs the feeds. Create it with New, then call Run.
type Runner struct {
	o      Options
	client *erp.Client

	mu     sync.Mutex
	feeds  []*feedRun
	byName map[string]*feedRun
	// window holds the times of the feeds' calls in the last minute.
	window []time.Time
	// tokens is the steady-state day budget bucket.
	tokens   float64
	tokensAt time.Time
	started  bool
	// pos is the change log position the in-memory rows reflect (stores
	// that are a ChangeLog; see CatchUp).
	pos int64

	wake chan struct{}
	// notifyMu serialises subscriber calls.
	notifyMu sync.Mutex
}

// New returns a Runner for o.
func New(o Options) (*Runner, error) {
	if o.Client == nil || o.Store == nil {
		return nil, errors.New("feeds.New: Client and Store are required")
	}
	switch {
	case o.Share == 0:
		o.Share = DefaultShare
	case o.Share < 0 || o.Share > 1 || math.IsNaN(o.Share):
		return nil, fmt.Errorf("feeds.New: share %v is not within (0, 1]", o.Share)
	}
	if o.MinuteShare <= 0 || o.MinuteShare > 1 {
		o.MinuteShare = DefaultMinuteShare
	}
	if o.MinInterval <= 0 {
		o.MinInterval = DefaultMinInterval
	}
	if o.WakeDelay <= 0 {
		o.WakeDelay = DefaultWakeDelay
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.After == nil {
		o.After = time.After
	}
	r := &Runner{o: o, client: o.Client, byName: map[string]*feedRun{}, wake: make(chan struct{}, 1)}
	for i, sp := range specs(o.Client.Sync()) {
		w, ok := o.Weights[sp.name]
		if !ok {
			w = DefaultWeights[sp.name]
		}
		if w <= 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("feeds.New: weight of %s must be positive", sp.name)
		}
		f := &feedRun{spec: sp, index: i, weight: w, keys: map[string]struct{}{}, cost: 1}
		r.feeds = append(r.feeds, f)
		r.byName[sp.name] = f
	}
	for name := range o.Weights {
		if r.byName[name] == nil {
			return nil, fmt.Errorf("feeds.New: unknown feed %q in weights", name)
		}
	}
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Feeds returns the names of all feeds in first-pass order.
func (r *Runner) Feeds() []string {
	out := make([]string, len(r.feeds))
	for i, f := range r.feeds {
		out[i] = f.name
	}
	return out
}

// Run loads the stored rows (handing them to the subscriber), then runs the
// feeds until ctx ends: the first full pass of every feed that has not
// completed one, one incremental poll of every other feed (a restart costs
// about one call per feed), then scheduled and woken polls. It returns nil
// when ctx ends. When the stored state cannot be read it tries again (every
// feed shows error code "store" meanwhile): the feeds never stop silently.
//
// Run may be called again after it returned (a replica that leads the
// mirror again): it then reschedules every feed from the states it holds
// (call CatchUp first to read what the previous leader committed).
func (r *Runner) Run(ctx context.Context) error {
	r.mu.Lock()
	again := r.started
	r.mu.Unlock()
	if again {
		r.schedule()
	}
	for failures := 0; ; failures++ {
		err := r.start(ctx)
		if err == nil {
			break
		}
		r.mu.Lock()
		for _, f := range r.feeds {
			f.errCode = "store"
		}
		r.mu.Unlock()
		if r.o.Sleep(ctx, min(maxBackoff, (5*time.Second)<<min(failures, 10))) != nil {
			return nil
		}
	}
	for {
		f, due := r.next()
		if d := due.Sub(r.o.Now()); d > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-r.wake:
				continue
			case <-r.o.After(d):
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		r.poll(ctx, f)
	}
}

// RunOnce does what Run does before it starts waiting: load, then read every
// feed that is due now once (the first pass of incomplete feeds, the resume
// poll of the others). Failed feeds are left for Run to retry; their error
// codes show in Status. For tests and one-shot tools; never call it while
// Run is running.
func (r *Runner) RunOnce(ctx context.Context) error {
	if err := r.start(ctx); err != nil {
		return err
	}
	now := r.o.Now()
	r.mu.Lock()
	var due []*feedRun
	for _, f := range r.feeds {
		if !f.due.After(now) {
			due = append(due, f)
		}
	}
	r.mu.Unlock()
	for _, f := range due {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.poll(ctx, f)
	}
	return nil
}

// start loads states and rows once and sets every feed's first due time.
func (r *Runner) start(ctx context.Context) error {
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if started {
		return nil
	}
	// The log position is read before the rows: changes committed while
	// they load are applied again by CatchUp (idempotently).
	var pos int64
	if cl, ok := r.o.Store.(ChangeLog); ok {
		p, err := cl.MirrorPosition(ctx)
		if err != nil {
			return fmt.Errorf("feeds.Run: %w", err)
		}
		pos = p
	}
	states, err := r.o.Store.MirrorStates(ctx)
	if err != nil {
		return fmt.Errorf("feeds.Run: %w", err)
	}
	now := r.o.Now()
	for _, f := range r.feeds {
		st := states[f.name]
		var changes []Change
		keys := map[string]struct{}{}
		if err := r.o.Store.MirrorRows(ctx, f.name, func(key string, data []byte) error {
			v, err := f.decode(data)
			if err != nil {
				// A row this version cannot read is skipped, not fatal:
				// the next change of that record replaces it.
				return nil
			}
			keys[key] = struct{}{}
			changes = append(changes, Change{Feed: f.name, Key: key, Row: v})
			return nil
		}); err != nil {
			return fmt.Errorf("feeds.Run: %w", err)
		}
		r.mu.Lock()
		f.state, f.keys, f.due, f.errCode = st, keys, now, ""
		if st.Complete && !f.incremental {
			f.due = st.SyncedAt.Add(r.intervalLocked(f))
		}
		r.mu.Unlock()
		if len(changes) > 0 {
			r.notify(changes)
		}
	}
	r.mu.Lock()
	r.started = true
	r.pos = pos
	r.tokensAt = now
	r.tokens = r.bucketCapLocked()
	r.mu.Unlock()
	return nil
}

// schedule sets every feed's next poll as start does: now, or for a
// complete reference set when its interval since the last read ends.
func (r *Runner) schedule() {
	now := r.o.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.feeds {
		f.due, f.woken, f.errCode = now, time.Time{}, ""
		if f.state.Complete && !f.incremental {
			f.due = f.state.SyncedAt.Add(r.intervalLocked(f))
		}
	}
	r.tokensAt = now
	r.tokens = r.bucketCapLocked()
}

// catchUpPage is how many log entries CatchUp reads at a time.
const catchUpPage = 2000

// CatchUp applies what another process (the replica leading the mirror)
// committed since this runner last looked, when the Store is a ChangeLog:
// it loads the stored rows on the first call (as Run does), then hands the
// subscriber every row changed since, re-reads whole feeds that were
// replaced, and takes the feeds' states from the store. It returns the
// number of log entries applied. It calls no Exact endpoint. Never call it
// while Run is running: the running runner's own changes are already
// applied.
func (r *Runner) CatchUp(ctx context.Context) (int, error) {
	cl, ok := r.o.Store.(ChangeLog)
	if !ok {
		return 0, nil
	}
	if err := r.start(ctx); err != nil {
		return 0, err
	}
	applied := 0
	for {
		r.mu.Lock()
		pos := r.pos
		r.mu.Unlock()
		cs, err := cl.MirrorChanges(ctx, pos, catchUpPage)
		if err != nil {
			return applied, fmt.Errorf("feeds.CatchUp: %w", err)
		}
		if !cs.Reload && len(cs.Entries) == 0 {
			return applied, nil
		}
		if err := r.applyLog(ctx, cs); err != nil {
			return applied, fmt.Errorf("feeds.CatchUp: %w", err)
		}
		applied += max(1, len(cs.Entries))
		r.mu.Lock()
		r.pos = cs.Position
		r.mu.Unlock()
		if !cs.Reload && len(cs.Entries) < catchUpPage {
			return applied, nil
		}
	}
}

// Position returns the change log position the runner's rows reflect.
func (r *Runner) Position() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

// applyLog hands the subscriber one read of the change log: each touched
// row as stored now, replaced feeds (or all, on Reload) re-read whole,
// then takes the feeds' states from the store.
func (r *Runner) applyLog(ctx context.Context, cs Changes) error {
	reload := map[string]bool{}
	for _, e := range cs.Entries {
		if e.Replace && r.byName[e.Feed] != nil {
			reload[e.Feed] = true
		}
	}
	if cs.Reload {
		for _, f := range r.feeds {
			reload[f.name] = true
		}
	}
	type rk struct{ feed, key string }
	last := map[rk]int{}
	var changes []Change
	r.mu.Lock()
	for _, e := range cs.Entries {
		f := r.byName[e.Feed]
		if f == nil || e.Key == "" || reload[e.Feed] {
			continue
		}
		c := Change{Feed: e.Feed, Key: e.Key, Deleted: e.Data == nil}
		if e.Data != nil {
			v, err := f.decode(e.Data)
			if err != nil {
				continue // as in start: a row this version cannot read is skipped
			}
			c.Row = v
			f.keys[e.Key] = struct{}{}
		} else {
			delete(f.keys, e.Key)
		}
		k := rk{e.Feed, e.Key}
		if i, ok := last[k]; ok {
			changes[i] = c
			continue
		}
		last[k] = len(changes)
		changes = append(changes, c)
	}
	r.mu.Unlock()
	for _, f := range r.feeds {
		if !reload[f.name] {
			continue
		}
		keys := map[string]struct{}{}
		var rows []Change
		if err := r.o.Store.MirrorRows(ctx, f.name, func(key string, data []byte) error {
			v, err := f.decode(data)
			if err != nil {
				return nil
			}
			keys[key] = struct{}{}
			rows = append(rows, Change{Feed: f.name, Key: key, Row: v})
			return nil
		}); err != nil {
			return err
		}
		r.mu.Lock()
		for k := range f.keys {
			if _, ok := keys[k]; !ok {
				rows = append(rows, Change{Feed: f.name, Key: k, Deleted: true})
			}
		}
		f.keys = keys
		r.mu.Unlock()
		changes = append(changes, rows...)
	}
	states, err := r.o.Store.MirrorStates(ctx)
	if err != nil {
		return err
	}
	// Rows first, then states: a feed never looks complete here before
	// its rows reached the subscriber.
	if len(changes) > 0 {
		r.notify(changes)
	}
	r.mu.Lock()
	for _, f := range r.feeds {
		if st, ok := states[f.name]; ok {
			f.state = st
		}
	}
	r.mu.Unlock()
	return nil
}

// next returns the feed due first (ties in first-pass order).
func (r *Runner) next() (*feedRun, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	best := r.feeds[0]
	for _, f := range r.feeds[1:] {
		if f.due.Before(best.due) {
			best = f
		}
	}
	return best, best.due
}

// Wake asks for an early poll of feed (a webhook hint). Wakes within
// WakeDelay are served by one poll. Unknown feeds and feeds still in their
// first pass are ignored; it never blocks.
func (r *Runner) Wake(feed string) {
	r.mu.Lock()
	f := r.byName[feed]
	if f == nil || !f.state.Complete {
		r.mu.Unlock()
		return
	}
	at := r.o.Now().Add(r.o.WakeDelay)
	if at.Before(f.due) {
		f.due = at
	}
	if f.woken.IsZero() || at.Before(f.woken) {
		f.woken = at
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// WakeTopic wakes the feeds an Exact webhook topic covers and reports
// whether the topic is known.
func (r *Runner) WakeTopic(topic string) bool {
	fs, ok := topicFeeds[topic]
	for _, f := range fs {
		r.Wake(f)
	}
	return ok
}

// poll reads one feed and schedules its next read.
func (r *Runner) poll(ctx context.Context, f *feedRun) {
	r.mu.Lock()
	first := !f.state.Complete
	since := f.state.Watermark
	f.woken = time.Time{} // this poll serves every wake so far
	r.mu.Unlock()
	prio := erp.PriorityBackground
	if first {
		// The first pass goes ahead of fallback reads (ARCHITECTURE §3),
		// outside the governor's even daily spread of reads; the minute
		// share (before) still caps it, and writes still come first.
		prio = erp.PriorityFirstPass
		// Reads leave the pass its share of each minute while it runs.
		defer r.client.Governor().FirstPassRunning(r.o.MinuteShare)()
	}
	cctx := withFirstPass(erp.WithPriority(ctx, prio), first)
	var calls int
	before := func(ctx context.Context) error {
		if err := r.before(ctx); err != nil {
			return err
		}
		calls++
		r.mu.Lock()
		f.calls++
		r.mu.Unlock()
		return nil
	}
	err := f.read(cctx, since, before, func(rows []Row, changes []Change, wm int64) error {
		return r.apply(cctx, f, rows, changes, wm)
	})
	if err == nil {
		err = r.complete(cctx, f)
	}
	now := r.o.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if !f.woken.IsZero() && f.woken.Before(f.due) {
			f.due = f.woken
		}
	}()
	if err == nil {
		f.failures, f.errCode = 0, ""
		f.cost = max(1, calls)
		f.due = now.Add(r.intervalLocked(f))
		return
	}
	if ctx.Err() != nil {
		f.due = now
		return
	}
	f.failures++
	f.errCode = errorCode(err)
	var rl *erp.RateLimitError
	if errors.As(err, &rl) && rl.Reset.After(now) {
		f.due = rl.Reset
		return
	}
	backoff := min(maxBackoff, (5*time.Second)<<min(f.failures-1, 10))
	f.due = now.Add(backoff)
}

// apply commits one page and tells the subscriber.
func (r *Runner) apply(ctx context.Context, f *feedRun, rows []Row, changes []Change, wm int64) error {
	r.mu.Lock()
	st := State{Watermark: wm, Complete: f.state.Complete, SyncedAt: r.o.Now().UTC()}
	b := Batch{Feed: f.name, State: st, Upserts: rows}
	var gone []Change
	if !f.incremental {
		st.Watermark = st.SyncedAt.UnixMilli()
		st.Complete = true
		b.State, b.Replace = st, true
		seen := make(map[string]struct{}, len(rows))
		for _, row := range rows {
			seen[row.Key] = struct{}{}
		}
		for k := range f.keys {
			if _, ok := seen[k]; !ok {
				gone = append(gone, Change{Feed: f.name, Key: k, Deleted: true})
			}
		}
	}
	if f.name == FeedDeleted {
		for _, c := range changes {
			b.Deletes = append(b.Deletes, RowKey{Feed: c.Feed, Key: c.Key})
		}
	}
	r.mu.Unlock()
	if err := r.o.Store.MirrorApply(ctx, b); err != nil {
		return &storeError{err}
	}
	r.mu.Lock()
	f.state = st
	if !f.incremental {
		f.keys = make(map[string]struct{}, len(rows))
	}
	for _, row := range rows {
		f.keys[row.Key] = struct{}{}
	}
	if f.name == FeedDeleted {
		for _, c := range changes {
			if t := r.byName[c.Feed]; t != nil {
				delete(t.keys, c.Key)
			}
		}
	}
	r.mu.Unlock()
	all := append(changes, gone...)
	if len(all) > 0 {
		r.notify(all)
	}
	return nil
}

// complete marks an incremental feed's first pass as finished.
func (r *Runner) complete(ctx context.Context, f *feedRun) error {
	r.mu.Lock()
	if f.state.Complete {
		r.mu.Unlock()
		return nil
	}
	st := f.state
	st.Complete = true
	r.mu.Unlock()
	if err := r.o.Store.MirrorApply(ctx, Batch{Feed: f.name, State: st}); err != nil {
		return &storeError{err}
	}
	r.mu.Lock()
	f.state = st
	r.mu.Unlock()
	return nil
}

func (r *Runner) notify(changes []Change) {
	if r.o.Subscriber == nil {
		return
	}
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	defer func() { _ = recover() }() // a panicking subscriber must not stop the feeds
	r.o.Subscriber(changes)
}

type firstPassKey struct{}

func withFirstPass(ctx context.Context, first bool) context.Context {
	return context.WithValue(ctx, firstPassKey{}, first)
}

// before paces every call to Exact: at most MinuteShare of the minute's
// limit in any minute, and outside the first pass within the day bucket of
// Share of the daily limit.
func (r *Runner) before(ctx context.Context) error {
	first, _ := ctx.Value(firstPassKey{}).(bool)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		snap := r.client.Governor().Snapshot()
		now := r.o.Now()
		r.mu.Lock()
		cut := now.Add(-time.Minute)
		i := 0
		for i < len(r.window) && !r.window[i].After(cut) {
			i++
		}
		r.window = r.window[i:]
		limit := max(1, int(r.o.MinuteShare*float64(snap.MinuteLimit)))
		var wait time.Duration
		if len(r.window) >= limit {
			wait = r.window[0].Add(time.Minute).Sub(now)
		} else if !first {
			r.refillLocked(now, snap.DayLimit)
			if r.tokens < 1 {
				wait = time.Minute // no daily limit known: look again in a minute
				if rate := r.o.Share * float64(snap.DayLimit) / 86400; rate > 0 {
					wait = time.Duration((1 - r.tokens) / rate * float64(time.Second))
				}
			}
		}
		if wait <= 0 {
			r.window = append(r.window, now)
			if !first {
				r.tokens--
			}
			r.mu.Unlock()
			return nil
		}
		r.mu.Unlock()
		if err := r.o.Sleep(ctx, max(wait, time.Millisecond)); err != nil {
			return err
		}
	}
}

func (r *Runner) bucketCapLocked() float64 {
	return math.Max(float64(len(r.feeds)), r.o.MinuteShare*float64(r.client.Governor().Snapshot().MinuteLimit))
}

func (r *Runner) refillLocked(now time.Time, dayLimit int) {
	if now.After(r.tokensAt) {
		r.tokens += r.o.Share * float64(dayLimit) / 86400 * now.Sub(r.tokensAt).Seconds()
		r.tokensAt = now
	}
	if c := r.bucketCapLocked(); r.tokens > c {
		r.tokens = c
	}
}

// intervalLocked is f's scheduled interval: its weight's part of the
// scheduled budget (Share of Exact's reported daily limit, less the part
// kept for webhook wake-ups), divided by what one read costs.
func (r *Runner) intervalLocked(f *feedRun) time.Duration {
	dayLimit := r.client.Governor().Snapshot().DayLimit
	var total float64
	for _, g := range r.feeds {
		total += g.weight
	}
	perDay := r.o.Share * (1 - wakeShare) * float64(dayLimit) * f.weight / total
	if perDay <= 0 {
		return maxBackoff
	}
	// Rounded up to the second, so the projection never exceeds the share.
	d := time.Duration(math.Ceil(float64(24*time.Hour)*float64(f.cost)/perDay/float64(time.Second))) * time.Second
	return max(d, r.o.MinInterval)
}

// Projection is the steady-state call plan at the current daily limit.
type Projection struct {
	// DayLimit is Exact's daily limit as last reported (X-RateLimit-Limit).
	DayLimit int
	// Share is the configured share of it.
	Share float64
	// Scheduled is the calls a day of the scheduled polls.
	Scheduled float64
	// WakeAllowance is the calls a day kept for webhook wake-ups.
	WakeAllowance float64
	// Total is Scheduled + WakeAllowance: at most Share × DayLimit.
	Total float64
	// Intervals is each feed's scheduled interval.
	Intervals map[string]time.Duration
}

// Projection returns the feeds' projected calls a day: print it at start
// and export it in /metrics.
func (r *Runner) Projection() Projection {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Projection{DayLimit: r.client.Governor().Snapshot().DayLimit, Share: r.o.Share, Intervals: map[string]time.Duration{}}
	for _, f := range r.feeds {
		iv := r.intervalLocked(f)
		p.Intervals[f.name] = iv
		p.Scheduled += float64(f.cost) * float64(24*time.Hour) / float64(iv)
	}
	p.WakeAllowance = r.o.Share * wakeShare * float64(p.DayLimit)
	p.Total = p.Scheduled + p.WakeAllowance
	return p
}

// FeedStatus is one feed's state for /readyz and /metrics.
type FeedStatus struct {
	Feed string
	// Complete is true once the first full pass finished: the mirror may
	// answer reads of this feed's data.
	Complete bool
	Rows     int
	// LastSuccess is when the feed last read Exact successfully (zero: never).
	LastSuccess time.Time
	// Lag is the time since LastSuccess (0 when never).
	Lag time.Duration
	// Calls counts the calls to Exact this feed made since start.
	Calls int64
	// ErrorCode is "" or the kind of the last failure (never its text):
	// rate_limited, consent_required, endpoint_paused, exact_4xx, exact_5xx,
	// unavailable, stalled, store or error.
	ErrorCode string
	Interval  time.Duration
	NextPoll  time.Time
}

// Status returns every feed's state, in first-pass order.
func (r *Runner) Status() []FeedStatus {
	now := r.o.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]FeedStatus, 0, len(r.feeds))
	for _, f := range r.feeds {
		s := FeedStatus{Feed: f.name, Complete: f.state.Complete, Rows: len(f.keys), LastSuccess: f.state.SyncedAt,
			Calls: f.calls, ErrorCode: f.errCode, Interval: r.intervalLocked(f), NextPoll: f.due}
		if f.name == FeedDeleted {
			s.Rows = 0
		}
		if !s.LastSuccess.IsZero() {
			s.Lag = max(0, now.Sub(s.LastSuccess))
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return r.byName[out[i].Feed].index < r.byName[out[j].Feed].index })
	return out
}

// Complete reports whether every feed has finished its first full pass.
func (r *Runner) Complete() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.feeds {
		if !f.state.Complete {
			return false
		}
	}
	return true
}

type storeError struct{ err error }

func (e *storeError) Error() string { return "feeds: store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// errorCode classifies err for Status: a short code, never the text.
func errorCode(err error) string {
	var se *storeError
	var rl *erp.RateLimitError
	var ee *erp.Error
	switch {
	case errors.As(err, &se):
		return "store"
	case errors.As(err, &rl):
		return "rate_limited"
	case errors.Is(err, erp.ErrConsentRequired):
		return "consent_required"
	case errors.Is(err, erp.ErrSyncStalled):
		return "stalled"
	case errors.As(err, &ee) && ee.StatusCode == 0:
		return "endpoint_paused"
	case errors.As(err, &ee) && ee.StatusCode >= 500:
		return "exact_5xx"
	case errors.As(err, &ee):
		return "exact_4xx"
	case erp.IsTransient(err):
		return "unavailable"
	}
	return "error"
}
