package live

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// MergeOptions configures Merge.
type MergeOptions struct {
	// MaxKeys is the most keys one merged call carries (default 25, the
	// client's batch size: a merged call is then one $filter chunk, so the
	// client's URL-length chunking still applies unchanged).
	MaxKeys int
	// Quiet is how long no lookup must have joined any open call, with no
	// merged call in flight, before the open calls are sent (default 25
	// ms); they go at once when every operation in progress (Begin) waits
	// in a merged lookup. While a merged call is in flight, lookups keep
	// gathering: the requests it answers come back with their next lookups
	// soon after, and join the same calls. A lookup that fills a call
	// sends it at once.
	Quiet time.Duration
	// MaxDelay bounds how long a lookup waits for others (default 250 ms).
	MaxDelay time.Duration
}

// MergeStats counts the by-key lookups a merging upstream received and
// the calls it made for them, per kind.
type MergeStats struct {
	Lookups map[string]int64
	Calls   map[string]int64
}

// MergingUpstream merges concurrent by-key lookups of one kind (items by
// code or by ID, general prices, stock rows, volume discounts of one set of
// periods) from different requests into one call of up to MaxKeys keys
// (issue 12, fallback bursts). Each caller receives exactly the rows an
// unmerged call with its own keys returns; an error of the merged call is
// every caller's error. Lookups with MaxKeys keys or more go straight
// through (a page's prefetch is already one batch per kind). Other methods
// pass through.
type MergingUpstream struct {
	Upstream
	codes, ids *merger[erp.Item]
	stockM     *merger[erp.ItemWarehouse]
	prices     *merger[erp.SalesItemPrice]
	vd         *merger[erp.SalesPriceListVolumeDiscount]
	co         *coordinator
}

// Merge wraps up in a MergingUpstream.
func Merge(up Upstream, o MergeOptions) *MergingUpstream {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 25
	}
	if o.Quiet <= 0 {
		o.Quiet = 25 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 250 * time.Millisecond
	}
	m := &MergingUpstream{Upstream: up}
	co := &coordinator{o: o, now: time.Now}
	m.co = co
	m.codes = newMerger("itemsByCode", co, func(ctx context.Context, _ string, keys []string) ([]erp.Item, error) {
		return up.ItemsByCodes(ctx, keys)
	}, func(it erp.Item) []string { return []string{normKey(it.Code)} })
	m.ids = newMerger("itemsByID", co, func(ctx context.Context, _ string, keys []string) ([]erp.Item, error) {
		return up.ItemsByIDs(ctx, keys)
	}, func(it erp.Item) []string { return []string{normKey(it.ID)} })
	m.stockM = newMerger("stock", co, func(ctx context.Context, _ string, keys []string) ([]erp.ItemWarehouse, error) {
		return up.ItemWarehouses(ctx, keys)
	}, func(w erp.ItemWarehouse) []string { return []string{normKey(w.Item)} })
	m.prices = newMerger("defaultPrices", co, func(ctx context.Context, scope string, keys []string) ([]erp.SalesItemPrice, error) {
		day, err := civil.ParseDate(scope)
		if err != nil {
			return nil, err
		}
		return up.DefaultPrices(ctx, keys, day)
	}, func(p erp.SalesItemPrice) []string { return []string{normKey(p.Item)} })
	m.vd = newMerger("volumeDiscounts", co, func(ctx context.Context, scope string, keys []string) ([]erp.SalesPriceListVolumeDiscount, error) {
		periods := strings.Split(scope, ",")
		var items, groups []string
		for _, k := range keys {
			if id, ok := strings.CutPrefix(k, "i:"); ok {
				items = append(items, id)
			} else if g, ok := strings.CutPrefix(k, "g:"); ok {
				groups = append(groups, g)
			}
		}
		return up.VolumeDiscounts(ctx, periods, items, groups)
	}, func(v erp.SalesPriceListVolumeDiscount) []string {
		// A row answers an item key (its Item) and a group key (its
		// ItemGroup): an unmerged call for either returns it.
		var ks []string
		if v.Item != "" {
			ks = append(ks, "i:"+normKey(v.Item))
		}
		if v.ItemGroup != "" {
			ks = append(ks, "g:"+normKey(v.ItemGroup))
		}
		return ks
	})
	return m
}

