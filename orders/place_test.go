package orders_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
)

// expectedLines prices the input lines for the buyer with the binding price
// rules (pricing.Resolve over the buyer's Exact rows) as Place must.
func expectedLines(t *testing.T, e *env, b orders.Caller, items []erp.Item, qtys []string) []orders.Line {
	t.Helper()
	ctx := context.Background()
	acct, err := e.cat.Account(ctx, b.Account)
	if err != nil {
		t.Fatal(err)
	}
	data, err := e.cat.OrderPrices(ctx, acct, items)
	if err != nil {
		t.Fatal(err)
	}
	pc := pricing.Context{Today: civil.Today(e.clock.Now(), time.UTC), DivisionCurrency: "EUR"}
	var out []orders.Line
	for i, it := range items {
		q := dec(qtys[i])
		p, ok := pricing.Resolve(pc, pricing.TermsFromAccount(*acct, "EUR"), data[i], q)
		if !ok {
			t.Fatalf("no price for %s", it.Code)
		}
		out = append(out, orders.Line{LineNumber: i + 1, ItemID: strings.ToLower(it.ID), ItemCode: erp.Code(it.Code),
			Description: it.Description, Quantity: q, UnitPrice: p.UnitPrice, Amount: pricing.LineAmount(p.UnitPrice, q)})
	}
	return out
}

func sum(ls []orders.Line) decimal.Decimal {
	s := decimal.Zero
	for _, l := range ls {
		s = s.Add(l.Amount)
	}
	return s
}

// cmpDec compares decimals by value; Line.Item (the validated item a
// payload shows) is compared apart where it matters.
var cmpDec = cmp.Options{cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }), cmpopts.IgnoreFields(orders.Line{}, "Item")}

