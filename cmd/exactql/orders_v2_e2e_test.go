package main

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// Storefront API v2, the order side (issue 13 items 1–3), end to end
// through the real wiring and the sandbox.

const orderV2Fields = `id exactOrderId idempotencyKey updatedAt status orderNumber
  amount { amount currencyCode }
  lines { lineNumber productCode quantity unitPrice { amount } amount { amount } product { id code } }
  deliveryAddress { id } shippingMethod { id code }`

const placeV2 = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { ` + orderV2Fields + ` } userErrors { field code message } }
}`

const orderV2 = `query Order($id: ID!) { order(id: $id) { ` + orderV2Fields + ` } }`

const ordersV2 = `{ viewer { orders(first: 100) { nodes { id exactOrderId idempotencyKey status } pageInfo { hasNextPage } } } }`

const previewV2 = `query Preview($input: OrderPreviewInput!) {
  previewOrder(input: $input) {
    lines { index product { id code } quantity unitPrice { amount currencyCode } amount { amount currencyCode } source availableQuantity }
    amount { amount currencyCode }
    userErrors { field code message }
  }
}`

type orderV2Data struct {
	ID             string
	ExactOrderID   *string
	IdempotencyKey *string
	UpdatedAt      *string
	Status         string
	OrderNumber    *int
	Amount         struct{ Amount, CurrencyCode string }
	Lines          []struct {
		LineNumber  int
		ProductCode string
		Quantity    string
		UnitPrice   struct{ Amount string }
		Amount      struct{ Amount string }
		Product     *struct{ ID, Code string }
	}
	DeliveryAddress *struct{ ID string }
	ShippingMethod  *struct{ ID, Code string }
}

type userErrorV2 struct {
	Field   []string
	Code    string
	Message string
}

type placeV2Data struct {
	PlaceOrder struct {
		Order      *orderV2Data
		UserErrors []userErrorV2
	}
}

type previewV2Data struct {
	PreviewOrder struct {
		Lines []struct {
			Index             int
			Product           struct{ ID, Code string }
			Quantity          string
			UnitPrice         struct{ Amount, CurrencyCode string }
			Amount            struct{ Amount, CurrencyCode string }
			Source            string
			AvailableQuantity *string
		}
		Amount     *struct{ Amount, CurrencyCode string }
		UserErrors []userErrorV2
	}
}

func (g *gateway) placeV2(tok string, input map[string]any) (placeV2Data, gqlResponse) {
	g.t.Helper()
	r := g.query(tok, placeV2, map[string]any{"input": input})
	var d placeV2Data
	if len(r.Data) > 0 {
		_ = json.Unmarshal(r.Data, &d)
	}
	return d, r
}

func (g *gateway) orderV2(tok, id string) (*orderV2Data, gqlResponse) {
	g.t.Helper()
	r := g.query(tok, orderV2, map[string]any{"id": id})
	var d struct{ Order *orderV2Data }
	if len(r.Data) > 0 {
		_ = json.Unmarshal(r.Data, &d)
	}
	return d.Order, r
}

type listedOrder struct {
	ID             string
	ExactOrderID   *string
	IdempotencyKey *string
	Status         string
}

func (g *gateway) viewerOrders(tok string) []listedOrder {
	g.t.Helper()
	var d struct {
		Viewer struct {
			Orders struct {
				Nodes    []listedOrder
				PageInfo struct{ HasNextPage bool }
			}
		}
	}
	g.mustQuery(tok, ordersV2, nil, &d)
	if d.Viewer.Orders.PageInfo.HasNextPage {
		g.t.Fatalf("the buyer has more than 100 orders; the test needs a smaller data set")
	}
	return d.Viewer.Orders.Nodes
}

// journalRows counts the journal's records of the token's buyer.
func (g *gateway) journalRows(rule string) int {
	g.t.Helper()
	acct := ""
	for _, d := range g.st.DemoTokens {
		if d.Rule == rule {
			acct = d.Account
		}
	}
	recs, err := g.st.Store.ByAccount(context.Background(), strings.ToLower(acct))
	if err != nil {
		g.t.Fatalf("journal: %v", err)
	}
	return len(recs)
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// TestOrderIDStableFromPendingToOpen (issue 13 item 1): the connection drops
// after Exact wrote the order, so the payload is PENDING under the gateway's
// ID; once the worker finds the order in Exact it is OPEN under the same id,
// with exactOrderId set. order(id) answers by either ID with the stable id,
// and viewer.orders lists every order once (staff-entered orders under
// Exact's OrderID, with no idempotency key).
func TestOrderIDStableFromPendingToOpen(t *testing.T) {
	t.Parallel()
	g := startGateway(t, faultEnv)
	tok := g.token(gen.RulePriceList)
	input := warmOrder(t, g, tok, "k-stable", "PO-STABLE")

	g.st.Sandbox.Faults().DropConnectionAfterNextPost()
	d, r := g.placeV2(tok, input)
	noInternal(t, "placeOrder", r)
	o := d.PlaceOrder.Order
	if len(r.Errors) > 0 || o == nil || o.Status != "PENDING" {
		t.Fatalf("placeOrder with a dropped connection: %s %+v; want PENDING", r.Data, r.Errors)
	}
	if o.ExactOrderID != nil || str(o.IdempotencyKey) != "k-stable" || o.UpdatedAt == nil {
		t.Errorf("PENDING order: exactOrderId %s idempotencyKey %s updatedAt %s; want null, k-stable, set",
			str(o.ExactOrderID), str(o.IdempotencyKey), str(o.UpdatedAt))
	}
	id := o.ID

	var open *orderV2Data
	eventually(t, 20*time.Second, "order reads OPEN", func() bool {
		got, r := g.orderV2(tok, id)
		noInternal(t, "order(id)", r)
		if got != nil && got.Status == "OPEN" {
			open = got
			return true
		}
		return false
	})
	if open.ID != id || open.ExactOrderID == nil || *open.ExactOrderID == id || open.OrderNumber == nil || str(open.IdempotencyKey) != "k-stable" {
		t.Fatalf("OPEN order = id %s exactOrderId %s number %v key %s; want id %s, Exact's OrderID apart, a number, k-stable",
			open.ID, str(open.ExactOrderID), open.OrderNumber, str(open.IdempotencyKey), id)
	}
	exactID := *open.ExactOrderID

	// By Exact's OrderID (any case): the same order under its stable id.
	for _, ask := range []string{exactID, strings.ToUpper(exactID), strings.ToUpper(id)} {
		got, r := g.orderV2(tok, ask)
		if got == nil || got.ID != id || str(got.ExactOrderID) != exactID || got.Status != "OPEN" {
			t.Errorf("order(%s) = %+v %+v; want id %s, exactOrderId %s", ask, got, r.Errors, id, exactID)
		}
	}
	// The replayed key answers the same id.
	again, _ := g.placeV2(tok, input)
	if a := again.PlaceOrder.Order; a == nil || a.ID != id || str(a.ExactOrderID) != exactID {
		t.Errorf("replay = %+v; want id %s exactOrderId %s", a, id, exactID)
	}
	// Exactly one order in Exact, one POST for it (plus the warm-up's).
	if n, posts := g.ordersWithRef("PO-STABLE"), g.orderPosts(); n != 1 || posts != 2 {
		t.Errorf("%d orders in Exact after %d POSTs; want 1 and 2", n, posts)
	}

	// viewer.orders: each order once, the gateway's under their stable id.
	listed := g.viewerOrders(tok)
	seen := map[string]int{}
	staff := 0
	for _, l := range listed {
		seen[l.ID]++
		if l.ExactOrderID != nil {
			seen[*l.ExactOrderID]++
		}
		switch {
		case l.IdempotencyKey == nil:
			// Entered in Exact: Exact's OrderID is the stable id.
			if str(l.ExactOrderID) != l.ID {
				t.Errorf("staff order %s: exactOrderId %s; want its id", l.ID, str(l.ExactOrderID))
			}
			staff++
		case l.ExactOrderID != nil && *l.ExactOrderID == l.ID:
			t.Errorf("gateway order %s listed under Exact's OrderID", l.ID)
		}
	}
	for k, n := range seen {
		if n != 1 && !slices.ContainsFunc(listed, func(l listedOrder) bool { return l.ID == k && str(l.ExactOrderID) == k && n == 2 }) {
			t.Errorf("ID %s appears %d times in viewer.orders", k, n)
		}
	}
	if seen[id] != 1 || seen[exactID] != 1 {
		t.Errorf("the order appears %d times by its id and %d by Exact's; want once each (one entry)", seen[id], seen[exactID])
	}
	if staff == 0 {
		t.Errorf("no staff-entered order listed (the generated history has some)")
	}
	t.Logf("%d orders listed, %d entered in Exact", len(listed), staff)
}

// TestPendingPayloadCarriesNoError (issue 13 item 2): the storefront is
// warmed as a shop page does (product by code with its price, the viewer's
// delivery addresses, shipping methods, warehouses), Exact goes into
// maintenance, and placeOrder by product code answers a PENDING order with
// its lines' products, delivery address and shipping method and no error.
func TestPendingPayloadCarriesNoError(t *testing.T) {
	t.Parallel()
	g := startGateway(t, faultEnv)
	tok := g.token(gen.RulePriceList)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 2}, &p)
	code := p.Products.Nodes[1].Code
	var warm struct {
		Product struct {
			ID    string
			Price *struct{ UnitPrice struct{ Amount string } }
		}
		Viewer struct {
			DeliveryAddresses []struct{ ID string }
		}
		ShippingMethods []struct{ ID, Code string }
		Warehouses      []struct{ ID string }
	}
	g.mustQuery(tok, `query($code: String!) { product(code: $code) { id price(quantity: "2") { unitPrice { amount } } }
	  viewer { deliveryAddresses { id } } shippingMethods { id code } warehouses { id } }`, map[string]any{"code": code}, &warm)
	if warm.Product.Price == nil || len(warm.Viewer.DeliveryAddresses) == 0 || len(warm.ShippingMethods) == 0 || len(warm.Warehouses) == 0 {
		t.Fatalf("warm-up: %+v", warm)
	}
	addr, sm, wh := warm.Viewer.DeliveryAddresses[0].ID, warm.ShippingMethods[0], warm.Warehouses[0].ID

	g.st.Sandbox.Faults().SetMaintenance(true)
	for _, tc := range []struct {
		name  string
		input map[string]any
	}{
		{"everything named", map[string]any{"idempotencyKey": "pend-1", "deliveryAddressId": addr, "shippingMethodId": sm.ID, "warehouseId": wh,
			"lines": []map[string]any{{"productCode": code, "quantity": "2"}}}},
		{"account defaults", map[string]any{"idempotencyKey": "pend-2", "lines": []map[string]any{{"productCode": strings.ToLower(code), "quantity": "2"}}}},
	} {
		d, r := g.placeV2(tok, tc.input)
		o := d.PlaceOrder.Order
		if len(r.Errors) > 0 || o == nil || o.Status != "PENDING" {
			t.Fatalf("%s: placeOrder under maintenance = %s %+v; want a PENDING order and no error", tc.name, r.Data, r.Errors)
		}
		if len(o.Lines) != 1 || o.Lines[0].Product == nil || o.Lines[0].Product.Code != code || o.Lines[0].Product.ID != warm.Product.ID {
			t.Errorf("%s: lines %+v; want the product %s", tc.name, o.Lines, code)
		}
		if o.Lines[0].UnitPrice.Amount != warm.Product.Price.UnitPrice.Amount {
			t.Errorf("%s: unit price %s; the shop showed %s", tc.name, o.Lines[0].UnitPrice.Amount, warm.Product.Price.UnitPrice.Amount)
		}
		if o.DeliveryAddress == nil || (tc.input["deliveryAddressId"] != nil && o.DeliveryAddress.ID != addr) {
			t.Errorf("%s: deliveryAddress %+v; want %s", tc.name, o.DeliveryAddress, addr)
		}
		if tc.input["shippingMethodId"] != nil && (o.ShippingMethod == nil || o.ShippingMethod.Code != sm.Code) {
			t.Errorf("%s: shippingMethod %+v; want %s", tc.name, o.ShippingMethod, sm.Code)
		}
	}
	if n := g.orderPosts(); n != 0 {
		t.Errorf("%d POSTs reached Exact during maintenance", n)
	}
}

// TestPreviewOrderMatchesPlaceOrder (issue 13 item 3): previewOrder prices a
// cart exactly as placeOrder then writes it, answers the same user errors
// for a bad cart, and writes nothing (no journal row, no POST to Exact).
func TestPreviewOrderMatchesPlaceOrder(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	rule := gen.RuleAccountDiscount
	tok := g.token(rule)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 3}, &p)
	var lines []map[string]any
	for i, n := range p.Products.Nodes {
		q := []string{"1", "12", "250"}[i]
		if i == 1 {
			lines = append(lines, map[string]any{"productId": n.ID, "quantity": q})
		} else {
			lines = append(lines, map[string]any{"productCode": n.Code, "quantity": q})
		}
	}

	preview := func(input map[string]any) previewV2Data {
		t.Helper()
		var d previewV2Data
		g.mustQuery(tok, previewV2, map[string]any{"input": input}, &d)
		return d
	}
	rows, posts := g.journalRows(rule), g.orderPosts()
	pv := preview(map[string]any{"lines": lines})
	if g.journalRows(rule) != rows || g.orderPosts() != posts {
		t.Fatalf("previewOrder wrote: journal rows %d→%d, POSTs %d→%d", rows, g.journalRows(rule), posts, g.orderPosts())
	}
	if len(pv.PreviewOrder.UserErrors) > 0 || len(pv.PreviewOrder.Lines) != 3 || pv.PreviewOrder.Amount == nil {
		t.Fatalf("preview of a good cart: %+v", pv.PreviewOrder)
	}
	for i, l := range pv.PreviewOrder.Lines {
		if l.Index != i || l.Product.Code != p.Products.Nodes[i].Code || l.AvailableQuantity == nil || l.Source == "" {
			t.Errorf("preview line %d: %+v", i, l)
		}
	}

	d, r := g.placeV2(tok, map[string]any{"idempotencyKey": "after-preview", "lines": lines})
	o := d.PlaceOrder.Order
	if len(r.Errors) > 0 || o == nil || o.Status != "OPEN" || len(o.Lines) != 3 {
		t.Fatalf("placeOrder: %s %+v", r.Data, r.Errors)
	}
	for i, l := range o.Lines {
		pl := pv.PreviewOrder.Lines[i]
		if l.UnitPrice.Amount != pl.UnitPrice.Amount || l.Amount.Amount != pl.Amount.Amount || l.Quantity != pl.Quantity {
			t.Errorf("line %d: order %s × %s = %s; preview %s × %s = %s", i, l.Quantity, l.UnitPrice.Amount, l.Amount.Amount,
				pl.Quantity, pl.UnitPrice.Amount, pl.Amount.Amount)
		}
	}
	if o.Amount != *pv.PreviewOrder.Amount {
		t.Errorf("order amount %+v; preview %+v", o.Amount, *pv.PreviewOrder.Amount)
	}

	// A bad cart: the same user errors, in the same order, and the valid
	// line priced in the preview.
	bad := []map[string]any{
		{"productCode": "NO-SUCH-CODE-42", "quantity": "1"},
		{"productCode": p.Products.Nodes[0].Code, "quantity": "0"},
		{"productId": p.Products.Nodes[0].ID, "productCode": p.Products.Nodes[0].Code, "quantity": "1"},
		{"productCode": p.Products.Nodes[2].Code, "quantity": "4"},
	}
	extra := map[string]any{"shippingMethodId": "00000000-0000-4000-8000-00000000beef", "deliveryDate": "2001-01-01"}
	pin := map[string]any{"lines": bad}
	oin := map[string]any{"idempotencyKey": "bad-cart", "lines": bad}
	for k, v := range extra {
		pin[k], oin[k] = v, v
	}
	rows, posts = g.journalRows(rule), g.orderPosts()
	pb := preview(pin)
	db, r := g.placeV2(tok, oin)
	if len(r.Errors) > 0 || db.PlaceOrder.Order != nil {
		t.Fatalf("placeOrder of a bad cart: %s %+v", r.Data, r.Errors)
	}
	if len(pb.PreviewOrder.UserErrors) < 4 {
		t.Errorf("preview user errors %+v; want one per bad input", pb.PreviewOrder.UserErrors)
	}
	if diff := cmp.Diff(db.PlaceOrder.UserErrors, pb.PreviewOrder.UserErrors); diff != "" {
		t.Errorf("user errors (-placeOrder +previewOrder):\n%s", diff)
	}
	if len(pb.PreviewOrder.Lines) != 1 || pb.PreviewOrder.Lines[0].Index != 3 || pb.PreviewOrder.Lines[0].Product.Code != p.Products.Nodes[2].Code {
		t.Errorf("preview lines of the bad cart = %+v; want only line 3 priced", pb.PreviewOrder.Lines)
	}
	if g.journalRows(rule) != rows || g.orderPosts() != posts {
		t.Errorf("a bad cart wrote: journal rows %d→%d, POSTs %d→%d", rows, g.journalRows(rule), posts, g.orderPosts())
	}
}

// TestPreviewOrderSharesTheAttemptLimit: previewOrder draws on the buyer's
// order attempts (EXACTQL_ORDER_ATTEMPTS_PER_MINUTE) with placeOrder, so a
// preview loop cannot be used to scrape prices beyond it; refusals are
// RATE_LIMITED and another buyer is unaffected.
func TestPreviewOrderSharesTheAttemptLimit(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"EXACTQL_ORDER_ATTEMPTS_PER_MINUTE": "3"})
	tok := g.token(gen.RulePriceList)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 1}, &p)
	input := map[string]any{"lines": []map[string]any{{"productCode": p.Products.Nodes[0].Code, "quantity": "1"}}}
	codes := []string{}
	for i := range 5 {
		// A different cart each time: an identical preview is answered by
		// the response cache without reaching the order service (and so
		// costs no attempt, nor reveals anything new).
		cart := map[string]any{"lines": []map[string]any{{"productCode": p.Products.Nodes[0].Code, "quantity": strconv.Itoa(i + 1)}}}
		r := g.query(tok, previewV2, map[string]any{"input": cart})
		noInternal(t, "previewOrder", r)
		codes = append(codes, errorCode(r))
	}
	if want := []string{"", "", "", "RATE_LIMITED", "RATE_LIMITED"}; !slices.Equal(codes, want) {
		// The minute may roll over between calls: then the window restarts.
		if slices.Index(codes, "RATE_LIMITED") < 0 {
			t.Errorf("preview codes %v; want RATE_LIMITED after 3 attempts", codes)
		}
	}
	if r := g.query(g.token(gen.RuleCustomerPrice), previewV2, map[string]any{"input": input}); errorCode(r) == "RATE_LIMITED" {
		t.Errorf("another buyer was limited: %+v", r.Errors)
	}
}