// Stats returns the lookups received and calls made per kind.
func (m *MergingUpstream) Stats() MergeStats {
	s := MergeStats{Lookups: map[string]int64{}, Calls: map[string]int64{}}
	for _, g := range []interface {
		stats() (string, int64, int64)
	}{m.codes, m.ids, m.stockM, m.prices, m.vd} {
		name, l, c := g.stats()
		s.Lookups[name], s.Calls[name] = l, c
	}
	return s
}

func normKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ItemsByCodes implements Upstream, merged.
func (m *MergingUpstream) ItemsByCodes(ctx context.Context, codes []string) ([]erp.Item, error) {
	return m.codes.do(ctx, "", codes)
}

// ItemsByIDs implements Upstream, merged.
func (m *MergingUpstream) ItemsByIDs(ctx context.Context, ids []string) ([]erp.Item, error) {
	return m.ids.do(ctx, "", ids)
}

// ItemWarehouses implements Upstream, merged.
func (m *MergingUpstream) ItemWarehouses(ctx context.Context, itemIDs []string) ([]erp.ItemWarehouse, error) {
	return m.stockM.do(ctx, "", itemIDs)
}

// DefaultPrices implements Upstream, merged per day.
func (m *MergingUpstream) DefaultPrices(ctx context.Context, itemIDs []string, today civil.Date) ([]erp.SalesItemPrice, error) {
	return m.prices.do(ctx, today.String(), itemIDs)
}

// VolumeDiscounts implements Upstream, merged per set of periods.
func (m *MergingUpstream) VolumeDiscounts(ctx context.Context, periods, itemIDs, groupIDs []string) ([]erp.SalesPriceListVolumeDiscount, error) {
	if len(periods) == 0 || len(itemIDs)+len(groupIDs) == 0 {
		return m.Upstream.VolumeDiscounts(ctx, periods, itemIDs, groupIDs)
	}
	ps := append([]string(nil), periods...)
	for i := range ps {
		ps[i] = strings.ToLower(ps[i])
	}
	sort.Strings(ps)
	keys := make([]string, 0, len(itemIDs)+len(groupIDs))
	for _, id := range itemIDs {
		keys = append(keys, "i:"+id)
	}
	for _, g := range groupIDs {
		keys = append(keys, "g:"+g)
	}
	return m.vd.do(ctx, strings.Join(ps, ","), keys)
}

// coordinator schedules the calls of all mergers of one MergingUpstream:
// the open calls go out together once lookups have stopped arriving for
// Quiet and no merged call is in flight, so the requests of a burst stay
// in step (all at their item lookup, then all at their prices and stock)
// and each call carries the keys of all of them.
type coordinator struct {
	o   MergeOptions
	now func() time.Time

	mu       sync.Mutex
	open     []sender
	inflight int
	lastJoin time.Time // the last lookup joining, or merged call ending
	lastDone time.Time // the last merged call ending
	timer    *time.Timer
	// active counts the GraphQL operations in progress (Begin); waiting,
	// those of them blocked in a merged lookup. When every active
	// operation waits, no other key can come: the open calls go at once.
	active  int
	waiting map[*opMark]int
}

// opMark tags the context of one operation (Begin). It has a size: pointers
// to zero-size values need not differ.
type opMark struct{ _ byte } // not zero-size: distinct pointers

type opKey struct{}

// Begin notes the start of an operation (a GraphQL request) whose lookups
// may be merged and returns its context and the function to call at its
// end. Knowing which operations are in progress lets the open calls go as
// soon as all of them wait for one, instead of after the quiet period.
func (m *MergingUpstream) Begin(ctx context.Context) (context.Context, func()) {
	co := m.co
	mark := &opMark{}
	co.mu.Lock()
	co.active++
	co.mu.Unlock()
	var once sync.Once
	return context.WithValue(ctx, opKey{}, mark), func() {
		once.Do(func() {
			co.mu.Lock()
			defer co.mu.Unlock()
			co.active--
			delete(co.waiting, mark)
			co.armLocked()
		})
	}
}

