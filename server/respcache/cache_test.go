package respcache

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/erptest"
)

// newClock is the project's one fake clock (erptest.Clock) standing at t.
func newClock(t time.Time) *erptest.Clock { return erptest.NewClock(t) }
func newTestCache(t testing.TB, o Options) *Cache {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// store computes an answer in k's scope and stores it.
func store(t testing.TB, c *Cache, k Key, body string) {
	t.Helper()
	if !c.Put(k, c.Begin(k.Scope()), "application/json", []byte(body)) {
		t.Fatalf("Put(%v) refused", k.Scope())
	}
}

func servable(c *Cache, k Key) bool {
	_, _, ok := c.Get(k)
	return ok
}

func TestGetServesWhatPutStored(t *testing.T) {
	clk := newClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	c := newTestCache(t, Options{Now: clk.Now})
	k := mustKey(t, mustBuyer(t, accountA), Request{Query: "{ a }"})
	if servable(c, k) {
		t.Fatal("empty cache served an answer")
	}
	store(t, c, k, `{"data":{"a":1}}`)
	body, ct, ok := c.Get(k)
	if !ok || string(body) != `{"data":{"a":1}}` || ct != "application/json" {
		t.Fatalf("Get = %q, %q, %v", body, ct, ok)
	}
	if _, _, ok := c.Get(Key{}); ok {
		t.Error("the zero Key found an answer")
	}
	if c.Put(Key{}, c.Begin(PublicScope()), "application/json", []byte("x")) {
		t.Error("Put stored under the zero Key")
	}
	st := c.Stats()
	if st.Hits != 1 || st.Misses != 2 || st.Entries != 1 || st.Bytes <= int64(len(body)) {
		t.Errorf("Stats = %+v, want 1 hit, 2 misses, 1 entry", st)
	}
}

func TestInvalidation(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	a, b := mustBuyer(t, accountA), mustBuyer(t, accountB)
	if a.stripe == b.stripe {
		t.Fatal("test accounts share a stripe; pick others")
	}
	q := Request{Query: "{ viewer { orders { nodes { id } } } }"}
	tests := []struct {
		name string
		// change happens after A's, B's and the public answer are stored.
		change func(c *Cache, clk *erptest.Clock)
		// want says which of A, B and public are still served.
		want [3]bool
	}{
		{"nothing", func(*Cache, *erptest.Clock) {}, [3]bool{true, true, true}},
		{"data bump", func(c *Cache, _ *erptest.Clock) { c.BumpData() }, [3]bool{false, false, false}},
		{"invalidate", func(c *Cache, _ *erptest.Clock) { c.Invalidate() }, [3]bool{false, false, false}},
		{"buyer A's order", func(c *Cache, _ *erptest.Clock) { c.BumpBuyer(accountA) }, [3]bool{false, true, true}},
		{"buyer A's order, account in capitals", func(c *Cache, _ *erptest.Clock) { c.BumpBuyer("1F0E8C2A-1B2C-4D5E-8F90-A1B2C3D4E5F6") }, [3]bool{false, true, true}},
		{"bump of no account", func(c *Cache, _ *erptest.Clock) { c.BumpBuyer("") }, [3]bool{true, true, true}},
		{"within the TTL", func(_ *Cache, clk *erptest.Clock) { clk.Advance(29 * time.Second) }, [3]bool{true, true, true}},
		{"TTL passed", func(_ *Cache, clk *erptest.Clock) { clk.Advance(30 * time.Second) }, [3]bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			c := newTestCache(t, Options{Now: clk.Now, TTL: 30 * time.Second})
			keys := [3]Key{mustKey(t, a, q), mustKey(t, b, q), mustKey(t, PublicScope(), q)}
			for i, k := range keys {
				store(t, c, k, fmt.Sprintf(`{"data":%d}`, i))
			}
			tt.change(c, clk)
			for i, k := range keys {
				if got := servable(c, k); got != tt.want[i] {
					t.Errorf("%v served = %v, want %v", k.Scope(), got, tt.want[i])
				}
			}
		})
	}
}

