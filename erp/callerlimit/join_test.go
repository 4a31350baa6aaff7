package callerlimit_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp/callerlimit"
)

// TestSpentCallerDoesNotRateLimitJoiners: caller A has spent its budget and
// starts a load; B joins it. The load is refused by A's limit, so A gets
// RATE_LIMITED, but B (budget fine) loads the data on its own budget and is
// served; the division's upstream is asked once, by B.
func TestSpentCallerDoesNotRateLimitJoiners(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	l, err := callerlimit.New(1, keyOf, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	a := withWho(context.Background(), who{addr: "203.0.113.7"})
	b := withWho(context.Background(), who{sub: "buyer-b"})
	if err := l.Allow(a); err != nil { // A spends its only call
		t.Fatal(err)
	}
	c, err := cache.New(cache.Options{Metrics: true, NumCounters: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	kind := cache.Kind{Name: "item", TTL: time.Minute}

	started, release := make(chan struct{}), make(chan struct{})
	upstream := 0
	load := func(ctx context.Context) (string, error) {
		if keyOf(ctx) == "addr:203.0.113.7" {
			close(started)
			<-release
		}
		// What the erp client does before each call (WithCallGate).
		if err := l.Allow(ctx); err != nil {
			return "", err
		}
		upstream++
		return "item", nil
	}
	errA := make(chan error, 1)
	go func() {
		_, err := cache.Get(a, c, kind, "k", load, nil)
		errA <- err
	}()
	<-started
	type res struct {
		v   string
		err error
	}
	gotB := make(chan res, 1)
	go func() {
		v, err := cache.Get(b, c, kind, "k", load, nil)
		gotB <- res{v, err}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Coalesced < 1 { // B has joined A's load
		if time.Now().After(deadline) {
			t.Fatal("B never joined A's load")
		}
		runtime.Gosched()
	}
	close(release)
	var le *callerlimit.LimitedError
	r := <-gotB
	if r.err != nil || r.v != "item" {
		t.Errorf("B = %q, %v; want the item (B's budget is fine)", r.v, r.err)
	}
	if err := <-errA; err != nil && !errors.As(err, &le) {
		t.Errorf("A = %v, want its own RATE_LIMITED (or the value B loaded)", err)
	}
	if upstream != 1 || c.Stats().Releads != 1 {
		t.Errorf("upstream calls = %d, releads = %d; want 1 and 1", upstream, c.Stats().Releads)
	}
}