// waitLocked notes that an operation waits in n more (or, negative, fewer)
// merged lookups.
func (c *coordinator) waitLocked(mark *opMark, n int) {
	if c.waiting == nil {
		c.waiting = map[*opMark]int{}
	}
	if c.waiting[mark] += n; c.waiting[mark] <= 0 {
		delete(c.waiting, mark)
	}
}

// sender is an open batch of some merger.
type sender interface {
	opened() time.Time
	size() int
	// sendLocked starts the call (the coordinator's lock held).
	sendLocked()
}

// joinedLocked notes a lookup joining b (new when b was not open yet).
func (c *coordinator) joinedLocked(b sender, isNew bool) {
	c.lastJoin = c.now()
	if isNew {
		c.open = append(c.open, b)
	}
	c.armLocked()
}

// sendNowLocked sends b at once (it is full).
func (c *coordinator) sendNowLocked(b sender) {
	for i, o := range c.open {
		if o == b {
			c.open = append(c.open[:i], c.open[i+1:]...)
			break
		}
	}
	c.inflight++
	b.sendLocked()
}

// doneLocked notes the end of a merged call.
func (c *coordinator) doneLocked() {
	c.inflight--
	// The requests it answered come back with their next lookups (or
	// their answers, and then their clients' next requests): quiet is
	// counted from here too.
	c.lastJoin = c.now()
	c.lastDone = c.lastJoin
	c.armLocked()
}

