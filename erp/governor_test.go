package erp

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
)

// fakeClock is the project's one fake clock (erptest.Clock, which this
// package's own tests cannot import: erptest imports erp).
type fakeClock = sandbox.FakeClock

func newFakeClock() *fakeClock {
	return sandbox.NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
}

func rateHeaders(minLimit, minRem int, minReset time.Time, dayLimit, dayRem int, dayReset time.Time) http.Header {
	h := http.Header{}
	if minLimit > 0 {
		h.Set("X-RateLimit-Minutely-Limit", strconv.Itoa(minLimit))
		h.Set("X-RateLimit-Minutely-Remaining", strconv.Itoa(minRem))
		h.Set("X-RateLimit-Minutely-Reset", strconv.FormatInt(minReset.UnixMilli(), 10))
	}
	if dayLimit > 0 {
		h.Set("X-RateLimit-Limit", strconv.Itoa(dayLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(dayRem))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(dayReset.UnixMilli(), 10))
	}
	return h
}

func mustWait(t *testing.T, g *Governor, p Priority) func() {
	t.Helper()
	rel, err := g.Wait(context.Background(), p)
	if err != nil {
		t.Fatalf("Wait(%d): %v", p, err)
	}
	return rel
}

func wantRateLimit(t *testing.T, err error, reset time.Time, minutely bool) {
	t.Helper()
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("err = %v, want *RateLimitError", err)
	}
	if !rl.Reset.Equal(reset) || rl.Minutely != minutely {
		t.Errorf("RateLimitError{Reset: %v, Minutely: %v}, want {%v, %v}", rl.Reset, rl.Minutely, reset, minutely)
	}
	if !IsTransient(err) {
		t.Errorf("IsTransient(%v) = false", err)
	}
}

func TestGovernorAssumes60PerMinute(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, DayLimit: 100000})
	// Reads get 54 of the 60: the last 6 (10 %) are the writes' reserve.
	for i := 0; i < 54; i++ {
		mustWait(t, g, PriorityInteractive)()
	}
	_, err := g.Wait(t.Context(), PriorityInteractive)
	wantRateLimit(t, err, start.Add(time.Minute+time.Second), true)
	for i := 0; i < 6; i++ {
		mustWait(t, g, PriorityWrite)()
	}
	// A write is not exempt from the minutely limit.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err = g.Wait(ctx, PriorityWrite)
	wantRateLimit(t, err, start.Add(time.Minute+time.Second), true)
	if s := g.Snapshot(); s.MinuteRemaining != 0 || s.InFlight != 0 {
		t.Errorf("snapshot = %+v", s)
	}
}

func TestGovernorReconcilesHeaders(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now})
	rel := mustWait(t, g, PriorityInteractive)
	other := mustWait(t, g, PriorityInteractive) // still in flight
	g.Update(rateHeaders(100, 40, now.Add(20*time.Second), 9000, 8000, now.Add(10*time.Hour)), 200)
	rel()
	s := g.Snapshot()
	// 40 remaining minus the other call still in flight.
	if s.MinuteLimit != 100 || s.MinuteRemaining != 39 || !s.MinuteReset.Equal(now.Add(20*time.Second)) {
		t.Errorf("minute = %d/%d reset %v", s.MinuteRemaining, s.MinuteLimit, s.MinuteReset)
	}
	if s.DayLimit != 9000 || s.DayRemaining != 7999 || !s.DayReset.Equal(now.Add(10*time.Hour)) {
		t.Errorf("day = %d/%d reset %v", s.DayRemaining, s.DayLimit, s.DayReset)
	}
	// A stale header (window already over) changes nothing.
	g.Update(rateHeaders(100, 0, now.Add(-5*time.Second), 0, 0, time.Time{}), 200)
	if got := g.Snapshot().MinuteRemaining; got != 39 {
		t.Errorf("after stale header remaining = %d, want 39", got)
	}
	other()
	// After the reset (plus slack) the window reopens minus in-flight calls.
	clk.Advance(21 * time.Second)
	if got := g.Snapshot().MinuteRemaining; got != 100 {
		t.Errorf("after reset remaining = %d, want 100", got)
	}
}

