package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/erp/sandbox/odata"
)

// canon returns rows as sorted JSON lines, to compare answers whatever
// their order.
func canon[T any](t *testing.T, rows []T) string {
	t.Helper()
	lines := make([]string, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = string(b)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func str(r odata.Record, k string) string {
	s, _ := r[k].(string)
	return s
}

// TestMergedAnswersEqualUnmerged (issue 12, fallback bursts): concurrent
// small lookups of every merged kind through Merge get exactly the rows
// the same lookups get one by one without merging, in fewer calls.
func TestMergedAnswersEqualUnmerged(t *testing.T) {
	data := gen.Options{Items: 300, Customers: 30, Today: erptest.Start}
	env := erptest.Setup(t, erptest.Options{Sandbox: sandbox.Options{Data: data, MinuteLimit: 100000, DayLimit: 1000000}})
	ds := gen.Generate(data)
	var codes, ids, groups []string
	for _, r := range ds.Sets[gen.PathItems] {
		codes = append(codes, str(r, "Code"))
		ids = append(ids, str(r, "ID"))
		if g := str(r, "ItemGroup"); g != "" && len(groups) < 6 && !contains(groups, g) {
			groups = append(groups, g)
		}
	}
	codes, ids = codes[:60], ids[:60]
	// The periods of a price list that has volume discounts.
	periodsOf := map[string][]string{}
	for _, r := range ds.Sets[gen.PathVolumeDiscounts] {
		p := str(r, "PriceListPeriod")
		if !contains(periodsOf["all"], p) {
			periodsOf["all"] = append(periodsOf["all"], p)
		}
	}
	periods := periodsOf["all"]
	if len(periods) > 3 {
		periods = periods[:3]
	}
	vdItems := map[string]bool{}
	for _, r := range ds.Sets[gen.PathVolumeDiscounts] {
		if contains(periods, str(r, "PriceListPeriod")) && str(r, "Item") != "" {
			vdItems[str(r, "Item")] = true
		}
	}
	var withVD []string
	for id := range vdItems {
		withVD = append(withVD, id)
	}
	sort.Strings(withVD)
	today := civil.Today(erptest.Start, time.UTC)

	plain := live.ExactUpstream{C: env.Client}
	merged := live.Merge(plain, live.MergeOptions{MaxKeys: 25})
	ctx := context.Background()

	type lookup struct {
		name string
		run  func(up live.Upstream) (string, error)
	}
	var lookups []lookup
	for i := 0; i < len(codes); i += 3 {
		cs := codes[i:min(i+3, len(codes))]
		// Callers spell codes as they like; Exact compares case-insensitively.
		if i%2 == 0 {
			cs = append([]string{strings.ToLower(cs[0])}, cs[1:]...)
		}
		lookups = append(lookups, lookup{"codes", func(up live.Upstream) (string, error) {
			r, err := up.ItemsByCodes(ctx, cs)
			return canon(t, r), err
		}})
	}
	for i := 0; i < len(ids); i += 2 {
		is := ids[i:min(i+2, len(ids))]
		lookups = append(lookups,
			lookup{"ids", func(up live.Upstream) (string, error) {
				r, err := up.ItemsByIDs(ctx, is)
				return canon(t, r), err
			}},
			lookup{"stock", func(up live.Upstream) (string, error) {
				r, err := up.ItemWarehouses(ctx, is)
				return canon(t, r), err
			}},
			lookup{"prices", func(up live.Upstream) (string, error) {
				r, err := up.DefaultPrices(ctx, is, today)
				return canon(t, r), err
			}})
	}
	for i := 0; i < len(withVD) && i < 30; i += 2 {
		is := withVD[i:min(i+2, len(withVD))]
		gs := groups[(i/2)%len(groups) : (i/2)%len(groups)+1]
		lookups = append(lookups,
			lookup{"vd", func(up live.Upstream) (string, error) {
				r, err := up.VolumeDiscounts(ctx, periods, is, gs)
				return canon(t, r), err
			}},
			// The same keys for another set of periods: another scope.
			lookup{"vd1", func(up live.Upstream) (string, error) {
				r, err := up.VolumeDiscounts(ctx, periods[:1], is, nil)
				return canon(t, r), err
			}})
	}
	want := make([]string, len(lookups))
	env.Sandbox.ResetCalls()
	for i, l := range lookups {
		var err error
		if want[i], err = l.run(plain); err != nil {
			t.Fatalf("unmerged %s: %v", l.name, err)
		}
	}
	unmergedCalls := env.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI })
	env.Sandbox.ResetCalls()
	got := make([]string, len(lookups))
	errs := make([]error, len(lookups))
	var wg sync.WaitGroup
	for i, l := range lookups {
		wg.Go(func() { got[i], errs[i] = l.run(merged) })
	}
	wg.Wait()
	mergedCalls := env.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI })
	for i, l := range lookups {
		if errs[i] != nil {
			t.Errorf("merged %s #%d: %v", l.name, i, errs[i])
			continue
		}
		if got[i] != want[i] {
			t.Errorf("merged %s #%d differs from unmerged:\n got %s\nwant %s", l.name, i, got[i], want[i])
		}
		if want[i] == "" && l.name != "vd1" && l.name != "prices" {
			t.Errorf("%s #%d: no rows at all; the comparison proves little", l.name, i)
		}
	}
	st := merged.Stats()
	t.Logf("%d lookups: %d calls unmerged, %d merged; stats %+v", len(lookups), unmergedCalls, mergedCalls, st)
	if mergedCalls*3 > unmergedCalls {
		t.Errorf("merged lookups cost %d calls against %d unmerged; want at most a third", mergedCalls, unmergedCalls)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// stubUpstream records the stock lookups it receives.
type stubUpstream struct {
	live.Upstream
	mu    sync.Mutex
	calls [][]string
	prios []erp.Priority
	err   error
	gate  chan struct{} // when set, each call waits for it
}

func (s *stubUpstream) ItemWarehouses(ctx context.Context, ids []string) ([]erp.ItemWarehouse, error) {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	s.calls = append(s.calls, append([]string(nil), ids...))
	s.prios = append(s.prios, erp.PriorityFromContext(ctx))
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	var out []erp.ItemWarehouse
	for _, id := range ids {
		out = append(out, erp.ItemWarehouse{ID: "w-" + id, Item: strings.ToUpper(id)})
	}
	return out, nil
}

// TestMergeErrorReachesEveryCaller: a failed merged call is the error of
// every lookup it carried (each lands at its own field's path), and no
// caller gets another's rows.
func TestMergeErrorReachesEveryCaller(t *testing.T) {
	boom := &erp.RateLimitError{Reset: time.Now().Add(30 * time.Second), Minutely: true}
	up := &stubUpstream{err: boom}
	m := live.Merge(up, live.MergeOptions{MaxKeys: 25})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			_, err := m.ItemWarehouses(context.Background(), []string{string(rune('a' + i))})
			var rl *erp.RateLimitError
			if errors.As(err, &rl) {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 8 {
		t.Errorf("%d of 8 lookups got the rate-limit error", failed.Load())
	}
	if len(up.calls) >= 8 {
		t.Errorf("%d calls for 8 concurrent lookups: not merged", len(up.calls))
	}
}

// TestMergeRowsGoToTheirCallers: each caller gets the rows of its own keys
// only (compared case-insensitively), whatever else the merged call carried.
func TestMergeRowsGoToTheirCallers(t *testing.T) {
	up := &stubUpstream{}
	m := live.Merge(up, live.MergeOptions{MaxKeys: 25})
	var wg sync.WaitGroup
	got := make([][]erp.ItemWarehouse, 6)
	for i := range got {
		wg.Go(func() {
			var err error
			got[i], err = m.ItemWarehouses(context.Background(), []string{string(rune('a' + i)), "shared"})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, rows := range got {
		var items []string
		for _, r := range rows {
			items = append(items, strings.ToLower(r.Item))
		}
		sort.Strings(items)
		if want := []string{string(rune('a' + i)), "shared"}; strings.Join(items, ",") != strings.Join(want, ",") {
			t.Errorf("caller %d got rows of %v, want %v", i, items, want)
		}
	}
	for _, c := range up.calls {
		n := 0
		for _, k := range c {
			if k == "shared" {
				n++
			}
		}
		if n > 1 {
			t.Errorf("a key asked twice in one call: %v", c)
		}
	}
}

// TestMergeKeepsPrioritiesApart: an order's lookups (write priority) never
// share a call with browsing lookups, so they are never refused with them.
func TestMergeKeepsPrioritiesApart(t *testing.T) {
	up := &stubUpstream{}
	m := live.Merge(up, live.MergeOptions{MaxKeys: 25})
	var wg sync.WaitGroup
	for i := range 6 {
		ctx := context.Background()
		if i%2 == 0 {
			ctx = erp.WithPriority(ctx, erp.PriorityWrite)
		}
		wg.Go(func() {
			if _, err := m.ItemWarehouses(ctx, []string{string(rune('a' + i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, c := range up.calls {
		for _, k := range c {
			write := (k[0]-'a')%2 == 0
			if write != (up.prios[i] == erp.PriorityWrite) {
				t.Errorf("key %s went with priority %d", k, up.prios[i])
			}
		}
	}
}

// TestMergeLargeLookupGoesStraight: a lookup of MaxKeys keys or more (a
// page's prefetch) is one call of its own, at once, as without merging.
func TestMergeLargeLookupGoesStraight(t *testing.T) {
	up := &stubUpstream{}
	m := live.Merge(up, live.MergeOptions{MaxKeys: 4})
	keys := []string{"a", "b", "c", "d", "e"}
	rows, err := m.ItemWarehouses(context.Background(), keys)
	if err != nil || len(rows) != 5 {
		t.Fatalf("rows %v, err %v", rows, err)
	}
	if len(up.calls) != 1 || len(up.calls[0]) != 5 {
		t.Errorf("calls %v", up.calls)
	}
}

// TestMergeCapsKeysPerCall: concurrent lookups never put more than MaxKeys
// keys in one call.
func TestMergeCapsKeysPerCall(t *testing.T) {
	up := &stubUpstream{}
	m := live.Merge(up, live.MergeOptions{MaxKeys: 5})
	var wg sync.WaitGroup
	for i := range 23 {
		wg.Go(func() {
			rows, err := m.ItemWarehouses(context.Background(), []string{string(rune('A' + i))})
			if err != nil || len(rows) != 1 {
				t.Errorf("lookup %d: %v, %v", i, rows, err)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, c := range up.calls {
		if len(c) > 5 {
			t.Errorf("a call with %d keys: %v", len(c), c)
		}
		total += len(c)
	}
	if total != 23 || len(up.calls) < 5 {
		t.Errorf("%d keys in %d calls", total, len(up.calls))
	}
}

// TestMergeWaitsForEveryOperation: with operations noted (Begin), a call
// stays open while an operation in progress has not reached its lookup
// yet, and goes as soon as all of them wait: one call with both keys, long
// before the quiet period would have sent it.
func TestMergeWaitsForEveryOperation(t *testing.T) {
	up := &stubUpstream{}
	m := live.Merge(up, live.MergeOptions{MaxKeys: 25, Quiet: 5 * time.Second, MaxDelay: 10 * time.Second})
	ctxA, endA := m.Begin(context.Background())
	ctxB, endB := m.Begin(context.Background())
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer endA()
		if _, err := m.ItemWarehouses(ctxA, []string{"a"}); err != nil {
			t.Error(err)
		}
	})
	time.Sleep(50 * time.Millisecond) // B is still busy elsewhere
	up.mu.Lock()
	early := len(up.calls)
	up.mu.Unlock()
	wg.Go(func() {
		defer endB()
		if _, err := m.ItemWarehouses(ctxB, []string{"b"}); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if early != 0 {
		t.Errorf("a call went before operation B reached its lookup")
	}
	if len(up.calls) != 1 || len(up.calls[0]) != 2 {
		t.Errorf("calls %v, want one with both keys", up.calls)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the call waited %s: it should go once both operations wait", d)
	}
	// An operation that ended no longer holds calls back.
	m2 := live.Merge(up, live.MergeOptions{MaxKeys: 25, Quiet: 5 * time.Second, MaxDelay: 10 * time.Second})
	ctxC, endC := m2.Begin(context.Background())
	_, endD := m2.Begin(context.Background())
	endD()
	start = time.Now()
	if _, err := m2.ItemWarehouses(ctxC, []string{"c"}); err != nil {
		t.Error(err)
	}
	endC()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("a lone operation's call waited %s", d)
	}
}