// TestDateRollover: an answer computed before midnight in the division's
// time zone is not served after it, however long the TTL.
func TestDateRollover(t *testing.T) {
	clk := newClock(time.Date(2026, 12, 4, 23, 59, 50, 0, amsterdam))
	c := newTestCache(t, Options{Now: clk.Now, TTL: time.Hour, Location: amsterdam})
	k := mustKey(t, PublicScope(), Request{Query: "{ a }"})
	store(t, c, k, "x")
	clk.Advance(9 * time.Second)
	if !servable(c, k) {
		t.Fatal("not served before midnight")
	}
	clk.Advance(time.Second) // 00:00:00 in Amsterdam, 23:00 UTC
	if servable(c, k) {
		t.Error("served after midnight in the division's time zone")
	}
	store(t, c, k, "y") // a new day's answer lives its full TTL
	clk.Advance(59 * time.Minute)
	if !servable(c, k) {
		t.Error("a new day's answer expired early")
	}
}

// TestChangeWhileComputing: a change between Begin and Put means the answer
// may be built from old data, so it is not stored.
func TestChangeWhileComputing(t *testing.T) {
	clk := newClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	c := newTestCache(t, Options{Now: clk.Now})
	a := mustBuyer(t, accountA)
	k := mustKey(t, a, Request{Query: "{ a }"})
	for name, change := range map[string]func(){
		"data":  c.BumpData,
		"buyer": func() { c.BumpBuyer(accountA) },
		"TTL":   func() { clk.Advance(DefaultTTL) },
	} {
		st := c.Begin(a)
		change()
		if c.Put(k, st, "application/json", []byte("x")) || servable(c, k) {
			t.Errorf("%s changed while computing, answer stored", name)
		}
	}
	// Another buyer's write does not hold back A's answer.
	st := c.Begin(a)
	c.BumpBuyer(accountB)
	if !c.Put(k, st, "application/json", []byte("x")) {
		t.Error("another buyer's write refused A's answer")
	}
}

func TestMemoryBound(t *testing.T) {
	const maxBytes = 64 << 10
	c := newTestCache(t, Options{MaxBytes: maxBytes})
	body := make([]byte, 700)
	var keys []Key
	for i := range 1000 {
		k := mustKey(t, PublicScope(), Request{Query: fmt.Sprintf("{ a%d }", i)})
		keys = append(keys, k)
		store(t, c, k, string(body))
		if b := c.Stats().Bytes; b > maxBytes {
			t.Fatalf("after %d answers the cache holds %d bytes, bound %d", i+1, b, maxBytes)
		}
	}
	if !servable(c, keys[len(keys)-1]) {
		t.Error("the latest answer was evicted")
	}
	if servable(c, keys[0]) {
		t.Error("the oldest answer survived 1000 × 1 KB in 64 KB")
	}
	big := mustKey(t, PublicScope(), Request{Query: "{ big }"})
	if c.Put(big, c.Begin(PublicScope()), "application/json", make([]byte, maxBytes/64)) {
		t.Error("an answer over MaxBytes/64 was stored")
	}
	c.Invalidate()
	if st := c.Stats(); st.Bytes != 0 || st.Entries != 0 {
		t.Errorf("after Invalidate: %+v", st)
	}
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{{MaxBytes: -1}, {TTL: -time.Second}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	var nilCache *Cache // the gateway with the cache off wires hooks to nil
	nilCache.BumpData()
	nilCache.BumpBuyer(accountA)
	nilCache.Invalidate()
}

// TestConcurrentUse is for the race detector.
func TestConcurrentUse(t *testing.T) {
	c := newTestCache(t, Options{MaxBytes: 1 << 20})
	scopes := []Scope{PublicScope(), mustBuyer(t, accountA), mustBuyer(t, accountB)}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				s := scopes[(g+i)%len(scopes)]
				k := mustKey(t, s, Request{Query: fmt.Sprintf("{ a%d }", i%20)})
				if body, _, ok := c.Get(k); ok && string(body) != s.String() {
					t.Errorf("%v got %q", s, body)
					return
				}
				c.Put(k, c.Begin(s), "application/json", []byte(s.String()))
				switch i % 50 {
				case 0:
					c.BumpData()
				case 25:
					c.BumpBuyer(accountA)
				case 49:
					c.Invalidate()
				}
				_ = c.Stats()
			}
		}()
	}
	wg.Wait()
}
