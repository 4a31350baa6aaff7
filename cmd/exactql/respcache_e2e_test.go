package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

const pricedPage = `{ products(first: 8) { nodes { code description price { unitPrice { amount } } availableQuantity } } }`

// TestResponseCacheBuyersEndToEnd: two buyers on different price rules send
// the same query to the real gateway (sandbox mode, response cache on by
// default). Their prices differ; each buyer's second answer comes from the
// response cache and is identical to its first. Were a key to leave out the
// price scope, the second buyer would get the first buyer's prices.
func TestResponseCacheBuyersEndToEnd(t *testing.T) {
	g := startGateway(t, nil)
	rc := g.st.ResponseCache
	if rc == nil {
		t.Fatal("the response cache is not on by default")
	}
	buyers := []string{gen.RulePriceList, gen.RuleAccountDiscount, gen.RuleDefaultPrice}
	first := map[string]string{}
	for round := range 2 {
		for _, rule := range buyers {
			r := g.query(g.token(rule), pricedPage, nil)
			if len(r.Errors) > 0 || r.Extensions != nil {
				t.Fatalf("%s: errors %+v extensions %v", rule, r.Errors, r.Extensions)
			}
			if round == 0 {
				first[rule] = string(r.Data)
			} else if string(r.Data) != first[rule] {
				t.Errorf("%s: cached answer differs from the computed one:\n%s\n%s", rule, r.Data, first[rule])
			}
		}
		// Anonymous callers see no prices, also from the cache.
		r := g.query("", pricedPage, nil)
		var d struct {
			Products struct {
				Nodes []struct{ Price *json.RawMessage }
			}
		}
		if err := json.Unmarshal(r.Data, &d); err != nil || len(d.Products.Nodes) == 0 {
			t.Fatalf("anonymous answer %s: %v", r.Data, err)
		}
		for _, n := range d.Products.Nodes {
			if n.Price != nil {
				t.Fatalf("round %d: an anonymous caller got a price: %s", round, r.Data)
			}
		}
	}
	answers := []string{first[buyers[0]], first[buyers[1]], first[buyers[2]]}
	slices.Sort(answers)
	if len(slices.Compact(answers)) != len(buyers) {
		t.Fatalf("the buyers' pages are not all different, the test proves nothing: %v", first)
	}
	if st := rc.Stats(); st.Hits != 4 || st.Misses != 4 {
		t.Errorf("response cache %+v, want 4 hits (second round) and 4 misses (first round)", st)
	}
}

// TestResponseCacheOwnOrder: a buyer's cached order history is dropped when
// the buyer places an order, so the new order shows at once.
func TestResponseCacheOwnOrder(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token(gen.RulePriceList)
	const history = `{ viewer { orders(first: 50) { nodes { id } } } }`
	type historyData struct {
		Viewer struct {
			Orders struct{ Nodes []struct{ ID string } }
		}
	}
	var before historyData
	for range 2 {
		g.mustQuery(tok, history, nil, &before)
	}
	if st := g.st.ResponseCache.Stats(); st.Hits != 1 {
		t.Fatalf("history not served from the cache the second time: %+v", st)
	}
	var p struct {
		Products struct{ Nodes []struct{ Code string } }
	}
	g.mustQuery(tok, `{ products(first: 1) { nodes { code } } }`, nil, &p)
	var d placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "rc-1",
		"lines": []map[string]any{{"productCode": p.Products.Nodes[0].Code, "quantity": "1"}}}}, &d)
	if d.PlaceOrder.Order == nil {
		t.Fatalf("order not placed: %+v", d.PlaceOrder.UserErrors)
	}
	var after historyData
	g.mustQuery(tok, history, nil, &after)
	if !slices.ContainsFunc(after.Viewer.Orders.Nodes, func(n struct{ ID string }) bool { return n.ID == d.PlaceOrder.Order.ID }) {
		t.Errorf("the new order %s is not in the history after placing it: %+v", d.PlaceOrder.Order.ID, after)
	}
	if len(after.Viewer.Orders.Nodes) != len(before.Viewer.Orders.Nodes)+1 {
		t.Errorf("history had %d orders, has %d after one order", len(before.Viewer.Orders.Nodes), len(after.Viewer.Orders.Nodes))
	}
}
