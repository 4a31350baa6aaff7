package callerlimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp/callerlimit"
	"github.com/exactql/exactql/erp/erptest"
)

// who stands in for the gateway's caller: a subject for authenticated
// callers, an address for anonymous ones.
type who struct{ sub, addr string }

type whoKey struct{}

func withWho(ctx context.Context, w who) context.Context {
	return context.WithValue(ctx, whoKey{}, w)
}

// keyOf mirrors the gateway's KeyFunc: "sub:…" or "addr:…", "" without a
// caller.
func keyOf(ctx context.Context) string {
	w, ok := ctx.Value(whoKey{}).(who)
	switch {
	case !ok:
		return ""
	case w.sub != "":
		return "sub:" + w.sub
	case w.addr != "":
		return "addr:" + w.addr
	}
	return ""
}

// clock is the project's one fake clock.
type clock = erptest.Clock

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newLimiter(t *testing.T, perMinute int) (*callerlimit.Limiter, *clock) {
	t.Helper()
	clk := erptest.NewClock(t0)
	l, err := callerlimit.New(perMinute, keyOf, clk.Now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l, clk
}

// outcome renders Allow's result: "ok" or the RetryAfter of a refusal.
func outcome(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	var le *callerlimit.LimitedError
	if !errors.As(err, &le) {
		t.Fatalf("Allow: unexpected error %v", err)
	}
	return "limited " + le.RetryAfter.String()
}

func TestAllow(t *testing.T) {
	alice := withWho(t.Context(), who{sub: "alice"})
	bob := withWho(t.Context(), who{sub: "bob"})
	anonA := withWho(t.Context(), who{addr: "192.0.2.1"})
	anonA2 := withWho(t.Context(), who{addr: "192.0.2.1"}) // another request, same address
	anonB := withWho(t.Context(), who{addr: "192.0.2.2"})
	nobody := t.Context()

	type step struct {
		advance time.Duration
		ctx     context.Context
		want    string
	}
	tests := []struct {
		name      string
		perMinute int
		steps     []step
	}{
		{
			name:      "budget spent then refused with retry after",
			perMinute: 3,
			steps: []step{
				{ctx: alice, want: "ok"}, {ctx: alice, want: "ok"}, {ctx: alice, want: "ok"},
				{ctx: alice, want: "limited 20s"},
				{advance: 5 * time.Second, ctx: alice, want: "limited 15s"},
			},
		},
		{
			name:      "another caller keeps its own budget",
			perMinute: 2,
			steps: []step{
				{ctx: alice, want: "ok"}, {ctx: alice, want: "ok"}, {ctx: alice, want: "limited 30s"},
				{ctx: bob, want: "ok"}, {ctx: bob, want: "ok"}, {ctx: bob, want: "limited 30s"},
			},
		},
		{
			name:      "window refills",
			perMinute: 3,
			steps: []step{
				{ctx: alice, want: "ok"}, {ctx: alice, want: "ok"}, {ctx: alice, want: "ok"},
				{ctx: alice, want: "limited 20s"},
				{advance: 20 * time.Second, ctx: alice, want: "ok"},
				{ctx: alice, want: "limited 20s"},
				{advance: time.Hour, ctx: alice, want: "ok"}, // saved calls are capped at one minute's budget
				{ctx: alice, want: "ok"}, {ctx: alice, want: "ok"}, {ctx: alice, want: "limited 20s"},
			},
		},
		{
			name:      "anonymous callers are limited by address",
			perMinute: 2,
			steps: []step{
				{ctx: anonA, want: "ok"}, {ctx: anonA2, want: "ok"}, {ctx: anonA, want: "limited 30s"},
				{ctx: anonB, want: "ok"}, {ctx: anonB, want: "ok"}, {ctx: anonA2, want: "limited 30s"},
			},
		},
		{
			name:      "no caller key is never charged",
			perMinute: 1,
			steps:     []step{{ctx: nobody, want: "ok"}, {ctx: nobody, want: "ok"}, {ctx: nobody, want: "ok"}},
		},
		{
			name:      "zero budget disables the limit",
			perMinute: 0,
			steps:     []step{{ctx: alice, want: "ok"}, {ctx: alice, want: "ok"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, clk := newLimiter(t, tt.perMinute)
			var want, got []string
			refused := uint64(0)
			for _, s := range tt.steps {
				clk.Advance(s.advance)
				want = append(want, s.want)
				o := outcome(t, l.Allow(s.ctx))
				if o != "ok" {
					refused++
				}
				got = append(got, o)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Allow outcomes (-want +got):\n%s", diff)
			}
			if l.Refusals() != refused {
				t.Errorf("Refusals() = %d, want %d", l.Refusals(), refused)
			}
		})
	}
}

func TestNilLimiterAllows(t *testing.T) {
	var l *callerlimit.Limiter
	if err := l.Allow(withWho(t.Context(), who{sub: "x"})); err != nil {
		t.Errorf("nil Limiter: Allow = %v, want nil", err)
	}
	if l.Refusals() != 0 || l.Callers() != 0 {
		t.Errorf("nil Limiter: counters not zero")
	}
}

func TestNewRejectsBadArguments(t *testing.T) {
	if _, err := callerlimit.New(-1, keyOf, nil); !errors.Is(err, callerlimit.ErrInvalid) {
		t.Errorf("New(-1) error = %v, want ErrInvalid", err)
	}
	if _, err := callerlimit.New(10, nil, nil); !errors.Is(err, callerlimit.ErrInvalid) {
		t.Errorf("New(nil key) error = %v, want ErrInvalid", err)
	}
}

func TestLimitedErrorSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{d: 0, want: 1},
		{d: time.Millisecond, want: 1},
		{d: 2 * time.Second, want: 2},
		{d: 2*time.Second + 1, want: 3},
	}
	for _, tt := range tests {
		e := &callerlimit.LimitedError{RetryAfter: tt.d}
		if got := e.RetryAfterSeconds(); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
		if e.Error() == "" {
			t.Errorf("empty Error()")
		}
	}
}

