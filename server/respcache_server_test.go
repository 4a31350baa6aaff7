package server

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph"
	"github.com/exactql/exactql/graph/model"
	"github.com/exactql/exactql/resolvers"
	"github.com/exactql/exactql/server/respcache"
)

const otherAccount = "3b0e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"

// pricedRoot prices products per caller, as the real resolvers do: each
// buyer its own price, no price for everyone else. It counts executions.
type pricedRoot struct {
	testRoot
	runs *atomic.Int64
}

func (p pricedRoot) Query() graph.QueryResolver { return pricedQuery{runs: p.runs} }

type pricedQuery struct {
	testQuery
	runs *atomic.Int64
}

// Product returns the test product answered for the request's caller, as
// the real resolvers attach the request's viewer to every product.
func (q pricedQuery) Product(ctx context.Context, id, code *string) (*model.Product, error) {
	p, err := q.testQuery.Product(ctx, id, code)
	if err != nil {
		return nil, err
	}
	p.Viewer = pricedViewer{caller: resolvers.FromContext(ctx), runs: q.runs}
	return p, nil
}

type pricedViewer struct {
	model.ProductViewer
	caller resolvers.Caller
	runs   *atomic.Int64
}

func (p pricedViewer) Price(_ *erp.Item, _ *model.Decimal) (*model.Price, error) {
	p.runs.Add(1)
	c := p.caller
	amount := map[string]string{testAccount: "10.00", otherAccount: "12.50"}[c.Account]
	if !c.IsBuyer() || amount == "" {
		return nil, nil
	}
	return &model.Price{UnitPrice: model.NewMoney(decimal.RequireFromString(amount), "EUR"), Quantity: model.NewDecimal(decimal.NewFromInt(1))}, nil
}

func newCachedServer(t *testing.T, rc *respcache.Cache, runs *atomic.Int64) http.Handler {
	t.Helper()
	h, err := New(Config{JWTSecret: testSecret, Now: func() time.Time { return testNow }},
		Deps{Logger: zerolog.New(io.Discard), Resolvers: pricedRoot{runs: runs}, ResponseCache: rc})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestResponseCacheTwoBuyers: two buyers and an anonymous caller ask for
// the same product with the same query through the real GraphQL handler;
// each gets its own price every time, the second round from the cache.
// Keyed without the price scope, the first buyer's price would reach the
// others and this fails.
func TestResponseCacheTwoBuyers(t *testing.T) {
	rc, err := respcache.New(respcache.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	h := newCachedServer(t, rc, &runs)
	tokA, err := SignToken(testSecret, "alice", testAccount, "", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	tokB, err := SignToken(testSecret, "bob", otherAccount, "", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	// A token without an account reads like an anonymous caller.
	tokNone, err := SignToken(testSecret, "carol", "", "", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	const q = `{ product(code: "ART-1") { code price { unitPrice { amount } } } }`
	callers := []struct {
		name, auth string
		want       any
	}{
		{"buyer A", "Bearer " + tokA, "10.00"},
		{"buyer B", "Bearer " + tokB, "12.50"},
		{"anonymous", "", nil},
		{"token without account", "Bearer " + tokNone, nil},
	}
	for round := range 2 {
		for _, c := range callers {
			var hdr []string
			if c.auth != "" {
				hdr = []string{"Authorization", c.auth}
			}
			res := do(t, h, post(q, hdr...))
			var got any
			if p, ok := res.body["data"].(map[string]any)["product"].(map[string]any)["price"].(map[string]any); ok {
				got = p["unitPrice"].(map[string]any)["amount"]
			}
			if got != c.want {
				t.Errorf("round %d, %s: price %v, want %v (%s)", round, c.name, got, c.want, res.raw)
			}
			if cc := res.header.Get("Cache-Control"); cc != "private, no-store" {
				t.Errorf("round %d, %s: Cache-Control %q", round, c.name, cc)
			}
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("price resolved %d times, want 3 (buyer A, buyer B, public once each)", n)
	}
	if st := rc.Stats(); st.Hits != 5 || st.Misses != 3 {
		t.Errorf("Stats = %+v, want 5 hits, 3 misses", st)
	}
}

// TestResponseCacheBypass: stale answers, answers with errors and mutations
// are computed every time.
func TestResponseCacheBypass(t *testing.T) {
	rc, err := respcache.New(respcache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	h := newCachedServer(t, rc, &runs)
	for _, q := range []string{
		"{ warehouses { id } }",      // marked stale
		`{ order(id: "x") { id } }`,  // NOT_FOUND
		"{ shippingMethods { id } }", // panics: INTERNAL_SERVER_ERROR
		"{ itemGroups { id nope } }", // does not validate
		"mutation { placeOrder(input: {idempotencyKey: \"k\", lines: []}) { userErrors { message } } }",
	} {
		for range 2 {
			do(t, h, post(q))
		}
	}
	if st := rc.Stats(); st.Entries != 0 || st.Hits != 0 {
		t.Errorf("Stats = %+v, want nothing stored or served", st)
	}
	// A fresh answer is stored, and served again.
	for range 2 {
		do(t, h, post("{ itemGroups { id } }"))
	}
	if st := rc.Stats(); st.Entries != 1 || st.Hits != 1 {
		t.Errorf("Stats = %+v, want 1 entry and 1 hit", st)
	}
}
