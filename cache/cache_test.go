package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/erptest"
)

// fakeClock is the project's one fake clock, for Options.Now.
type fakeClock = erptest.Clock

func newFakeClock() *fakeClock {
	return erptest.NewClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
}

var errUpstream = errors.New("upstream down")

var kindItem = Kind{Name: "item", TTL: 10 * time.Minute, NegativeTTL: time.Minute}

func newTestCache(t testing.TB, o Options) (*Cache, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	if o.Now == nil {
		o.Now = clk.Now
	}
	o.Metrics = true
	if o.NumCounters == 0 {
		o.NumCounters = 10_000 // the default's allocation is slow under -race
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c, clk
}

// settle waits until every load goroutine has finished and every accepted
// ristretto Set has been applied. Tests only: production code never
// depends on a Set having landed.
func settle(c *Cache) {
	c.wg.Wait()
	c.rc.Wait()
}

// waitFor spins (yielding, never sleeping) until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// newGate returns a channel blocking loads until open is called. Open is
// also called at cleanup, before the cache is closed, so a failing test
// does not leave loads blocked forever.
func newGate(t testing.TB) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(open)
	return ch, open
}

// counter is a load function returning a value with its call number.
type counter struct {
	calls atomic.Int64
	fail  atomic.Bool
}

func (n *counter) load(ctx context.Context) (string, error) {
	i := n.calls.Add(1)
	if n.fail.Load() {
		return "", errUpstream
	}
	return fmt.Sprintf("v%d", i), nil
}

