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
