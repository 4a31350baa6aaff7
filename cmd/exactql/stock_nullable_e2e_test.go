package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestStockUnknownIsNullWithError (issue 13 item 5): on the fallback path,
// with prices, items and warehouses cached but no stock, Exact goes down
// (maintenance) or refuses every call (429). A page asking for price, stock
// and availableQuantity keeps every product and its price; each stock
// figure that cannot be had is null with exactly one error at its own path.
// With the non-null fields of the first contract, the whole answer was
// "data": null and this fails.
func TestStockUnknownIsNullWithError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inject func(*sandbox.Faults)
		codes  []string
	}{
		{"maintenance", func(f *sandbox.Faults) { f.SetMaintenance(true) }, []string{"UPSTREAM_UNAVAILABLE"}},
		{"forced 429s", func(f *sandbox.Faults) { f.Force429(100000) }, []string{"RATE_LIMITED", "UPSTREAM_UNAVAILABLE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, map[string]string{"EXACTQL_UPSTREAM_WAIT": "200ms", "EXACTQL_CALLER_BUDGET": "100000"})
			tok := g.token(gen.RulePriceList)
			const n = 5
			vars := map[string]any{"first": n}
			// Warm everything but stock.
			g.mustQuery(tok, `query($first: Int) { products(first: $first) { nodes { code price { unitPrice { amount } } } } warehouses { id } }`, vars, &struct{}{})

			tc.inject(g.st.Sandbox.Faults())
			r := g.query(tok, `query($first: Int) { products(first: $first) { nodes { code price { unitPrice { amount } } stock { available } availableQuantity } } }`, vars)
			noInternal(t, "page without stock", r)
			var d struct {
				Products *struct {
					Nodes []struct {
						Code  string
						Price *struct {
							UnitPrice struct{ Amount string }
						}
						Stock             *[]json.RawMessage
						AvailableQuantity *string
					}
				}
			}
			if err := json.Unmarshal(r.Data, &d); err != nil || d.Products == nil {
				t.Fatalf("data %s (%v), errors %+v: want the page with null stock", r.Data, err, r.Errors)
			}
			if len(d.Products.Nodes) != n {
				t.Fatalf("%d products, want %d: %s", len(d.Products.Nodes), n, r.Data)
			}
			want := map[string]int{}
			for i, p := range d.Products.Nodes {
				if p.Code == "" || p.Price == nil || p.Price.UnitPrice.Amount == "" {
					t.Errorf("product %d lost its code or price: %+v", i, p)
				}
				if p.Stock != nil || p.AvailableQuantity != nil {
					t.Errorf("product %d: stock %v, availableQuantity %v, want both null (Exact is down, nothing cached)", i, p.Stock, p.AvailableQuantity)
				}
				want[fmt.Sprintf("products.nodes.%d.stock", i)] = 1
				want[fmt.Sprintf("products.nodes.%d.availableQuantity", i)] = 1
			}
			got := map[string]int{}
			for _, e := range r.Errors {
				path := ""
				for j, p := range e.Path {
					if j > 0 {
						path += "."
					}
					path += fmt.Sprint(p)
				}
				got[path]++
				if c, _ := e.Extensions["code"].(string); !contains(tc.codes, c) {
					t.Errorf("error at %s: code %q, want one of %v (%s)", path, c, tc.codes, e.Message)
				}
			}
			for p, k := range want {
				if got[p] != k {
					t.Errorf("%d errors at %s, want %d", got[p], p, k)
				}
			}
			for p := range got {
				if want[p] == 0 {
					t.Errorf("unexpected error at %s", p)
				}
			}
		})
	}
}
