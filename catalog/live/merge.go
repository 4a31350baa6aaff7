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
	// Window is how long the first lookup of a kind waits for others to
	// join it before the call is sent (default 5 ms). A lookup that fills
	// the call sends it at once.
	Window time.Duration
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
}

// Merge wraps up in a MergingUpstream.
func Merge(up Upstream, o MergeOptions) *MergingUpstream {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 25
	}
	if o.Window <= 0 {
		o.Window = 5 * time.Millisecond
	}
	m := &MergingUpstream{Upstream: up}
	m.codes = newMerger("itemsByCode", o, func(ctx context.Context, _ string, keys []string) ([]erp.Item, error) {
		return up.ItemsByCodes(ctx, keys)
	}, func(it erp.Item) []string { return []string{normKey(it.Code)} })
	m.ids = newMerger("itemsByID", o, func(ctx context.Context, _ string, keys []string) ([]erp.Item, error) {
		return up.ItemsByIDs(ctx, keys)
	}, func(it erp.Item) []string { return []string{normKey(it.ID)} })
	m.stockM = newMerger("stock", o, func(ctx context.Context, _ string, keys []string) ([]erp.ItemWarehouse, error) {
		return up.ItemWarehouses(ctx, keys)
	}, func(w erp.ItemWarehouse) []string { return []string{normKey(w.Item)} })
	m.prices = newMerger("defaultPrices", o, func(ctx context.Context, scope string, keys []string) ([]erp.SalesItemPrice, error) {
		day, err := civil.ParseDate(scope)
		if err != nil {
			return nil, err
		}
		return up.DefaultPrices(ctx, keys, day)
	}, func(p erp.SalesItemPrice) []string { return []string{normKey(p.Item)} })
	m.vd = newMerger("volumeDiscounts", o, func(ctx context.Context, scope string, keys []string) ([]erp.SalesPriceListVolumeDiscount, error) {
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

// merger merges the lookups of one kind. Lookups of the same scope (a day,
// a set of periods) share calls; keys are compared by normKey.
type merger[R any] struct {
	name   string
	o      MergeOptions
	fetch  func(ctx context.Context, scope string, keys []string) ([]R, error)
	keysOf func(R) []string

	mu      sync.Mutex
	open    map[string]*batch[R] // the batch still gathering keys, per scope
	lookups atomic.Int64
	calls   atomic.Int64
}

// batch is one merged call in the making.
type batch[R any] struct {
	ctx   context.Context // the first caller's: its priority and budget identity
	scope string
	keys  []string // as first asked, distinct by normKey
	seen  map[string]bool
	sent  bool
	done  chan struct{}
	rows  []R
	err   error
}

func newMerger[R any](name string, o MergeOptions, fetch func(context.Context, string, []string) ([]R, error), keysOf func(R) []string) *merger[R] {
	return &merger[R]{name: name, o: o, fetch: fetch, keysOf: keysOf, open: map[string]*batch[R]{}}
}

func (m *merger[R]) stats() (string, int64, int64) { return m.name, m.lookups.Load(), m.calls.Load() }

// do returns the rows of keys, through a merged call when the lookup is
// small enough to share one.
func (m *merger[R]) do(ctx context.Context, scope string, keys []string) ([]R, error) {
	if len(keys) == 0 {
		return m.fetch(ctx, scope, keys)
	}
	m.lookups.Add(1)
	if len(keys) >= m.o.MaxKeys {
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
	m.mu.Lock()
	b := m.open[open]
	if b != nil && len(b.keys)+m.newKeys(b, keys) > m.o.MaxKeys {
		// Full: send it now and start another.
		m.sendLocked(open, b)
		b = nil
	}
	if b == nil {
		b = &batch[R]{ctx: context.WithoutCancel(ctx), scope: scope, seen: map[string]bool{}, done: make(chan struct{})}
		m.open[open] = b
		time.AfterFunc(m.o.Window, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.sendLocked(open, b)
		})
	}
	for _, k := range keys {
		if n := normKey(k); !b.seen[n] {
			b.seen[n] = true
			b.keys = append(b.keys, k)
		}
	}
	if len(b.keys) >= m.o.MaxKeys {
		m.sendLocked(open, b)
	}
	m.mu.Unlock()

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
		ks := m.keysOf(r)
		match := false
		for _, k := range ks {
			if want[k] {
				match = true
				break
			}
		}
		if match {
			out = append(out, r)
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

// sendLocked starts b's call unless it has started.
func (m *merger[R]) sendLocked(open string, b *batch[R]) {
	if b.sent {
		return
	}
	b.sent = true
	if m.open[open] == b {
		delete(m.open, open)
	}
	m.calls.Add(1)
	go func() {
		// The call outlives a caller that gives up: the others still wait
		// for it, and its rows fill the cache for all of them.
		ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
		defer cancel()
		b.rows, b.err = m.fetch(ctx, b.scope, b.keys)
		close(b.done)
	}()
}