func TestPlaceThreeLinesLandsOnceWithPrices(t *testing.T) {
	for _, rule := range []string{gen.RuleCustomerPrice, gen.RulePriceList, gen.RuleAccountDiscount, gen.RuleDefaultPrice} {
		t.Run(rule, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := t.Context()
			b := e.buyer(rule)
			items := e.sellableItems(b, 3, false)
			qtys := []string{"1", "12", "250"}
			in := validate.Input{
				Lines:         []validate.Line{lineID(items[0], qtys[0]), lineCode(items[1], qtys[1]), lineID(items[2], qtys[2])},
				YourReference: sp("PO-4711"), Description: sp("Weekly order"), Remarks: sp("Deliver at the back door"),
			}
			in.Lines[1].Notes = sp("gift wrap")
			res, err := e.svc.Place(ctx, b, "key-1", in)
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if len(res.UserErrors) > 0 || res.Order == nil {
				t.Fatalf("Place = %+v; want an order", res)
			}
			o := res.Order
			if o.Status != orders.StatusOpen || o.OrderNumber == 0 || o.ExactID == "" || o.ID != o.GatewayID || o.GatewayID == "" {
				t.Errorf("order = status %s number %d id %s exact %s gateway %s; want OPEN with the gateway's (stable) ID, Exact's ID and number",
					o.Status, o.OrderNumber, o.ID, o.ExactID, o.GatewayID)
			}
			want := expectedLines(t, e, b, items, qtys)
			if diff := cmp.Diff(want, o.Lines, cmpDec); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if !o.Amount.Equal(sum(want)) {
				t.Errorf("amount = %s; want %s", o.Amount, sum(want))
			}
			if got := e.posts(); got != 1 {
				t.Errorf("POSTs = %d; want 1", got)
			}
			landed := e.ordersWithRef(o.GatewayID)
			if len(landed) != 1 {
				t.Fatalf("orders in Exact with the reference = %d; want 1", len(landed))
			}
			rec := landed[0]
			acct, _ := e.cat.Account(ctx, b.Account)
			invoiceTo := acct.ID
			if acct.InvoiceAccount != "" {
				invoiceTo = acct.InvoiceAccount
			}
			gotHdr := map[string]any{"OrderedBy": rec["OrderedBy"], "DeliverTo": rec["DeliverTo"], "InvoiceTo": rec["InvoiceTo"],
				"OrderedByContactPerson": rec["OrderedByContactPerson"], "YourRef": rec["YourRef"], "Description": rec["Description"],
				"Remarks": rec["Remarks"], "ShippingMethod": rec["ShippingMethod"], "DeliveryAddress": rec["DeliveryAddress"],
				"Currency": rec["Currency"]}
			quoted := strings.TrimSpace(acct.SalesCurrency)
			if quoted == "" {
				quoted = "EUR" // EXACTQL_CURRENCY: SalesCurrency is Exact's Time & Billing currency
			}
			wantHdr := map[string]any{"OrderedBy": acct.ID, "DeliverTo": acct.ID, "InvoiceTo": invoiceTo,
				"OrderedByContactPerson": b.Contact, "YourRef": "PO-4711", "Description": "Weekly order",
				"Remarks": "exactql-ref: " + o.GatewayID + "\nDeliver at the back door", "ShippingMethod": acct.ShippingMethod,
				"DeliveryAddress": mainDelivery(t, e, acct.ID), "Currency": quoted}
			if diff := cmp.Diff(wantHdr, gotHdr, cmp.Comparer(func(a, b string) bool { return strings.EqualFold(a, b) })); diff != "" {
				t.Errorf("order header in Exact (-want +got):\n%s", diff)
			}

			// Exact's stored lines carry the unit prices sent.
			got, err := e.svc.Get(ctx, b, o.ExactID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if diff := cmp.Diff(want, got.Lines, cmpDec); diff != "" {
				t.Errorf("lines in Exact (-want +got):\n%s", diff)
			}

			// The same key and input: the recorded outcome, no second POST.
			again, err := e.svc.Place(ctx, b, "key-1", in)
			if err != nil || again.Order == nil || again.Order.ID != o.ID || again.Order.OrderNumber != o.OrderNumber || len(again.UserErrors) > 0 {
				t.Errorf("repeated Place = %+v, %v; want the same order", again, err)
			}
			// The same key with another input: IDEMPOTENCY_KEY_REUSED.
			other := in
			other.Lines = append([]validate.Line(nil), in.Lines...)
			other.Lines[0].Quantity = dec("2")
			reused, err := e.svc.Place(ctx, b, "key-1", other)
			if err != nil || reused.Order != nil || len(reused.UserErrors) != 1 || reused.UserErrors[0].Code != validate.CodeIdempotencyKeyReused {
				t.Errorf("Place with other input = %+v, %v; want IDEMPOTENCY_KEY_REUSED", reused, err)
			}
			// 1.0 equals 1 after normalising: the same input.
			same := in
			same.Lines = append([]validate.Line(nil), in.Lines...)
			same.Lines[0].Quantity = dec("1.000")
			if r, err := e.svc.Place(ctx, b, "key-1", same); err != nil || r.Order == nil || r.Order.ID != o.ID {
				t.Errorf("Place with 1.000 for 1 = %+v, %v; want the same order", r, err)
			}
			if got := e.posts(); got != 1 {
				t.Errorf("POSTs after retries = %d; want 1", got)
			}
			st := e.svc.Stats()
			if st.Outcomes[orders.OutcomeWritten] != 1 || st.Outcomes[orders.OutcomeReplayed] != 2 || st.Outcomes[orders.OutcomeKeyReused] != 1 || st.Pending != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func mainDelivery(t *testing.T, e *env, account string) string {
	t.Helper()
	as, err := e.cat.Addresses(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	first := ""
	for _, a := range as {
		if a.Type == erp.AddressDelivery {
			if a.Main {
				return a.ID
			}
			if first == "" {
				first = a.ID
			}
		}
	}
	return first
}

func TestPlaceConcurrentDuplicatesMakeOneOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	items := e.sellableItems(b, 2, false)
	in := validate.Input{Lines: []validate.Line{lineID(items[0], "3"), lineID(items[1], "5")}}
	// A second service on the same journal stands for a second gateway
	// process: its duplicates collapse through the journal, not a mutex.
	o2 := e.opts
	o2.Journal, o2.Exact, o2.Catalog = e.st, orders.NewExact(e.client), e.cat
	other := orders.NewService(o2)

	const n = 10
	results := make([]*orders.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			svc := e.svc
			if i%2 == 1 {
				svc = other
			}
			results[i], errs[i] = svc.Place(ctx, b, "same-key", in)
		}()
	}
	close(start)
	wg.Wait()
	var ids []string
	for i := range n {
		if errs[i] != nil || results[i].Order == nil {
			t.Fatalf("Place %d = %+v, %v", i, results[i], errs[i])
		}
		ids = append(ids, results[i].Order.GatewayID)
		if results[i].Order.Status != orders.StatusOpen {
			t.Errorf("Place %d status = %s; want OPEN", i, results[i].Order.Status)
		}
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("gateway IDs differ: %v", ids)
		}
	}
	if got := e.posts(); got != 1 {
		t.Errorf("POSTs = %d; want 1", got)
	}
	if got := len(e.ordersWithRef(ids[0])); got != 1 {
		t.Errorf("orders in Exact = %d; want 1", got)
	}
}

func TestPlaceDroppedConnectionEndsWithOneOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleDefaultPrice)
	items := e.sellableItems(b, 1, false)
	in := validate.Input{Lines: []validate.Line{lineID(items[0], "4")}}

	e.sb.Faults().DropConnectionAfterNextPost()
	res, err := e.svc.Place(ctx, b, "k", in)
	if err != nil || res.Order == nil || len(res.UserErrors) > 0 {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	gid := res.Order.ID
	if res.Order.Status != orders.StatusPending || res.Order.GatewayID != gid || res.Order.OrderNumber != 0 {
		t.Fatalf("order = %+v; want PENDING with the gateway ID", res.Order)
	}
	if got := len(e.ordersWithRef(gid)); got != 1 {
		t.Fatalf("Exact created %d orders before the drop; want 1", got)
	}
	if st := e.svc.Stats(); st.Pending != 1 || st.Outcomes[orders.OutcomePending] != 1 {
		t.Errorf("Stats = %+v; want 1 pending", st)
	}
	e.clock.Advance(time.Second / 2)
	if st := e.svc.Stats(); st.OldestPendingAge != time.Second/2 {
		t.Errorf("OldestPendingAge = %s; want 500ms", st.OldestPendingAge)
	}
	if o, err := e.svc.Get(ctx, b, gid); err != nil || o.Status != orders.StatusPending {
		t.Errorf("Get(gateway ID) = %+v, %v; want PENDING", o, err)
	}
	// Not due before its backoff.
	if n, err := e.svc.RunOnce(ctx); err != nil || n != 0 {
		t.Errorf("RunOnce before the backoff = %d, %v; want 0", n, err)
	}
	e.clock.Advance(5 * time.Second)
	if n, err := e.svc.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v; want 1", n, err)
	}
	if got := e.posts(); got != 1 {
		t.Errorf("POSTs = %d; want 1 (the worker must find the order, not post it again)", got)
	}
	if got := len(e.ordersWithRef(gid)); got != 1 {
		t.Errorf("orders in Exact = %d; want 1", got)
	}
	byGateway, err := e.svc.Get(ctx, b, gid)
	if err != nil || byGateway.Status != orders.StatusOpen || byGateway.OrderNumber == 0 || byGateway.GatewayID != gid {
		t.Fatalf("Get(gateway ID) = %+v, %v; want OPEN with an order number", byGateway, err)
	}
	byExact, err := e.svc.Get(ctx, b, byGateway.ExactID)
	if err != nil {
		t.Fatalf("Get(Exact ID): %v", err)
	}
	if diff := cmp.Diff(byGateway, byExact, cmpDec); diff != "" {
		t.Errorf("by Exact ID (-gateway +exact):\n%s", diff)
	}
	if len(byExact.Lines) != 1 || !byExact.Lines[0].Quantity.Equal(dec("4")) {
		t.Errorf("lines = %+v", byExact.Lines)
	}
	// The key now answers the written order.
	again, err := e.svc.Place(ctx, b, "k", in)
	if err != nil || again.Order.Status != orders.StatusOpen || again.Order.ID != byExact.ID {
		t.Errorf("repeated Place = %+v, %v; want the written order", again, err)
	}
	if st := e.svc.Stats(); st.Pending != 0 || st.Outcomes[orders.OutcomeFound] != 1 {
		t.Errorf("Stats = %+v; want none pending, 1 found", st)
	}
}

