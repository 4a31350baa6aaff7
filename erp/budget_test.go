package erp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memBudget is a BudgetStore in memory; its mutex plays the row lock.
type memBudget struct {
	mu    sync.Mutex
	rows  map[int]BudgetRow
	fail  error
	calls int
}

func (m *memBudget) UpdateBudget(ctx context.Context, division int, fn func(*BudgetRow) (*BudgetRow, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		return m.fail
	}
	var cur *BudgetRow
	if r, ok := m.rows[division]; ok {
		cur = &r
	}
	next, err := fn(cur)
	if err != nil || next == nil {
		return err
	}
	if m.rows == nil {
		m.rows = map[int]BudgetRow{}
	}
	m.rows[division] = *next
	return nil
}

func (m *memBudget) row(division int) BudgetRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rows[division]
}

var budgetT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Two governors (two replicas) on one shared budget: together they never
// admit more than the minute allows, reads leave the reserve to writes, and
// a call refused by the ledger is not counted locally.
func TestSharedBudgetGovernorsNeverOvershootTogether(t *testing.T) {
	mem := &memBudget{}
	opts := GovernorOptions{MinuteLimit: 20, DayLimit: 5000, MaxWait: 20 * time.Millisecond,
		Now: func() time.Time { return budgetT0 }}
	ledger := NewSharedBudget(mem, opts)
	g1, g2 := NewGovernor(opts), NewGovernor(opts)
	g1.ShareBudget(ledger, 7)
	g2.ShareBudget(ledger, 7)
	govs := []*Governor{g1, g2}

	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	var mu sync.Mutex
	var releases []func()
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rel, err := govs[i%2].Wait(context.Background(), PriorityInteractive)
			var rle *RateLimitError
			switch {
			case err == nil:
				ok.Add(1)
				mu.Lock()
				releases = append(releases, rel)
				mu.Unlock()
			case errors.As(err, &rle):
				limited.Add(1)
			default:
				t.Errorf("Wait: %v", err)
			}
		}()
	}
	wg.Wait()
	// Minute reserve: max(1, ceil(0.1*20)) = 2 calls only writes may spend.
	if got := ok.Load(); got != 18 {
		t.Errorf("the two replicas admitted %d reads together; want 18 (20 less the write reserve)", got)
	}
	if ok.Load()+limited.Load() != 40 {
		t.Errorf("%d admitted + %d rate-limited of 40", ok.Load(), limited.Load())
	}
	// Neither replica's own account was debited for refused calls: its
	// local view holds only the calls it made.
	s1, s2 := g1.Snapshot(), g2.Snapshot()
	if used := 40 - s1.MinuteRemaining - s2.MinuteRemaining; used != int(ok.Load()) {
		t.Errorf("local accounts show %d calls (%d + %d left of 20 each); want %d", used, s1.MinuteRemaining, s2.MinuteRemaining, ok.Load())
	}
	// A write on either replica still gets the reserve.
	for _, g := range govs {
		rel, err := g.Wait(t.Context(), PriorityWrite)
		if err != nil {
			t.Fatalf("write after reads spent the minute: %v", err)
		}
		releases = append(releases, rel)
	}
	if r := mem.row(7); r.MinuteRemaining != 0 || r.InFlight != 20 {
		t.Errorf("shared row %+v; want 0 left, 20 in flight", r)
	}
	// A third write waits for the next window; with a deadline before it,
	// it is rate limited rather than sent.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if _, err := g1.Wait(ctx, PriorityWrite); !errors.As(err, new(*RateLimitError)) {
		t.Errorf("write in a spent minute = %v; want a *RateLimitError", err)
	}
	for _, rel := range releases {
		rel()
		rel() // idempotent
	}
	if r := mem.row(7); r.InFlight != 0 {
		t.Errorf("in flight after every release = %d; want 0", r.InFlight)
	}
}