func TestGovernorNoCallsAfter429UntilReset(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, MaxWait: 500 * time.Millisecond})
	rel := mustWait(t, g, PriorityInteractive)
	reset := now.Add(30 * time.Second)
	// A minutely 429 carries only the minutely trio.
	g.Update(rateHeaders(60, 0, reset, 0, 0, time.Time{}), http.StatusTooManyRequests)
	rel()
	for _, p := range []Priority{PriorityBackground, PriorityInteractive} {
		_, err := g.Wait(t.Context(), p)
		wantRateLimit(t, err, reset.Add(time.Second), true)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err := g.Wait(ctx, PriorityWrite)
	wantRateLimit(t, err, reset.Add(time.Second), true)
	if s := g.Snapshot(); !s.BlockedUntil.Equal(reset.Add(time.Second)) || s.RateLimited != 1 {
		t.Errorf("snapshot = %+v", s)
	}
	clk.Advance(30 * time.Second) // at the reset, but not past the slack
	_, err = g.Wait(t.Context(), PriorityInteractive)
	wantRateLimit(t, err, reset.Add(time.Second), true)
	clk.Advance(time.Second)
	mustWait(t, g, PriorityInteractive)()
}

func Test429WithoutHeadersBlocksAWindow(t *testing.T) {
	clk := newFakeClock()
	g := NewGovernor(GovernorOptions{Now: clk.Now})
	g.Update(http.Header{}, http.StatusTooManyRequests)
	_, err := g.Wait(t.Context(), PriorityInteractive)
	wantRateLimit(t, err, clk.Now().Add(time.Minute+time.Second), true)
}

func TestGovernorPacesReadsOverTheDay(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, Burst: 5, MaxWait: 500 * time.Millisecond, MinuteLimit: 1000})
	// 1000 left, 100 reserved for writes (10 % of 1000), 1000 s to go:
	// reads may spend 0.9 calls per second beyond the burst.
	g.Update(rateHeaders(1000, 1000, now.Add(time.Minute), 1000, 1000, now.Add(1000*time.Second)), 200)
	for i := 0; i < 5; i++ {
		mustWait(t, g, PriorityInteractive)()
	}
	_, err := g.Wait(t.Context(), PriorityInteractive)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Minutely {
		t.Fatalf("sixth read: err = %v, want daily *RateLimitError", err)
	}
	// One token takes 1/rate seconds; the rate is (995-100)/1000 per second.
	rate := 895.0 / 1000
	wantReset := now.Add(time.Duration(float64(time.Second) / rate))
	if d := rl.Reset.Sub(wantReset); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("reset = %v, want about %v", rl.Reset, wantReset)
	}
	// Writes are exempt from the pacing.
	mustWait(t, g, PriorityWrite)()
	clk.Advance(2 * time.Second)
	mustWait(t, g, PriorityInteractive)()
	if s := g.Snapshot(); s.ReadTokens > 1 || s.ReadTokens < 0 {
		t.Errorf("tokens = %v after spending a refilled one", s.ReadTokens)
	}
}

func TestGovernorKeepsWriteReserve(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	dayReset := now.Add(time.Hour)
	g := NewGovernor(GovernorOptions{Now: clk.Now, WriteReserve: 0.10})
	// 5000 a day, 500 reserved; 501 left: one read, then only writes.
	g.Update(rateHeaders(60, 60, now.Add(time.Minute), 5000, 501, dayReset), 200)
	mustWait(t, g, PriorityBackground)()
	_, err := g.Wait(t.Context(), PriorityInteractive)
	wantRateLimit(t, err, dayReset.Add(time.Second), false)
	mustWait(t, g, PriorityWrite)()
	// Writes may spend the reserve down to zero, not beyond.
	g.Update(rateHeaders(60, 50, now.Add(time.Minute), 5000, 0, dayReset), 200)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err = g.Wait(ctx, PriorityWrite)
	wantRateLimit(t, err, dayReset.Add(time.Second), false)
}

// waitQueued spins until n callers are queued in g (no sleeping).
func waitQueued(t *testing.T, g *Governor, n int) {
	t.Helper()
	for i := 0; g.Snapshot().Waiting < n; i++ {
		if i > 10_000_000 {
			t.Fatalf("never saw %d waiters", n)
		}
		runtime.Gosched()
	}
}