func TestPlaceMaintenancePendingLandsOnceAcrossRestart(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RulePriceList)
	items := e.sellableItems(b, 2, false)
	in := validate.Input{Lines: []validate.Line{lineID(items[0], "2"), lineCode(items[1], "7")}}
	want := expectedLines(t, e, b, items, []string{"2", "7"})
	// Validation runs on cached data while Exact is down (§6.2): warm it.
	if _, err := e.cat.Addresses(ctx, b.Account); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.ItemsByCode(ctx, []string{erp.Code(items[1].Code)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Items(ctx, []string{items[0].ID}); err != nil {
		t.Fatal(err)
	}

	e.sb.Faults().SetMaintenance(true)
	res, err := e.svc.Place(ctx, b, "m", in)
	if err != nil || res.Order == nil {
		t.Fatalf("Place during maintenance = %+v, %v", res, err)
	}
	gid := res.Order.ID
	if res.Order.Status != orders.StatusPending {
		t.Fatalf("status = %s; want PENDING", res.Order.Status)
	}
	if diff := cmp.Diff(want, res.Order.Lines, cmpDec); diff != "" {
		t.Errorf("pending lines (-want +got):\n%s", diff)
	}
	// Still down: the worker's search fails, so it does not post.
	e.clock.Advance(5 * time.Second)
	if _, err := e.svc.RunOnce(ctx); err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if got := e.posts(); got != 1 {
		t.Errorf("POSTs while down = %d; want 1 (the first attempt)", got)
	}
	if o, err := e.svc.Get(ctx, b, gid); err != nil || o.Status != orders.StatusPending {
		t.Errorf("Get = %+v, %v; want PENDING", o, err)
	}

	// Restart the gateway, then Exact recovers.
	e.restart()
	e.sb.Faults().SetMaintenance(false)
	if st := e.svc.Stats(); st.Pending != 1 {
		t.Errorf("pending after restart = %d; want 1", st.Pending)
	}
	e.clock.Advance(10 * time.Second)
	if n, err := e.svc.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce after restart = %d, %v; want 1", n, err)
	}
	landed := e.ordersWithRef(gid)
	if len(landed) != 1 {
		t.Fatalf("orders in Exact = %d; want 1", len(landed))
	}
	o, err := e.svc.Get(ctx, b, gid)
	if err != nil || o.Status != orders.StatusOpen || o.OrderNumber == 0 {
		t.Fatalf("Get = %+v, %v; want OPEN", o, err)
	}
	if diff := cmp.Diff(want, o.Lines, cmpDec); diff != "" {
		t.Errorf("lines in Exact (-want +got):\n%s", diff)
	}
	// Nothing more to do, and no further POST ever.
	e.clock.Advance(time.Hour)
	if n, err := e.svc.RunOnce(ctx); err != nil || n != 0 {
		t.Errorf("RunOnce after landing = %d, %v; want 0", n, err)
	}
	if got := e.posts(); got != 2 {
		t.Errorf("POSTs = %d; want 2 (one refused by maintenance, one landed)", got)
	}
	if st := e.svc.Stats(); st.Pending != 0 || st.Outcomes[orders.OutcomeRecovered] != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestPlaceRejectedIsNeverRetried(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	items := e.sellableItems(b, 1, false)
	in := validate.Input{Lines: []validate.Line{lineID(items[0], "1")}}

	e.sb.Faults().RejectNextOrder("Item 3f2b8c1e-1111-4222-8333-444455556666 is blocked for sales; see https://start.exactonline.nl/docs/x?token=abc123 key Gcp7!AbCdEf0123456789xyz")
	res, err := e.svc.Place(ctx, b, "r", in)
	if err != nil || res.Order == nil {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	o := res.Order
	if o.Status != orders.StatusRejected || o.ID != o.GatewayID || o.OrderNumber != 0 {
		t.Errorf("order = %+v; want REJECTED under the gateway ID", o)
	}
	wantReason := "Item [id] is blocked for sales; see [link] key [redacted]"
	if o.RejectionReason != wantReason {
		t.Errorf("rejectionReason = %q; want %q", o.RejectionReason, wantReason)
	}
	wantErr := []validate.UserError{{Code: validate.CodeRejectedByERP, Message: "Exact Online rejected the order: " + wantReason}}
	if diff := cmp.Diff(wantErr, res.UserErrors); diff != "" {
		t.Errorf("user errors (-want +got):\n%s", diff)
	}
	e.clock.Advance(time.Hour)
	if n, err := e.svc.RunOnce(ctx); err != nil || n != 0 {
		t.Errorf("RunOnce = %d, %v; want 0", n, err)
	}
	again, err := e.svc.Place(ctx, b, "r", in)
	if err != nil || again.Order.Status != orders.StatusRejected || len(again.UserErrors) != 1 {
		t.Errorf("repeated Place = %+v, %v; want the recorded rejection", again, err)
	}
	if got, err := e.svc.Get(ctx, b, o.ID); err != nil || got.Status != orders.StatusRejected || got.RejectionReason != wantReason {
		t.Errorf("Get = %+v, %v", got, err)
	}
	if got := e.posts(); got != 1 {
		t.Errorf("POSTs = %d; want 1", got)
	}
	if len(e.ordersWithRef(o.ID)) != 0 {
		t.Errorf("a rejected order is in Exact")
	}
	if st := e.svc.Stats(); st.Outcomes[orders.OutcomeRejected] != 1 || st.Pending != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestPlaceForbidden(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	ok := e.buyer(gen.RuleDefaultPrice)
	items := e.sellableItems(ok, 1, false)
	in := validate.Input{Lines: []validate.Line{lineID(items[0], "1")}}
	for name, b := range map[string]orders.Caller{
		"blocked":    e.buyer(gen.RuleBlocked),
		"no account": {Subject: "someone"},
		"unknown":    {Account: "0f0f0f0f-0000-4000-8000-000000000000"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := e.svc.Place(ctx, b, "k", in); !errors.Is(err, orders.ErrForbidden) {
				t.Errorf("Place = %v; want ErrForbidden", err)
			}
		})
	}
	if _, err := e.svc.Place(ctx, ok, "", in); !errors.Is(err, orders.ErrInvalidKey) {
		t.Errorf("Place with an empty key = %v; want ErrInvalidKey", err)
	}
	if got := e.posts(); got != 0 {
		t.Errorf("POSTs = %d; want 0", got)
	}
}

func TestPlaceSendsChosenOptions(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleAccountDiscount)
	items := e.sellableItems(b, 1, false)
	acct, err := e.cat.Account(ctx, b.Account)
	if err != nil {
		t.Fatal(err)
	}
	ships, err := e.cat.ShippingMethods(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ship := ""
	for _, m := range ships {
		if m.Active && !strings.EqualFold(m.ID, acct.ShippingMethod) {
			ship = m.ID
			break
		}
	}
	whs, err := e.cat.Warehouses(ctx)
	if err != nil || len(whs) == 0 {
		t.Fatalf("Warehouses = %v, %v", whs, err)
	}
	var addr string
	as, _ := e.cat.Addresses(ctx, b.Account)
	for _, a := range as {
		if a.Type == erp.AddressDelivery {
			addr = a.ID
		}
	}
	if ship == "" || addr == "" {
		t.Fatal("test data lacks a second shipping method or a delivery address")
	}
	tomorrow := civil.Today(e.clock.Now().Add(24*time.Hour), time.UTC)
	in := validate.Input{Lines: []validate.Line{lineID(items[0], "3")}, ShippingMethodID: sp(ship),
		WarehouseID: sp(whs[len(whs)-1].ID), DeliveryAddressID: sp(addr), DeliveryDate: &tomorrow}
	// A buyer without a contact in the token sends no contact person.
	b.Contact = ""
	res, err := e.svc.Place(ctx, b, "opts", in)
	if err != nil || res.Order == nil || res.Order.Status != orders.StatusOpen {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	landed := e.ordersWithRef(res.Order.GatewayID)
	if len(landed) != 1 {
		t.Fatalf("orders in Exact = %d", len(landed))
	}
	r := landed[0]
	got := map[string]any{"ShippingMethod": r["ShippingMethod"], "WarehouseID": r["WarehouseID"], "DeliveryAddress": r["DeliveryAddress"],
		"Remarks": r["Remarks"], "HasContact": r["OrderedByContactPerson"] != nil && r["OrderedByContactPerson"] != ""}
	want := map[string]any{"ShippingMethod": ship, "WarehouseID": whs[len(whs)-1].ID, "DeliveryAddress": addr,
		"Remarks": "exactql-ref: " + res.Order.GatewayID, "HasContact": false}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b string) bool { return strings.EqualFold(a, b) })); diff != "" {
		t.Errorf("order in Exact (-want +got):\n%s", diff)
	}
	if res.Order.DeliveryDate == nil || *res.Order.DeliveryDate != tomorrow {
		t.Errorf("deliveryDate = %v; want %s", res.Order.DeliveryDate, tomorrow)
	}
}
