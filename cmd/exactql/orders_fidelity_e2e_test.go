package main

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestOrderPriceMismatchMetric: when Exact prices a line differently from
// the price the gateway sent (forced through the sandbox's NetPrice hook),
// the order shows Exact's figures and /metrics counts the line in
// exactql_order_price_mismatches_total.
func TestOrderPriceMismatchMetric(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	tok := g.token(gen.RulePriceList)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 1}, &p)
	n := p.Products.Nodes[0]
	shown := decimal.RequireFromString(n.Price.UnitPrice.Amount)
	g.st.Sandbox.SetNetPriceHook(func(_ string, unit decimal.Decimal) decimal.Decimal {
		return unit.Sub(decimal.RequireFromString("0.50"))
	})
	var d placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "mismatch",
		"lines": []map[string]any{{"productCode": n.Code, "quantity": "2"}}}}, &d)
	o := d.PlaceOrder.Order
	if o == nil || o.Status != "OPEN" || len(o.Lines) != 1 {
		t.Fatalf("placeOrder: %+v", d.PlaceOrder)
	}
	net := shown.Sub(decimal.RequireFromString("0.50"))
	if got := decimal.RequireFromString(o.Lines[0].UnitPrice.Amount); !got.Equal(net) {
		t.Errorf("line unit price %s; want Exact's net price %s (the catalog showed %s)", got, net, shown)
	}
	if got := decimal.RequireFromString(o.Amount.Amount); !got.Equal(net.Mul(decimal.NewFromInt(2))) {
		t.Errorf("order amount %s; want Exact's %s", got, net.Mul(decimal.NewFromInt(2)))
	}
	_, body := get(t, g.st.URL+"/metrics", nil)
	if !strings.Contains(body, "exactql_order_price_mismatches_total 1\n") {
		t.Errorf("/metrics lacks exactql_order_price_mismatches_total 1:\n%s", grepLines(body, "exactql_order"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestOrderFlowUnderPessimisticSandbox places an order end to end with
// every pessimistic sandbox switch on: prices come out as the catalog
// showed them (Discount 0 is sent, so Exact's re-pricing does not apply),
// nothing is counted as a mismatch, and the reference survives the
// truncated Remarks because it is on the first line.
func TestOrderFlowUnderPessimisticSandbox(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	g.st.Sandbox.Faults().SetPessimistic(true)
	tok := g.token(gen.RuleAccountDiscount)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 3}, &p)
	var lines []map[string]any
	for _, n := range p.Products.Nodes {
		if n.Price == nil {
			t.Fatalf("no price for %s under the pessimistic sandbox", n.Code)
		}
		lines = append(lines, map[string]any{"productCode": n.Code, "quantity": "3"})
	}
	var d placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "pessimistic",
		"lines": lines, "remarks": strings.Repeat("Leave it with the neighbours. ", 20)}}, &d)
	o := d.PlaceOrder.Order
	if o == nil || o.Status != "OPEN" || len(o.Lines) != len(lines) {
		t.Fatalf("placeOrder: %+v", d.PlaceOrder)
	}
	for i, l := range o.Lines {
		if want := p.Products.Nodes[i].Price.UnitPrice.Amount; l.UnitPrice.Amount != want {
			t.Errorf("line %d unit price %s; the catalog showed %s", i, l.UnitPrice.Amount, want)
		}
	}
	var found bool
	for _, r := range g.st.Sandbox.Orders() {
		if rem, _ := r["Remarks"].(string); strings.HasPrefix(rem, "exactql-ref: ") && r["OrderNumber"] == int64(*o.OrderNumber) {
			found = len([]rune(rem)) <= 100
		}
	}
	if !found {
		t.Errorf("order %d not in the sandbox with a truncated Remarks starting with its reference", *o.OrderNumber)
	}
	_, body := get(t, g.st.URL+"/metrics", nil)
	if !strings.Contains(body, "exactql_order_price_mismatches_total 0\n") {
		t.Errorf("mismatches counted:\n%s", grepLines(body, "exactql_order"))
	}
}