func TestGovernorWritesGoFirst(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, MaxWait: time.Hour})
	g.Update(rateHeaders(60, 0, now.Add(30*time.Second), 5000, 4000, now.Add(5*time.Hour)), 200)

	order := make(chan Priority, 3)
	var wg sync.WaitGroup
	start := func(p Priority) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := g.Wait(context.Background(), p)
			if err != nil {
				t.Errorf("Wait(%d): %v", p, err)
				return
			}
			order <- p
			rel()
		}()
	}
	start(PriorityBackground)
	waitQueued(t, g, 1)
	start(PriorityInteractive)
	waitQueued(t, g, 2)
	start(PriorityWrite)
	waitQueued(t, g, 3)
	// A new window with room for one call: the write must get it.
	clk.Advance(31 * time.Second)
	g.Update(rateHeaders(60, 1, now.Add(90*time.Second), 5000, 3999, now.Add(5*time.Hour)), 200)
	if got := <-order; got != PriorityWrite {
		t.Fatalf("first admitted = %d, want write", got)
	}
	for i, want := range []Priority{PriorityInteractive, PriorityBackground} {
		waitIdle(t, g)
		// Reads leave the minute's write reserve (6 of 60) alone: one read
		// fits when 7 remain.
		g.Update(rateHeaders(60, 7, now.Add(time.Duration(91+i)*time.Second), 5000, 3998, now.Add(5*time.Hour)), 200)
		if got := <-order; got != want {
			t.Fatalf("admitted %d, want %d", got, want)
		}
	}
	wg.Wait()
}

// waitIdle spins until no call of g is in flight.
func waitIdle(t *testing.T, g *Governor) {
	t.Helper()
	for i := 0; g.Snapshot().InFlight > 0; i++ {
		if i > 10_000_000 {
			t.Fatal("calls never finished")
		}
		runtime.Gosched()
	}
}

func TestGovernorContextCancelWhileQueued(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, MaxWait: time.Hour})
	g.Update(rateHeaders(60, 0, now.Add(30*time.Second), 0, 0, time.Time{}), 200)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() {
		_, err := g.Wait(ctx, PriorityInteractive)
		done <- err
	}()
	waitQueued(t, g, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if s := g.Snapshot(); s.Waiting != 0 || s.InFlight != 0 {
		t.Errorf("snapshot = %+v", s)
	}
}

func TestGovernorDeadlineBeforeReset(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, MaxWait: time.Hour})
	g.Update(rateHeaders(60, 0, now.Add(30*time.Second), 0, 0, time.Time{}), 200)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// The window opens after the deadline: fail at once, do not sleep.
	_, err := g.Wait(ctx, PriorityWrite)
	wantRateLimit(t, err, now.Add(31*time.Second), true)
}

func TestGovernorErrorCap(t *testing.T) {
	clk := newFakeClock()
	g := NewGovernor(GovernorOptions{Now: clk.Now, ErrorCapPerHour: 3})
	for i := 0; i < 3; i++ {
		if g.errorCapped("crm/Accounts") {
			t.Fatalf("capped after %d errors", i)
		}
		g.recordError("crm/Accounts")
		clk.Advance(10 * time.Minute)
	}
	if !g.errorCapped("crm/Accounts") {
		t.Error("not capped after 3 errors")
	}
	if g.errorCapped("logistics/Items") {
		t.Error("cap leaked to another endpoint")
	}
	clk.Advance(31 * time.Minute) // the first error is now over an hour old
	if g.errorCapped("crm/Accounts") {
		t.Error("still capped after the oldest error aged out")
	}
}

func TestPriorityFromContext(t *testing.T) {
	ctx := t.Context()
	if p := PriorityFromContext(ctx); p != PriorityInteractive {
		t.Errorf("default = %d", p)
	}
	if p := PriorityFromContext(WithPriority(ctx, PriorityBackground)); p != PriorityBackground {
		t.Errorf("background = %d", p)
	}
	if p := PriorityFromContext(WithPriority(ctx, Priority(99))); p != PriorityInteractive {
		t.Errorf("invalid = %d", p)
	}
}

// TestGovernorMinuteReserveForWrites: reads leave the last calls of a
// minute (the write reserve share of the minutely limit) to writes.
func TestGovernorMinuteReserveForWrites(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, MaxWait: time.Millisecond})
	g.Update(rateHeaders(60, 6, now.Add(30*time.Second), 5000, 4000, now.Add(5*time.Hour)), 200)
	if _, err := g.Wait(t.Context(), PriorityInteractive); err == nil {
		t.Fatal("a read took one of the 6 calls reserved for writes")
	}
	for i := range 6 {
		rel, err := g.Wait(t.Context(), PriorityWrite)
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		rel()
	}
}