func TestGetFreshHit(t *testing.T) {
	c, clk := newTestCache(t, Options{})
	ctx := t.Context()
	var n counter
	got, err := Get(ctx, c, kindItem, "k", n.load, nil)
	if err != nil || got != "v1" {
		t.Fatalf("first Get = %q, %v; want v1", got, err)
	}
	settle(c)
	clk.Advance(kindItem.TTL - time.Second)
	sctx := WithStaleTracker(ctx)
	got, err = Get(sctx, c, kindItem, "k", n.load, nil)
	if err != nil || got != "v1" {
		t.Fatalf("second Get = %q, %v; want v1", got, err)
	}
	if n.calls.Load() != 1 {
		t.Errorf("loads = %d, want 1", n.calls.Load())
	}
	if WasStale(sctx) {
		t.Error("fresh hit marked stale")
	}
	if v, ok := Peek[string](c, kindItem, "k"); !ok || v != "v1" {
		t.Errorf("Peek = %q, %v; want v1, true", v, ok)
	}
	if s := c.Stats(); s.Hits < 2 || s.Misses != 1 || s.Loads != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestStaleWhileRevalidateOneRefresh(t *testing.T) {
	c, clk := newTestCache(t, Options{})
	ctx := t.Context()
	if _, err := Get(ctx, c, kindItem, "k", func(context.Context) (string, error) { return "old", nil }, nil); err != nil {
		t.Fatal(err)
	}
	settle(c)
	clk.Advance(kindItem.TTL + time.Minute)

	release, open := newGate(t)
	var refreshes atomic.Int64
	var sawRefreshCtx atomic.Bool
	load := func(ctx context.Context) (string, error) {
		refreshes.Add(1)
		sawRefreshCtx.Store(IsRefresh(ctx))
		<-release
		return "new", nil
	}
	for i := range 10 {
		sctx := WithStaleTracker(ctx)
		got, err := Get(sctx, c, kindItem, "k", load, nil)
		if err != nil || got != "old" {
			t.Fatalf("call %d: Get = %q, %v; want old at once", i, got, err)
		}
		if !WasStale(sctx) {
			t.Fatalf("call %d: stale value not marked", i)
		}
	}
	// GetMany on the same expired key joins nothing and starts nothing new.
	vals, found, err := GetMany(ctx, c, kindItem, []string{"k"}, func(context.Context, []string) (map[string]string, error) {
		t.Error("GetMany loaded a key whose refresh is in flight")
		return nil, nil
	}, nil)
	if err != nil || !found[0] || vals[0] != "old" {
		t.Fatalf("GetMany = %v %v %v", vals, found, err)
	}
	open()
	settle(c)
	if got := refreshes.Load(); got != 1 {
		t.Errorf("background refreshes = %d, want exactly 1", got)
	}
	if !sawRefreshCtx.Load() {
		t.Error("refresh load ctx not marked IsRefresh")
	}
	sctx := WithStaleTracker(ctx)
	got, err := Get(sctx, c, kindItem, "k", load, nil)
	if err != nil || got != "new" || WasStale(sctx) {
		t.Errorf("after refresh Get = %q, %v, stale=%v; want new, fresh", got, err, WasStale(sctx))
	}
	if s := c.Stats(); s.Refreshes != 1 {
		t.Errorf("Stats.Refreshes = %d, want 1", s.Refreshes)
	}
}

func TestForegroundLoadIsNotRefresh(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	var refresh atomic.Bool
	refresh.Store(true)
	_, err := Get(t.Context(), c, kindItem, "k", func(ctx context.Context) (int, error) {
		refresh.Store(IsRefresh(ctx))
		return 1, nil
	}, nil)
	if err != nil || refresh.Load() {
		t.Errorf("foreground load: err %v, IsRefresh %v; want nil, false", err, refresh.Load())
	}
}

func TestStaleIfError(t *testing.T) {
	const staleMax = time.Hour
	tests := []struct {
		name       string
		revalidate time.Duration
		age        time.Duration // past expiry
		want       string
		wantErr    bool
		wantStale  bool
	}{
		{name: "within max age, load fails", revalidate: time.Minute, age: 30 * time.Minute, want: "v1", wantStale: true},
		{name: "just before max age", revalidate: time.Minute, age: staleMax - time.Second, want: "v1", wantStale: true},
		{name: "beyond max age", revalidate: time.Minute, age: staleMax + time.Second, wantErr: true},
		{name: "revalidating, refresh fails", revalidate: 0, age: 30 * time.Minute, want: "v1", wantStale: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newTestCache(t, Options{StaleMaxAge: staleMax, RevalidateMaxAge: tt.revalidate})
			var n counter
			if _, err := Get(t.Context(), c, kindItem, "k", n.load, nil); err != nil {
				t.Fatal(err)
			}
			settle(c)
			clk.Advance(kindItem.TTL + tt.age)
			n.fail.Store(true)
			ctx := WithStaleTracker(t.Context())
			got, err := Get(ctx, c, kindItem, "k", n.load, nil)
			settle(c)
			if tt.wantErr {
				if !errors.Is(err, errUpstream) {
					t.Fatalf("Get err = %v, want wrapping %v", err, errUpstream)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Get = %q, %v; want %q", got, err, tt.want)
			}
			if WasStale(ctx) != tt.wantStale {
				t.Errorf("WasStale = %v, want %v", WasStale(ctx), tt.wantStale)
			}
			if n.calls.Load() != 2 {
				t.Errorf("loads = %d, want 2", n.calls.Load())
			}
			if s := c.Stats(); s.LoadErrors != 1 {
				t.Errorf("LoadErrors = %d, want 1", s.LoadErrors)
			}
		})
	}
}

func TestGetManyStaleIfError(t *testing.T) {
	c, clk := newTestCache(t, Options{StaleMaxAge: time.Hour, RevalidateMaxAge: time.Minute})
	ctx := t.Context()
	ok := func(_ context.Context, keys []string) (map[string]int, error) {
		return map[string]int{"a": 1}, nil // b absent
	}
	if _, _, err := GetMany(ctx, c, kindItem, []string{"a", "b"}, ok, nil); err != nil {
		t.Fatal(err)
	}
	settle(c)
	clk.Advance(kindItem.TTL + 10*time.Minute)
	fail := func(context.Context, []string) (map[string]int, error) { return nil, errUpstream }
	sctx := WithStaleTracker(ctx)
	vals, found, err := GetMany(sctx, c, kindItem, []string{"b", "a"}, fail, nil)
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if diff := cmp.Diff([]int{0, 1}, vals); diff != "" {
		t.Errorf("vals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, true}, found); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	if !WasStale(sctx) {
		t.Error("stale values not marked")
	}
	// A key never seen has nothing to fall back on.
	if _, _, err := GetMany(ctx, c, kindItem, []string{"a", "new"}, fail, nil); !errors.Is(err, errUpstream) {
		t.Errorf("GetMany with unknown key err = %v, want %v", err, errUpstream)
	}
}

func TestNegativeCaching(t *testing.T) {
	c, clk := newTestCache(t, Options{})
	ctx := t.Context()
	var calls [][]string
	var mu sync.Mutex
	load := func(_ context.Context, keys []string) (map[string]string, error) {
		mu.Lock()
		calls = append(calls, keys)
		mu.Unlock()
		out := map[string]string{}
		for _, k := range keys {
			if k != "unknown" {
				out[k] = "val-" + k
			}
		}
		return out, nil
	}
	for range 2 {
		vals, found, err := GetMany(ctx, c, kindItem, []string{"a", "unknown"}, load, nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"val-a", ""}, vals); diff != "" {
			t.Errorf("vals (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]bool{true, false}, found); diff != "" {
			t.Errorf("found (-want +got):\n%s", diff)
		}
		settle(c)
	}
	clk.Advance(kindItem.NegativeTTL + time.Second)
	if _, _, err := GetMany(ctx, c, kindItem, []string{"a", "unknown"}, load, nil); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "unknown"}, {"unknown"}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("load calls (-want +got):\n%s", diff)
	}

	// Get: a load reporting ErrNotFound is cached as absent.
	var n atomic.Int64
	notFound := func(context.Context) (string, error) {
		n.Add(1)
		return "", fmt.Errorf("lookup: %w", ErrNotFound)
	}
	for i := range 2 {
		if _, err := Get(ctx, c, kindItem, "gone", notFound, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get %d err = %v, want ErrNotFound", i, err)
		}
		settle(c)
	}
	if n.Load() != 1 {
		t.Errorf("not-found loads = %d, want 1", n.Load())
	}
	// Without NegativeTTL absence is not cached.
	noNeg := Kind{Name: "noneg", TTL: time.Minute}
	for range 2 {
		if _, err := Get(ctx, c, noNeg, "gone2", notFound, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get err = %v, want ErrNotFound", err)
		}
		settle(c)
	}
	if n.Load() != 3 {
		t.Errorf("not-found loads without NegativeTTL = %d, want 3", n.Load())
	}
}