// armLocked sends what is due and sets the timer for what will be.
func (c *coordinator) armLocked() {
	if len(c.open) == 0 {
		return
	}
	now := c.now()
	// Every operation in progress waits: no key can come from them, so
	// the calls need not wait for the quiet period after the last join.
	// They still wait for it after a call ended: the operations that call
	// released (and the requests their clients send next) are on their
	// way back and are not yet all counted.
	allWait := c.active > 0 && len(c.waiting) >= c.active
	afterDone := c.lastDone.Add(c.o.Quiet)
	quiet := c.inflight == 0 && (allWait && !now.Before(afterDone) || now.Sub(c.lastJoin) >= c.o.Quiet)
	// A much smaller call than the largest open one belongs to requests
	// out of step with the rest (one that finished early and came back):
	// it waits for the next round, where the others join it, instead of
	// costing a call of its own now.
	largest := 0
	for _, b := range c.open {
		largest = max(largest, b.size())
	}
	var keep []sender
	next := time.Time{}
	for _, b := range c.open {
		late := now.Sub(b.opened()) >= c.o.MaxDelay
		if (quiet && 2*b.size() >= largest) || late {
			c.inflight++
			b.sendLocked()
			continue
		}
		keep = append(keep, b)
		at := b.opened().Add(c.o.MaxDelay)
		if q := c.lastJoin.Add(c.o.Quiet); c.inflight == 0 && q.Before(at) {
			at = q
		}
		if c.inflight == 0 && allWait && afterDone.Before(at) {
			at = afterDone
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	c.open = keep
	if len(keep) == 0 {
		return
	}
	d := max(next.Sub(now), 100*time.Microsecond)
	if c.timer == nil {
		c.timer = time.AfterFunc(d, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.armLocked()
		})
		return
	}
	c.timer.Reset(d)
}

// merger merges the lookups of one kind. Lookups of the same scope (a day,
// a set of periods) and priority share calls; keys are compared by normKey.
type merger[R any] struct {
	name   string
	co     *coordinator
	fetch  func(ctx context.Context, scope string, keys []string) ([]R, error)
	keysOf func(R) []string

	open    map[string]*batch[R] // the batch still gathering keys, per priority and scope (co.mu)
	lookups atomic.Int64
	calls   atomic.Int64
}

// batch is one merged call in the making.
type batch[R any] struct {
	m     *merger[R]
	open  string          // its key in m.open
	ctx   context.Context // the first caller's: its priority and budget identity
	scope string
	at    time.Time
	keys  []string // as first asked, distinct by normKey
	seen  map[string]bool
	sent  bool
	marks map[*opMark]int // the waiting operations' lookups
	done  chan struct{}
	rows  []R
	err   error
}

func newMerger[R any](name string, co *coordinator, fetch func(context.Context, string, []string) ([]R, error), keysOf func(R) []string) *merger[R] {
	return &merger[R]{name: name, co: co, fetch: fetch, keysOf: keysOf, open: map[string]*batch[R]{}}
}

func (m *merger[R]) stats() (string, int64, int64) { return m.name, m.lookups.Load(), m.calls.Load() }

// do returns the rows of keys, through a merged call when the lookup is
// small enough to share one.
func (m *merger[R]) do(ctx context.Context, scope string, keys []string) ([]R, error) {
	if len(keys) == 0 {
		return m.fetch(ctx, scope, keys)
	}
	m.lookups.Add(1)
	max := m.co.o.MaxKeys
	if len(keys) >= max {
		m.calls.Add(1)
		return m.fetch(ctx, scope, keys)
	}
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[normKey(k)] = true
	}
	// Lookups share a call only at the same priority: an order's lookups
	// never wait behind (or are refused with) a browsing call.
	open := strconv.Itoa(int(erp.PriorityFromContext(ctx))) + "|" + scope
	co := m.co
	co.mu.Lock()
	b := m.open[open]
	if b != nil && len(b.keys)+m.newKeys(b, keys) > max {
		// It would overflow: send it now and start another.
		co.sendNowLocked(b)
		b = nil
	}
	isNew := b == nil
	if isNew {
		b = &batch[R]{m: m, open: open, ctx: context.WithoutCancel(ctx), scope: scope, at: co.now(), seen: map[string]bool{}, done: make(chan struct{})}
		m.open[open] = b
	}
	for _, k := range keys {
		if n := normKey(k); !b.seen[n] {
			b.seen[n] = true
			b.keys = append(b.keys, k)
		}
	}
	if mark, _ := ctx.Value(opKey{}).(*opMark); mark != nil {
		// Counted as waiting until the call ends (see sendLocked).
		if b.marks == nil {
			b.marks = map[*opMark]int{}
		}
		b.marks[mark]++
		co.waitLocked(mark, 1)
	}
	if len(b.keys) >= max {
		if !isNew {
			co.sendNowLocked(b)
		} else {
			co.inflight++
			b.sendLocked()
		}
	} else {
		co.joinedLocked(b, isNew)
	}
	co.mu.Unlock()

	select {
	case <-b.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if b.err != nil {
		return nil, b.err
	}
	var out []R
	for _, r := range b.rows {
		for _, k := range m.keysOf(r) {
			if want[k] {
				out = append(out, r)
				break
			}
		}
	}
	return out, nil
}

func (m *merger[R]) newKeys(b *batch[R], keys []string) int {
	n := 0
	for _, k := range keys {
		if !b.seen[normKey(k)] {
			n++
		}
	}
	return n
}

func (b *batch[R]) opened() time.Time { return b.at }

func (b *batch[R]) size() int { return len(b.keys) }

// sendLocked starts b's call (co.mu held; the caller counted it in flight).
func (b *batch[R]) sendLocked() {
	if b.sent {
		return
	}
	b.sent = true
	m := b.m
	if m.open[b.open] == b {
		delete(m.open, b.open)
	}
	m.calls.Add(1)
	go func() {
		// The call outlives a caller that gives up: the others still wait
		// for it, and its rows fill the cache for all of them.
		ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
		defer cancel()
		b.rows, b.err = m.fetch(ctx, b.scope, b.keys)
		close(b.done)
		m.co.mu.Lock()
		defer m.co.mu.Unlock()
		// Its operations go on (with their next lookups, or to their
		// answers) before anything else is sent.
		for mark, n := range b.marks {
			m.co.waitLocked(mark, -n)
		}
		m.co.doneLocked()
	}()
}
