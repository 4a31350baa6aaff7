package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestAbuseOrderFloodLeavesOthersServed reproduces issue 17 item 3: one
// buyer floods placeOrder with 200 made-up product codes per request. Its
// validation reads are charged to its own budget (not the write priority),
// its attempts per minute are limited and each order stops looking codes
// up after the first unknown ones, so the division's minute budget is not
// emptied: another buyer's reads and order are served meanwhile.
func TestAbuseOrderFloodLeavesOthersServed(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"EXACTQL_ORDER_ATTEMPTS_PER_MINUTE": "5"})
	attacker, victim := g.token(gen.RuleDefaultPrice), g.token(gen.RulePriceList)

	lines := func(prefix string) []map[string]any {
		var ls []map[string]any
		for i := range 200 {
			ls = append(ls, map[string]any{"productCode": fmt.Sprintf("%s-%03d", prefix, i), "quantity": "1"})
		}
		return ls
	}
	const floods = 20
	codes := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range floods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := g.query(attacker, placeOrder, map[string]any{"input": map[string]any{
				"idempotencyKey": fmt.Sprintf("flood-%d", i), "lines": lines(fmt.Sprintf("NOPE%d", i))}})
			code := errorCode(r)
			if code == "" {
				var d placeData
				if err := json.Unmarshal(r.Data, &d); err == nil && len(d.PlaceOrder.UserErrors) > 0 {
					code = "user:" + d.PlaceOrder.UserErrors[0].Code
				}
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("flood answers: %v; Exact API calls so far: %d", codes, g.apiCalls())
	if codes["RATE_LIMITED"] == 0 {
		t.Errorf("no flood request was refused: %v", codes)
	}
	for c := range codes {
		if c != "RATE_LIMITED" && c != "user:UNKNOWN_PRODUCT" {
			t.Errorf("unexpected answer %q to a flood request", c)
		}
	}
	if n := g.orderPosts(); n != 0 {
		t.Errorf("%d orders sent for the flood", n)
	}
	_, metrics := get(t, g.st.URL+"/metrics", nil)
	if want := fmt.Sprintf("exactql_order_attempts_refused_total %d\n", codes["RATE_LIMITED"]); !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q:\n%s", want, grepLines(metrics, "exactql_order"))
	}

	// The other buyer browses and orders as usual.
	var p pageData
	g.mustQuery(victim, pageQuery, map[string]any{"first": 2}, &p)
	if len(p.Products.Nodes) != 2 || p.Products.Nodes[0].Price == nil {
		t.Fatalf("victim's page: %+v", p.Products)
	}
	var d placeData
	g.mustQuery(victim, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "victim-1",
		"lines": []map[string]any{{"productCode": p.Products.Nodes[0].Code, "quantity": "2"}}}}, &d)
	if d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "OPEN" || len(d.PlaceOrder.UserErrors) > 0 {
		t.Fatalf("victim's order: %+v", d.PlaceOrder)
	}
	if n := g.st.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Status == 429 }); n != 0 {
		t.Errorf("the sandbox answered %d calls with 429: the flood reached the division's budget", n)
	}
}

const ordersPageQuery = `query($first: Int, $after: String) { viewer { orders(first: $first, after: $after) {
  nodes { id status amount { amount } } pageInfo { endCursor hasNextPage } } } }`

type ordersPage struct {
	Viewer struct {
		Orders struct {
			Nodes []struct {
				ID, Status string
				Amount     struct{ Amount string }
			}
			PageInfo struct {
				EndCursor   *string
				HasNextPage bool
			}
		}
	}
}