// A 429 seen by one replica blocks the other until the announced reset.
func TestSharedBudget429StopsEveryReplica(t *testing.T) {
	mem := &memBudget{}
	now := budgetT0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	opts := GovernorOptions{MinuteLimit: 60, DayLimit: 5000, MaxWait: 10 * time.Millisecond, Now: clock}
	ledger := NewSharedBudget(mem, opts)
	g1, g2 := NewGovernor(opts), NewGovernor(opts)
	g1.ShareBudget(ledger, 3)
	g2.ShareBudget(ledger, 3)
	rel, err := g1.Wait(t.Context(), PriorityInteractive)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-RateLimit-Minutely-Limit", "60")
	h.Set("X-RateLimit-Minutely-Remaining", "0")
	h.Set("X-RateLimit-Minutely-Reset", fmt.Sprint(budgetT0.Add(40*time.Second).UnixMilli()))
	g1.Update(h, http.StatusTooManyRequests)
	rel()
	if _, err := g2.Wait(t.Context(), PriorityInteractive); !errors.As(err, new(*RateLimitError)) {
		t.Errorf("the other replica during the block = %v; want a *RateLimitError", err)
	}
	if r := mem.row(3); r.RateLimited != 1 || r.BlockedUntil.Before(budgetT0.Add(40*time.Second)) {
		t.Errorf("shared row after the 429 = %+v", r)
	}
	mu.Lock()
	now = budgetT0.Add(42 * time.Second)
	mu.Unlock()
	rel, err = g2.Wait(t.Context(), PriorityInteractive)
	if err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	rel()
}

// An unreachable ledger refuses the call (nothing is sent) with a typed
// error, and the local account is left as it was.
func TestSharedBudgetUnavailableRefusesCalls(t *testing.T) {
	mem := &memBudget{fail: errors.New("connection refused")}
	opts := GovernorOptions{Now: func() time.Time { return budgetT0 }}
	g := NewGovernor(opts)
	g.ShareBudget(NewSharedBudget(mem, opts), 1)
	before := g.Snapshot()
	for _, p := range []Priority{PriorityInteractive, PriorityWrite} {
		if _, err := g.Wait(t.Context(), p); !errors.Is(err, ErrBudgetUnavailable) {
			t.Errorf("Wait(%d) with the database down = %v; want ErrBudgetUnavailable", p, err)
		}
	}
	after := g.Snapshot()
	if after.MinuteRemaining != before.MinuteRemaining || after.DayRemaining != before.DayRemaining || after.InFlight != 0 {
		t.Errorf("local account changed: before %+v after %+v", before, after)
	}
	if n := g.SharedBudgetErrors(); n != 2 {
		t.Errorf("SharedBudgetErrors = %d; want 2", n)
	}
	// Without a ledger the governor is its own account again.
	g.ShareBudget(nil, 0)
	rel, err := g.Wait(t.Context(), PriorityInteractive)
	if err != nil {
		t.Fatalf("Wait without a ledger: %v", err)
	}
	rel()
}

// A replica that died with calls in flight leaks them in the row only until
// no call was admitted for inFlightExpiry.
func TestSharedBudgetInFlightLeakExpires(t *testing.T) {
	mem := &memBudget{}
	l := NewSharedBudget(mem, GovernorOptions{})
	ctx := t.Context()
	for range 3 {
		if d, err := l.Admit(ctx, 1, PriorityInteractive, budgetT0); err != nil || !d.OK {
			t.Fatalf("Admit = %+v, %v", d, err)
		}
	}
	if r := mem.row(1); r.InFlight != 3 {
		t.Fatalf("in flight = %d; want 3", r.InFlight)
	}
	later := budgetT0.Add(inFlightExpiry + time.Second)
	if d, err := l.Admit(ctx, 1, PriorityInteractive, later); err != nil || !d.OK {
		t.Fatalf("Admit later = %+v, %v", d, err)
	}
	if r := mem.row(1); r.InFlight != 1 {
		t.Errorf("in flight after the expiry = %d; want only the new call", r.InFlight)
	}
}
