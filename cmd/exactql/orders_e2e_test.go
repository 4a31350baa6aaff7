package main

import (
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

const placeOrder = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id orderNumber status yourReference amount { amount currencyCode }
      lines { lineNumber productCode quantity unitPrice { amount } amount { amount } product { code } }
      deliveryAddress { id } shippingMethod { code } }
    userErrors { field code message }
  }
}`

type placeData struct {
	PlaceOrder struct {
		Order *struct {
			ID          string
			OrderNumber *int
			Status      string
			Amount      struct{ Amount, CurrencyCode string }
			Lines       []struct {
				LineNumber  int
				ProductCode string
				Quantity    string
				UnitPrice   struct{ Amount string }
				Product     *struct{ Code string }
			}
		}
		UserErrors []struct {
			Field   []string
			Code    string
			Message string
		}
	}
}

// TestPlaceOrderThroughGraphQL walks the order flow end to end: a
// three-line order priced as the catalog shows, idempotent retry, order(id),
// order history, another buyer's NOT_FOUND, validation errors.
func TestPlaceOrderThroughGraphQL(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token(gen.RulePriceList)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 3}, &p)
	lines := []map[string]any{}
	for _, n := range p.Products.Nodes {
		lines = append(lines, map[string]any{"productCode": n.Code, "quantity": "2"})
	}
	input := map[string]any{"idempotencyKey": "e2e-1", "lines": lines, "yourReference": "PO-4711"}
	posts := func() int {
		return g.st.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Method == "POST" && c.Endpoint == "salesorder/SalesOrders" })
	}

	var d placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": input}, &d)
	o := d.PlaceOrder.Order
	if o == nil || len(d.PlaceOrder.UserErrors) > 0 {
		t.Fatalf("placeOrder: %+v", d.PlaceOrder)
	}
	if o.Status != "OPEN" || o.OrderNumber == nil || len(o.Lines) != 3 {
		t.Fatalf("order %+v", *o)
	}
	for i, l := range o.Lines {
		if want := p.Products.Nodes[i].Price.UnitPrice.Amount; l.UnitPrice.Amount != want {
			t.Errorf("line %d unit price %s, catalog showed %s", i, l.UnitPrice.Amount, want)
		}
	}
	if posts() != 1 {
		t.Fatalf("%d POSTs, want 1", posts())
	}

	// Same key, same input: the recorded outcome, no second POST.
	var again placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": input}, &again)
	if again.PlaceOrder.Order == nil || again.PlaceOrder.Order.ID != o.ID || posts() != 1 {
		t.Errorf("retry: %+v, %d POSTs", again.PlaceOrder, posts())
	}
	// Same key, other input.
	input2 := map[string]any{"idempotencyKey": "e2e-1", "lines": lines[:1]}
	var reused placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": input2}, &reused)
	if len(reused.PlaceOrder.UserErrors) != 1 || reused.PlaceOrder.UserErrors[0].Code != "IDEMPOTENCY_KEY_REUSED" {
		t.Errorf("reused key: %+v", reused.PlaceOrder)
	}

	var got struct {
		Order struct {
			ID     string
			Status string
		}
		Viewer struct {
			Orders struct {
				Nodes []struct{ ID string }
			}
		}
	}
	g.mustQuery(tok, `query($id: ID!) { order(id: $id) { id status } viewer { orders(first: 50) { nodes { id } } } }`, map[string]any{"id": o.ID}, &got)
	if got.Order.ID != o.ID {
		t.Errorf("order(id) = %+v", got.Order)
	}
	listed := false
	for _, n := range got.Viewer.Orders.Nodes {
		listed = listed || n.ID == o.ID
	}
	if !listed {
		t.Error("the new order is not in viewer.orders")
	}

	// Another buyer: NOT_FOUND, exactly like an unknown ID.
	r := g.query(g.token(gen.RuleDefaultPrice), `query($id: ID!) { order(id: $id) { id } }`, map[string]any{"id": o.ID})
	if errorCode(r) != "NOT_FOUND" {
		t.Errorf("another buyer's order: %+v", r.Errors)
	}
	// Anonymous: UNAUTHENTICATED.
	r = g.query("", placeOrder, map[string]any{"input": input})
	if errorCode(r) != "UNAUTHENTICATED" {
		t.Errorf("anonymous placeOrder: %+v", r.Errors)
	}
	// Blocked account: FORBIDDEN.
	r = g.query(g.token(gen.RuleBlocked), placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "b-1", "lines": lines}})
	if errorCode(r) != "FORBIDDEN" {
		t.Errorf("blocked buyer: %+v", r.Errors)
	}
	// Validation: nothing sent.
	var bad placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "v-1",
		"lines": []map[string]any{{"productCode": "NO-SUCH-CODE", "quantity": "1"}, {"productCode": p.Products.Nodes[0].Code, "quantity": "0"}}}}, &bad)
	codes := map[string]bool{}
	for _, e := range bad.PlaceOrder.UserErrors {
		codes[e.Code] = true
	}
	if bad.PlaceOrder.Order != nil || !codes["UNKNOWN_PRODUCT"] || !codes["INVALID_QUANTITY"] || posts() != 1 {
		t.Errorf("validation: %+v, %d POSTs", bad.PlaceOrder, posts())
	}
}