func TestConcurrentCallersOneLoad(t *testing.T) {
	for _, callers := range []int{20, 100} {
		t.Run(fmt.Sprint(callers), func(t *testing.T) {
			c, _ := newTestCache(t, Options{})
			release, open := newGate(t)
			var loads atomic.Int64
			load := func(context.Context) (string, error) {
				loads.Add(1)
				<-release
				return "value", nil
			}
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for range callers {
				wg.Go(func() {
					got, err := Get(t.Context(), c, kindItem, Key(1, "item", "x"), load, nil)
					if err == nil && got != "value" {
						err = fmt.Errorf("got %q", got)
					}
					errs <- err
				})
			}
			waitFor(t, "all callers to join", func() bool { return c.Stats().Coalesced == uint64(callers-1) })
			open()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if loads.Load() != 1 {
				t.Errorf("loads = %d, want 1", loads.Load())
			}
		})
	}
}

func TestGetManyOverlappingFlights(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	ctx := t.Context()
	releaseA, openA := newGate(t)
	startedA := make(chan struct{})
	loadA := func(_ context.Context, keys []string) (map[string]int, error) {
		close(startedA)
		<-releaseA
		return map[string]int{"1": 1, "2": 2, "3": 3}, nil
	}
	var gotB [][]string
	loadB := func(_ context.Context, keys []string) (map[string]int, error) {
		gotB = append(gotB, keys)
		return map[string]int{"4": 4}, nil
	}
	type result struct {
		vals  []int
		found []bool
		err   error
	}
	resA := make(chan result, 1)
	go func() {
		v, f, err := GetMany(ctx, c, kindItem, []string{"1", "2", "3"}, loadA, nil)
		resA <- result{v, f, err}
	}()
	<-startedA
	resB := make(chan result, 1)
	go func() {
		v, f, err := GetMany(ctx, c, kindItem, []string{"4", "3", "2", "4"}, loadB, nil)
		resB <- result{v, f, err}
	}()
	waitFor(t, "B to join A's keys", func() bool { return c.Stats().Coalesced == 2 })
	select {
	case <-resB:
		t.Fatal("B returned before A's keys were loaded")
	default:
	}
	openA()
	a, b := <-resA, <-resB
	if a.err != nil || b.err != nil {
		t.Fatalf("errors: A %v, B %v", a.err, b.err)
	}
	if diff := cmp.Diff([][]string{{"4"}}, gotB); diff != "" {
		t.Errorf("B's load keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2, 3}, a.vals); diff != "" {
		t.Errorf("A vals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{4, 3, 2, 4}, b.vals); diff != "" {
		t.Errorf("B vals in key order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, true, true}, b.found); diff != "" {
		t.Errorf("B found (-want +got):\n%s", diff)
	}
}

func TestGetManyKeyOrderMixedHits(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	ctx := t.Context()
	load := func(_ context.Context, keys []string) (map[string]string, error) {
		out := map[string]string{}
		for _, k := range keys {
			if k != "zz" {
				out[k] = "v" + k
			}
		}
		return out, nil
	}
	if _, _, err := GetMany(ctx, c, kindItem, []string{"b", "d"}, load, nil); err != nil {
		t.Fatal(err)
	}
	settle(c)
	var loaded []string
	vals, found, err := GetMany(ctx, c, kindItem, []string{"a", "b", "zz", "c", "d", "a"}, func(ctx context.Context, keys []string) (map[string]string, error) {
		loaded = slices.Clone(keys)
		return load(ctx, keys)
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"va", "vb", "", "vc", "vd", "va"}, vals); diff != "" {
		t.Errorf("vals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, false, true, true, true}, found); diff != "" {
		t.Errorf("found (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"a", "zz", "c"}, loaded); diff != "" {
		t.Errorf("loaded keys (-want +got):\n%s", diff)
	}
	if vals, found, err := GetMany(ctx, c, kindItem, nil, load, nil); err != nil || len(vals) != 0 || len(found) != 0 {
		t.Errorf("GetMany(nil keys) = %v, %v, %v", vals, found, err)
	}
}

func TestDroppedSetsStayCorrect(t *testing.T) {
	// Every entry costs more than the whole cache: ristretto refuses all
	// Sets, yet every caller gets the loaded value.
	c, _ := newTestCache(t, Options{MaxCostBytes: 1})
	ctx := t.Context()
	var n counter
	for i := 1; i <= 3; i++ {
		got, err := Get(ctx, c, kindItem, "k", n.load, nil)
		if want := fmt.Sprintf("v%d", i); err != nil || got != want {
			t.Fatalf("Get %d = %q, %v; want %q", i, got, err, want)
		}
		settle(c)
	}
	vals, found, err := GetMany(ctx, c, kindItem, []string{"x", "y"}, func(_ context.Context, keys []string) (map[string]string, error) {
		return map[string]string{"x": "X", "y": "Y"}, nil
	}, func(string) int64 { return 1 << 20 })
	if err != nil || !slices.Equal(vals, []string{"X", "Y"}) || !slices.Equal(found, []bool{true, true}) {
		t.Errorf("GetMany = %v, %v, %v", vals, found, err)
	}
	if _, ok := Peek[string](c, kindItem, "x"); ok {
		t.Error("Peek found an entry the cache cannot hold")
	}
}

func TestPanickingLoad(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	ctx := t.Context()
	release, open := newGate(t)
	load := func(context.Context) (string, error) {
		<-release
		panic("boom")
	}
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			_, err := Get(ctx, c, kindItem, "p", load, nil)
			errs <- err
		}()
	}
	waitFor(t, "callers to join", func() bool { return c.Stats().Coalesced == 4 })
	open()
	for range 5 {
		var pe *PanicError
		if err := <-errs; !errors.As(err, &pe) || pe.Value != "boom" {
			t.Errorf("err = %v, want *PanicError(boom)", err)
		}
	}
	// The key is usable again.
	got, err := Get(ctx, c, kindItem, "p", func(context.Context) (string, error) { return "ok", nil }, nil)
	if err != nil || got != "ok" {
		t.Errorf("Get after panic = %q, %v", got, err)
	}
	// A panicking batch load too.
	_, _, err = GetMany(ctx, c, kindItem, []string{"q"}, func(context.Context, []string) (map[string]int, error) { panic(errUpstream) }, nil)
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Errorf("GetMany err = %v, want *PanicError", err)
	}
	// A panicking cost function falls back to DefaultCost.
	got, err = Get(ctx, c, kindItem, "costpanic", func(context.Context) (string, error) { return "ok", nil }, func(string) int64 { panic("cost") })
	if err != nil || got != "ok" {
		t.Errorf("Get with panicking cost = %q, %v", got, err)
	}
}

func TestCancelledWaiter(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	release, open := newGate(t)
	started := make(chan struct{})
	loadCtxErr := make(chan error, 1)
	load := func(ctx context.Context) (string, error) {
		close(started)
		<-release
		loadCtxErr <- ctx.Err()
		return "value", nil
	}
	firstCtx, cancelFirst := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := Get(firstCtx, c, kindItem, "k", load, nil)
		first <- err
	}()
	<-started
	second := make(chan string, 1)
	go func() {
		got, err := Get(context.Background(), c, kindItem, "k", load, nil)
		if err != nil {
			got = err.Error()
		}
		second <- got
	}()
	waitFor(t, "second caller to join", func() bool { return c.Stats().Coalesced == 1 })
	cancelFirst()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller err = %v, want context.Canceled", err)
	}
	open()
	if got := <-second; got != "value" {
		t.Errorf("other waiter got %q, want value", got)
	}
	if err := <-loadCtxErr; err != nil {
		t.Errorf("load ctx err = %v, want nil (load must outlive the first caller)", err)
	}
}