// TestAbuseForgedOrdersCursor reproduces issue 17 item 4: forged and
// tampered orders cursors are BAD_USER_INPUT and reach Exact not at all, so
// they cannot spend its error allowance and block order writes.
func TestAbuseForgedOrdersCursor(t *testing.T) {
	t.Parallel()
	g := startGateway(t, nil)
	tok := g.token(gen.RuleCustomerPrice)
	var first ordersPage
	g.mustQuery(tok, ordersPageQuery, map[string]any{"first": 1}, &first)
	end := first.Viewer.Orders.PageInfo.EndCursor
	if end == nil || !first.Viewer.Orders.PageInfo.HasNextPage {
		t.Fatalf("first page: %+v", first)
	}
	// A genuine cursor works.
	var next ordersPage
	g.mustQuery(tok, ordersPageQuery, map[string]any{"first": 1, "after": *end}, &next)
	if len(next.Viewer.Orders.Nodes) != 1 || next.Viewer.Orders.Nodes[0].ID == first.Viewer.Orders.Nodes[0].ID {
		t.Fatalf("second page: %+v", next)
	}
	tampered := []byte(*end)
	tampered[2] ^= 1
	payload, _, _ := strings.Cut(*end, ".")
	forged := []string{
		// The old unsigned format with a year-10000 time (the attack).
		"eyJ0IjoyNTM0MDIzMDA4MDAwMDAsImkiOiIzZjJiOGMxZS0xMTExLTQyMjItODMzMy00NDQ0NTU1NTY2NjYifQ",
		payload, string(tampered), *end + "A", strings.Repeat("x", 3000),
	}
	other := g.token(gen.RuleDefaultPrice)
	var warm ordersPage
	g.mustQuery(other, ordersPageQuery, map[string]any{"first": 0}, &warm) // its account is cached now
	before := g.apiCalls()
	for _, c := range forged {
		r := g.query(tok, ordersPageQuery, map[string]any{"first": 1, "after": c})
		if got := errorCode(r); got != "BAD_USER_INPUT" {
			t.Errorf("after=%.40q: code %q (%+v); want BAD_USER_INPUT", c, got, r.Errors)
		}
	}
	// Another buyer cannot replay this buyer's cursor either.
	if got := errorCode(g.query(other, ordersPageQuery, map[string]any{"first": 1, "after": *end})); got != "BAD_USER_INPUT" {
		t.Errorf("another buyer's cursor: %q; want BAD_USER_INPUT", got)
	}
	if n := g.apiCalls() - before; n != 0 {
		t.Errorf("forged cursors caused %d Exact calls; want 0:%s", n, g.callLog())
	}
	// Orders are still written afterwards.
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 1}, &p)
	var d placeData
	g.mustQuery(tok, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "after-forgery",
		"lines": []map[string]any{{"productCode": p.Products.Nodes[0].Code, "quantity": "1"}}}}, &d)
	if d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "OPEN" {
		t.Errorf("order after the forgeries: %+v", d.PlaceOrder)
	}
}

// TestAbuseAbsurdQuantities reproduces issue 17 item 5: a line of 1e11
// units is QUANTITY_TOO_LARGE and an order above EXACTQL_MAX_ORDER_AMOUNT is
// ORDER_TOO_LARGE; neither reaches Exact.
func TestAbuseAbsurdQuantities(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"EXACTQL_MAX_ORDER_AMOUNT": "500"})
	tok := g.token(gen.RulePriceList)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 1}, &p)
	code := p.Products.Nodes[0].Code
	for _, tc := range []struct{ qty, want string }{
		{"100000000000", "QUANTITY_TOO_LARGE"},
		{"100000", "ORDER_TOO_LARGE"},
	} {
		var d placeData
		g.mustQuery(tok, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "absurd-" + tc.qty,
			"lines": []map[string]any{{"productCode": code, "quantity": tc.qty}}}}, &d)
		if d.PlaceOrder.Order != nil || len(d.PlaceOrder.UserErrors) != 1 || d.PlaceOrder.UserErrors[0].Code != tc.want {
			t.Errorf("quantity %s: %+v; want %s", tc.qty, d.PlaceOrder, tc.want)
		}
	}
	if n := g.orderPosts(); n != 0 {
		t.Errorf("%d absurd orders sent to Exact", n)
	}
}

// TestAbuseOrderValidationReadsChargeTheCaller: with the attempt limit off,
// a flood's validation reads still draw on the flooding buyer's own budget
// (EXACTQL_CALLER_BUDGET), not on the write priority: the flood is
// RATE_LIMITED while another buyer, whose reads are cached, orders.
func TestAbuseOrderValidationReadsChargeTheCaller(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"EXACTQL_ORDER_ATTEMPTS_PER_MINUTE": "0", "EXACTQL_CALLER_BUDGET": "20"})
	attacker, victim := g.token(gen.RuleDefaultPrice), g.token(gen.RuleAccountDiscount)
	// The victim browses first (its reads are cached from then on).
	var p pageData
	g.mustQuery(victim, pageQuery, map[string]any{"first": 1}, &p)
	warm := g.apiCalls()

	limited := 0
	for i := range 30 {
		var ls []map[string]any
		for j := range 200 {
			ls = append(ls, map[string]any{"productCode": fmt.Sprintf("X%d-%03d", i, j), "quantity": "1"})
		}
		r := g.query(attacker, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": fmt.Sprintf("f%d", i), "lines": ls}})
		if errorCode(r) == "RATE_LIMITED" {
			limited++
		}
	}
	flood := g.apiCalls() - warm
	t.Logf("victim warm-up: %d Exact calls; flood: %d calls, %d of 30 requests RATE_LIMITED", warm, flood, limited)
	if limited == 0 {
		t.Errorf("the flood's validation reads were never charged to the attacker's budget")
	}
	if flood > 20+5 {
		t.Errorf("the flood caused %d Exact calls; its budget is 20 a minute", flood)
	}
	var d placeData
	g.mustQuery(victim, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "v",
		"lines": []map[string]any{{"productCode": p.Products.Nodes[0].Code, "quantity": "1"}}}}, &d)
	if d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "OPEN" {
		t.Errorf("victim's order during the flood: %+v", d.PlaceOrder)
	}
}