// TestRefreshIsFree drives a real stale-while-revalidate refresh of the
// cache: the refresh's load runs with the caller's context values but
// must not be charged, even when the caller has nothing left.
func TestRefreshIsFree(t *testing.T) {
	l, clk := newLimiter(t, 1)
	c, err := cache.New(cache.Options{Now: clk.Now, MaxCostBytes: 1 << 20, NumCounters: 1000})
	if err != nil {
		t.Fatalf("cache.New: %v", err)
	}
	defer c.Close()
	kind := cache.Kind{Name: "item", TTL: time.Minute}
	key := cache.Key(1, "item", "a")
	ctx := withWho(t.Context(), who{sub: "alice"})

	type result struct {
		Refresh bool
		Key     string
		Err     error
	}
	results := make(chan result, 4)
	load := func(ctx context.Context) (string, error) {
		err := l.Allow(ctx)
		results <- result{Refresh: cache.IsRefresh(ctx), Key: keyOf(ctx), Err: err}
		if err != nil {
			return "", err
		}
		return "v", nil
	}
	// A foreground miss is charged: it spends alice's only call.
	if _, err := cache.Get(ctx, c, kind, key, load, nil); err != nil {
		t.Fatalf("first Get: %v", err)
	}
	if r := <-results; r.Refresh || r.Err != nil {
		t.Fatalf("foreground load: refresh=%v err=%v, want a charged, allowed call", r.Refresh, r.Err)
	}
	if err := l.Allow(ctx); err == nil {
		t.Fatalf("Allow after the foreground load = nil, want the budget spent")
	}

	// Expire the entry; regain one call and spend it so the bucket is empty.
	clk.Advance(time.Minute + time.Second)
	if err := l.Allow(ctx); err != nil {
		t.Fatalf("Allow after refill: %v", err)
	}
	if _, err := cache.Get(ctx, c, kind, key, load, nil); err != nil {
		t.Fatalf("stale Get: %v", err)
	}
	r := <-results
	if diff := cmp.Diff(result{Refresh: true, Key: "sub:alice"}, r, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("background refresh (-want +got):\n%s", diff)
	}
	if err := l.Allow(ctx); err == nil {
		t.Errorf("Allow after the refresh = nil, want alice still limited")
	}
}

func TestConcurrentCallsNeverOvershoot(t *testing.T) {
	const perMinute, callers, calls = 50, 8, 40
	l, _ := newLimiter(t, perMinute)
	ctx := withWho(t.Context(), who{sub: "alice"})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls {
				if l.Allow(ctx) == nil {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != perMinute {
		t.Errorf("allowed %d calls, want exactly %d", got, perMinute)
	}
	if got := l.Refusals(); got != callers*calls-perMinute {
		t.Errorf("Refusals() = %d, want %d", got, callers*calls-perMinute)
	}
}
