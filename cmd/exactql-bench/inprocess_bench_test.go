package main

// In-process benchmarks of the warm read path, side by side with the bare
// gqlgen baseline, for CPU profiles without HTTP or a subprocess:
//
//	go test -run '^$' -bench 'Page60' -cpuprofile cpu.out ./cmd/exactql-bench/
//	go tool pprof -top cpu.out

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/cmd/exactql-bench/baregql"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/resolvers"
	"github.com/exactql/exactql/server"
	"github.com/exactql/exactql/server/respcache"
	"github.com/exactql/exactql/store"
	"github.com/rs/zerolog"
)

// inProcessGateway wires the gateway's read path (as cmd/exactql does) over
// an httptest sandbox and returns its HTTP handler and a buyer token.
func inProcessGateway(tb testing.TB, items int) (http.Handler, string) {
	tb.Helper()
	return inProcessGatewayWith(tb, items, nil)
}

// inProcessGatewayWith is inProcessGateway with a response cache (nil: off).
func inProcessGatewayWith(tb testing.TB, items int, rc *respcache.Cache) (http.Handler, string) {
	tb.Helper()
	st, err := store.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	env := erptest.Setup(tb, erptest.Options{
		Sandbox: sandbox.Options{MinuteLimit: 1_000_000, DayLimit: 1_000_000, Data: gen.Options{Items: items}},
		Tokens:  st, // the gateway's own token store
		Client:  []erp.Option{erp.WithGovernor(erp.NewGovernor(erp.GovernorOptions{MaxWait: 2 * time.Second}))},
	})
	sb, client := env.Sandbox, env.Client
	c, err := cache.New(cache.Options{Metrics: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	loc, _ := time.LoadLocation("Europe/Amsterdam")
	reader := live.NewReader(live.ExactUpstream{C: client}, c, live.Config{Division: sb.Division(), Shop: validate.Shop{Currency: "EUR", Location: loc},
		TTLs: live.TTLs{Reference: time.Hour, Items: time.Hour, Prices: time.Hour, Accounts: time.Hour, Stock: time.Hour, Absent: time.Hour}})
	res := resolvers.New(resolvers.Deps{Reader: reader})
	h, err := server.New(server.Config{JWTSecret: []byte(jwtSecret)},
		server.Deps{Logger: zerolog.New(io.Discard), Resolvers: res, Operations: res.AroundOperations, ResponseCache: rc})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := demoBuyer(sb, gen.RulePriceList)
	if err != nil {
		tb.Fatal(err)
	}
	return h, b.Token
}

// serveOnce posts body to h and returns the answer.
func serveOnce(tb testing.TB, h http.Handler, tok string, body []byte) []byte {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	return rec.Body.Bytes()
}

func benchHandler(b *testing.B, h http.Handler, tok, q string) {
	body, _ := json.Marshal(map[string]string{"query": q})
	out := serveOnce(b, h, tok, body) // warms the cache
	if bytes.Contains(out, []byte(`"errors"`)) {
		b.Fatalf("warm-up answered %s", out)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveOnce(b, h, tok, body)
		}
	})
}

// BenchmarkBarePage60 is the bare gqlgen baseline: 60 products × 5 fields.
func BenchmarkBarePage60(b *testing.B) {
	benchHandler(b, baregql.Handler(), "", bareQuery)
}

// BenchmarkExactqlWarmPage60 is exactql fully warm with the same shape
// (60 products, id code description unit price), as a price-list buyer.
func BenchmarkExactqlWarmPage60(b *testing.B) {
	h, tok := inProcessGateway(b, 0)
	benchHandler(b, h, tok, exactQuery)
}

// BenchmarkExactqlWarmFullPage60 is the webshop's full product page (price
// details and stock per warehouse) for 60 products, fully warm.
func BenchmarkExactqlWarmFullPage60(b *testing.B) {
	h, tok := inProcessGateway(b, 0)
	body, _ := json.Marshal(map[string]any{"query": pageQuery, "variables": map[string]any{"first": 60}})
	serveOnce(b, h, tok, body)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			serveOnce(b, h, tok, body)
		}
	})
}

// BenchmarkColdWalk50k pages cold through a 50,000-item catalog, 60 products
// (price + stock) a page: where the scale scenario's time goes.
func BenchmarkColdWalk50k(b *testing.B) {
	h, tok := inProcessGateway(b, 50_000)
	vars := map[string]any{"first": 60}
	b.ResetTimer()
	for b.Loop() {
		body, _ := json.Marshal(map[string]any{"query": pageQuery, "variables": vars})
		var r struct{ Data pageData }
		if err := json.Unmarshal(serveOnce(b, h, tok, body), &r); err != nil {
			b.Fatal(err)
		}
		if c := r.Data.Products.PageInfo.EndCursor; r.Data.Products.PageInfo.HasNextPage && c != nil {
			vars["after"] = *c
		} else {
			delete(vars, "after")
		}
	}
}

// BenchmarkExactqlWarmPage60NoPrice is the same page without the price
// field: the difference to BenchmarkExactqlWarmPage60 is what the per-product
// price costs (a field with an argument, answered inline from the page's
// prefetched price data since issue 15).
func BenchmarkExactqlWarmPage60NoPrice(b *testing.B) {
	h, tok := inProcessGateway(b, 0)
	benchHandler(b, h, tok, `{ products(first: 60) { nodes { id code description unit } } }`)
}