// TestGovernorFirstPassOutsideDailySpread: the mirror's first pass is not
// held to the even daily spread of reads (a read without tokens waits or
// fails, a first-pass call goes), but like any read it leaves the minute's
// write reserve alone.
func TestGovernorFirstPassOutsideDailySpread(t *testing.T) {
	clk := newFakeClock()
	start := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, DayLimit: 5000, Burst: 2, MaxWait: time.Millisecond})
	mustWait(t, g, PriorityInteractive)()
	mustWait(t, g, PriorityInteractive)()
	if _, err := g.Wait(t.Context(), PriorityInteractive); !errors.As(err, new(*RateLimitError)) {
		t.Fatalf("a read past the burst without tokens: err = %v, want *RateLimitError", err)
	}
	// 52 more first-pass calls: the minute's 54 read calls in all.
	for i := 0; i < 52; i++ {
		mustWait(t, g, PriorityFirstPass)()
	}
	_, err := g.Wait(t.Context(), PriorityFirstPass)
	wantRateLimit(t, err, start.Add(time.Minute+time.Second), true)
	mustWait(t, g, PriorityWrite)() // the write reserve is still there
	if s := g.Snapshot(); s.DayRemaining != 5000-55 {
		t.Errorf("day remaining = %d, want %d: first-pass calls count against the day", s.DayRemaining, 5000-55)
	}
}

// TestGovernorFirstPassQueuesAheadOfReads: with a read waiting for
// budget, a first-pass call that queued later is granted first.
func TestGovernorFirstPassQueuesAheadOfReads(t *testing.T) {
	clk := newFakeClock()
	now := clk.Now()
	g := NewGovernor(GovernorOptions{Now: clk.Now, MaxWait: time.Hour})
	g.Update(rateHeaders(60, 0, now.Add(30*time.Second), 5000, 4000, now.Add(5*time.Hour)), 200)
	order := make(chan Priority, 2)
	var wg sync.WaitGroup
	start := func(p Priority) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := g.Wait(context.Background(), p)
			if err != nil {
				t.Errorf("Wait(%d): %v", p, err)
				return
			}
			order <- p
			rel()
		}()
	}
	start(PriorityInteractive)
	waitQueued(t, g, 1)
	start(PriorityFirstPass)
	waitQueued(t, g, 2)
	// A new window with room for one read (7 left, 6 of them the reserve).
	clk.Advance(31 * time.Second)
	g.Update(rateHeaders(60, 7, now.Add(90*time.Second), 5000, 3999, now.Add(5*time.Hour)), 200)
	if got := <-order; got != PriorityFirstPass {
		t.Fatalf("first admitted = %d, want the first pass", got)
	}
	waitIdle(t, g)
	g.Update(rateHeaders(60, 7, now.Add(91*time.Second), 5000, 3998, now.Add(5*time.Hour)), 200)
	if got := <-order; got != PriorityInteractive {
		t.Fatalf("then admitted %d, want the read", got)
	}
	wg.Wait()
}

// TestGovernorHoldsTheMinuteForARunningFirstPass: while a first pass runs,
// reads leave it its share of the minute (less what it used); when it
// ends, reads may spend the rest again. Writes are not held back.
func TestGovernorHoldsTheMinuteForARunningFirstPass(t *testing.T) {
	clk := newFakeClock()
	g := NewGovernor(GovernorOptions{Now: clk.Now, DayLimit: 100000, MaxWait: time.Millisecond})
	done := g.FirstPassRunning(0.5)
	// 60 a minute: 6 for writes, 30 held for the pass, 24 for reads.
	for i := 0; i < 24; i++ {
		mustWait(t, g, PriorityInteractive)()
	}
	if _, err := g.Wait(t.Context(), PriorityInteractive); !errors.As(err, new(*RateLimitError)) {
		t.Fatalf("read beyond the pass's hold: err = %v, want *RateLimitError", err)
	}
	for i := 0; i < 10; i++ {
		mustWait(t, g, PriorityFirstPass)()
	}
	// 26 left: still 6 + the pass's unused 20.
	if _, err := g.Wait(t.Context(), PriorityInteractive); !errors.As(err, new(*RateLimitError)) {
		t.Fatalf("read while the pass still has 20 calls held: err = %v, want *RateLimitError", err)
	}
	mustWait(t, g, PriorityWrite)()
	done()
	done() // a second call changes nothing
	for i := 0; i < 19; i++ {
		mustWait(t, g, PriorityInteractive)()
	}
	if s := g.Snapshot(); s.MinuteRemaining != 6 {
		t.Errorf("minute remaining = %d, want the 6 of the write reserve", s.MinuteRemaining)
	}
}