func TestLoadKeepsContextValues(t *testing.T) {
	type callerKey struct{}
	c, _ := newTestCache(t, Options{})
	ctx := context.WithValue(t.Context(), callerKey{}, "buyer-1")
	got, err := Get(ctx, c, kindItem, "k", func(ctx context.Context) (string, error) {
		s, _ := ctx.Value(callerKey{}).(string)
		return s, nil
	}, nil)
	if err != nil || got != "buyer-1" {
		t.Errorf("load saw caller %q, %v; want buyer-1", got, err)
	}
}

func TestLoadTimeout(t *testing.T) {
	c, _ := newTestCache(t, Options{LoadTimeout: time.Millisecond})
	_, err := Get(t.Context(), c, kindItem, "k", func(ctx context.Context) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

func TestDeleteDuringFlightDoesNotStore(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	ctx := t.Context()
	release, open := newGate(t)
	started := make(chan struct{})
	done := make(chan string, 1)
	go func() {
		got, _ := Get(ctx, c, kindItem, "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "before-delete", nil
		}, nil)
		done <- got
	}()
	<-started
	c.Delete("k")
	open()
	if got := <-done; got != "before-delete" {
		t.Errorf("waiter got %q", got)
	}
	settle(c)
	if v, ok := Peek[string](c, kindItem, "k"); ok {
		t.Errorf("invalidated load was stored: %q", v)
	}
	// Delete of a stored entry.
	if _, err := Get(ctx, c, kindItem, "d", func(context.Context) (string, error) { return "x", nil }, nil); err != nil {
		t.Fatal(err)
	}
	settle(c)
	if _, ok := Peek[string](c, kindItem, "d"); !ok {
		t.Fatal("entry not stored")
	}
	c.Delete("d")
	if _, ok := Peek[string](c, kindItem, "d"); ok {
		t.Error("entry survived Delete")
	}
}

func TestClose(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		_, err := Get(context.Background(), c, kindItem, "k", func(ctx context.Context) (string, error) {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		}, nil)
		errc <- err
	}()
	<-started
	c.Close()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("in-flight load after Close: err = %v, want context.Canceled", err)
	}
	if _, err := Get(t.Context(), c, kindItem, "k", func(context.Context) (string, error) { return "x", nil }, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close err = %v, want ErrClosed", err)
	}
	c.Close() // idempotent
	c.Delete("k")
}

func TestInvalidArguments(t *testing.T) {
	var nilCache *Cache
	if _, err := Get[string](t.Context(), nilCache, kindItem, "k", nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Get on nil cache err = %v", err)
	}
	if _, _, err := GetMany[string](t.Context(), nilCache, kindItem, []string{"k"}, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("GetMany on nil cache err = %v", err)
	}
	if _, ok := Peek[string](nilCache, kindItem, "k"); ok {
		t.Error("Peek on nil cache found something")
	}
	if _, err := New(Options{MaxCostBytes: -1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("New with negative cost err = %v", err)
	}
}

func TestTypeMismatch(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	ctx := t.Context()
	if _, err := Get(ctx, c, kindItem, "k", func(context.Context) (int, error) { return 1, nil }, nil); err != nil {
		t.Fatal(err)
	}
	settle(c)
	// A different type under the same key is a miss and is loaded.
	got, err := Get(ctx, c, kindItem, "k", func(context.Context) (string, error) { return "s", nil }, nil)
	if err != nil || got != "s" {
		t.Errorf("Get string = %q, %v", got, err)
	}
	if _, ok := Peek[float64](c, kindItem, "k"); ok {
		t.Error("Peek with wrong type reported a hit")
	}
}

func TestZeroTTLNeverStored(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	orders := Kind{Name: "order", TTL: 0} // orders are never cached
	var n counter
	for i := 1; i <= 2; i++ {
		got, err := Get(t.Context(), c, orders, "o", n.load, nil)
		if want := fmt.Sprintf("v%d", i); err != nil || got != want {
			t.Errorf("Get %d = %q, %v; want %q", i, got, err, want)
		}
		settle(c)
	}
}

func TestStaleTracker(t *testing.T) {
	bare := t.Context()
	MarkStale(bare) // no tracker: no effect, no panic
	if WasStale(bare) {
		t.Error("context without tracker reports stale")
	}
	ctx := WithStaleTracker(bare)
	if WasStale(ctx) {
		t.Error("new tracker reports stale")
	}
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	MarkStale(child)
	if !WasStale(ctx) {
		t.Error("MarkStale on a child context not seen by the request context")
	}
}

func TestBuyersNeverShareEntries(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	ctx := t.Context()
	prices := Kind{Name: "price", TTL: 5 * time.Minute, NegativeTTL: time.Minute}
	keyFor := func(buyer string) string {
		k, err := BuyerKey(1, "price", buyer, "item-1")
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, buyer := range []string{"A", "B"} {
		got, err := Get(ctx, c, prices, keyFor(buyer), func(context.Context) (string, error) { return "price-for-" + buyer, nil }, nil)
		if err != nil || got != "price-for-"+buyer {
			t.Fatalf("Get %s = %q, %v", buyer, got, err)
		}
		settle(c)
	}
	for _, buyer := range []string{"A", "B"} {
		if got, ok := Peek[string](c, prices, keyFor(buyer)); !ok || got != "price-for-"+buyer {
			t.Errorf("buyer %s sees %q, %v", buyer, got, ok)
		}
	}
}

func TestDefaultCost(t *testing.T) {
	type rec struct {
		Code  string
		Tags  []string
		When  time.Time
		Price *float64
	}
	small := DefaultCost(rec{Code: "a"})
	big := DefaultCost(rec{Code: string(make([]byte, 1000)), Tags: []string{"x", "y"}, When: time.Now()})
	if small <= 0 || big < small+1000 {
		t.Errorf("DefaultCost small = %d, big = %d", small, big)
	}
	if got := DefaultCost(nil); got != 0 {
		t.Errorf("DefaultCost(nil) = %d", got)
	}
	m := map[string][]int{"a": {1, 2, 3}}
	if DefaultCost(m) <= 0 || DefaultCost(&rec{}) <= 0 {
		t.Error("DefaultCost of map or pointer not positive")
	}
	type cyclic struct{ next *cyclic }
	cy := &cyclic{}
	cy.next = cy
	if DefaultCost(cy) <= 0 {
		t.Error("DefaultCost of a cycle not positive")
	}
}

func TestRefreshBackoffAfterFailure(t *testing.T) {
	c, clk := newTestCache(t, Options{RefreshBackoff: 10 * time.Second})
	ctx := t.Context()
	var n counter
	if _, err := Get(ctx, c, kindItem, "k", n.load, nil); err != nil {
		t.Fatal(err)
	}
	settle(c)
	clk.Advance(kindItem.TTL + time.Minute)
	n.fail.Store(true)
	steps := []struct {
		advance   time.Duration
		wantLoads int64
	}{
		{0, 2},                // first stale hit starts a refresh, which fails
		{time.Second, 2},      // within the backoff: no new refresh
		{10 * time.Second, 3}, // after it: one more
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		got, err := Get(ctx, c, kindItem, "k", n.load, nil)
		settle(c)
		if err != nil || got != "v1" {
			t.Fatalf("step %d: Get = %q, %v; want stale v1", i, got, err)
		}
		if n.calls.Load() != st.wantLoads {
			t.Errorf("step %d: loads = %d, want %d", i, n.calls.Load(), st.wantLoads)
		}
	}
}

// TestNoReloadAfterLoadFinished: a caller whose lookup missed just before
// another caller's load finished joins the stored value instead of loading
// again (the re-check under the lock in acquire).
func TestNoReloadAfterLoadFinished(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k := Kind{Name: "k", TTL: time.Hour}
	loads := 0
	load := func(context.Context, []string) (map[string]int, error) {
		loads++
		return map[string]int{"a": 1}, nil
	}
	if _, _, err := GetMany(t.Context(), c, k, []string{"a"}, load, nil); err != nil {
		t.Fatal(err)
	}
	// Simulate the stale miss: call acquire directly, as GetMany does after
	// a lookup that missed.
	flights, err := acquire(t.Context(), c, k, []string{"a"}, load, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-flights[0].done
	if loads != 1 || flights[0].val != 1 {
		t.Errorf("loads = %d, value %v; want 1 load and the stored value", loads, flights[0].val)
	}
}
