package orders_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
)

// recExact records every order body the service POSTs and may rewrite it
// first (to play an older gateway version).
type recExact struct {
	orders.Exact
	rewrite func(*erp.NewSalesOrder)

	mu   sync.Mutex
	sent []erp.NewSalesOrder
}

func (r *recExact) CreateOrder(ctx context.Context, o *erp.NewSalesOrder) (*erp.SalesOrder, error) {
	if r.rewrite != nil {
		r.rewrite(o)
	}
	r.mu.Lock()
	r.sent = append(r.sent, *o)
	r.mu.Unlock()
	return r.Exact.CreateOrder(ctx, o)
}

// withService replaces e.svc with one over the same store and catalog
// whose Exact is wrapped (and whose options mod adjusts).
func (e *env) withService(rec *recExact, mod func(*orders.Options)) {
	o := e.opts
	rec.Exact = orders.NewExactIn(e.client, o.Location)
	o.Journal, o.Exact, o.Catalog = e.st, rec, e.cat
	if mod != nil {
		mod(&o)
	}
	e.svc = orders.NewService(o)
}

func TestPlaceSendsCurrencyDiscountZeroAndReferenceFirst(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	rec := &recExact{}
	e.withService(rec, nil)
	b := e.buyer(gen.RulePriceList)
	items := e.sellableItems(b, 2, false)
	in := validate.Input{
		Lines: []validate.Line{lineID(items[0], "3"), lineCode(items[1], "1")},
		// Control characters are stripped (the choice documented in
		// ordering): none of NUL, ESC, bidi overrides reach Exact, and
		// CR/LF only survive in remarks and notes.
		YourReference: sp("PO\x00-1\r\n2"), Description: sp("Week\x1b[2J order"),
		Remarks: sp("Back door\r\nring twice\u202e"),
	}
	in.Lines[0].Notes = sp("wrap\x00 it\nplease")
	res, err := e.svc.Place(ctx, b, "k1", in)
	if err != nil || res.Order == nil || res.Order.Status != orders.StatusOpen {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	if len(rec.sent) != 1 {
		t.Fatalf("%d POSTs recorded", len(rec.sent))
	}
	sent := rec.sent[0]
	acct, _ := e.cat.Account(ctx, b.Account)
	wantCur := strings.TrimSpace(acct.SalesCurrency)
	if wantCur == "" {
		wantCur = "EUR"
	}
	if sent.Currency != wantCur || res.Order.Currency != wantCur {
		t.Errorf("Currency sent %q, order shows %q; want the quoted %q", sent.Currency, res.Order.Currency, wantCur)
	}
	for i, l := range sent.SalesOrderLines {
		raw, _ := json.Marshal(l)
		if !strings.Contains(string(raw), `"Discount":0`) || !l.Discount.IsZero() {
			t.Errorf("line %d sent as %s; want Discount 0 next to UnitPrice", i, raw)
		}
	}
	wantRemarks := orders.RefPrefix + res.Order.GatewayID + "\nBack door\nring twice"
	if sent.Remarks != wantRemarks {
		t.Errorf("Remarks sent %q; want %q", sent.Remarks, wantRemarks)
	}
	if sent.YourRef != "PO-1 2" || sent.Description != "Week[2J order" || sent.SalesOrderLines[0].Notes != "wrap it\nplease" {
		t.Errorf("texts sent: yourRef %q description %q notes %q", sent.YourRef, sent.Description, sent.SalesOrderLines[0].Notes)
	}
	landed := e.ordersWithRef(res.Order.GatewayID)
	if len(landed) != 1 || landed[0]["Currency"] != wantCur {
		t.Errorf("order in Exact: %v", landed)
	}
}

func TestWorkerMatchesBothReferenceForms(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite func(*erp.NewSalesOrder)
	}{
		{"first line (current)", nil},
		{"last line (journaled by an older gateway)", func(o *erp.NewSalesOrder) {
			ref, rest, _ := strings.Cut(o.Remarks, "\n")
			o.Remarks = rest + "\n" + ref
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := t.Context()
			rec := &recExact{rewrite: tc.rewrite}
			e.withService(rec, nil)
			b := e.buyer(gen.RuleDefaultPrice)
			items := e.sellableItems(b, 1, false)
			e.sb.Faults().DropConnectionAfterNextPost()
			res, err := e.svc.Place(ctx, b, "k", validate.Input{Lines: []validate.Line{lineID(items[0], "2")}, Remarks: sp("Call first")})
			if err != nil || res.Order == nil || res.Order.Status != orders.StatusPending {
				t.Fatalf("Place = %+v, %v", res, err)
			}
			gid := res.Order.GatewayID
			if tc.rewrite != nil && !strings.HasSuffix(rec.sent[0].Remarks, orders.RefPrefix+gid) {
				t.Fatalf("old form not sent: %q", rec.sent[0].Remarks)
			}
			e.sb.ResetCalls()
			e.clock.Advance(time.Minute)
			if n, err := e.svc.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("RunOnce = %d, %v", n, err)
			}
			if got := e.posts(); got != 0 {
				t.Errorf("worker POSTed %d times; it must find the landed order by its reference", got)
			}
			o, err := e.svc.Get(ctx, b, gid)
			if err != nil || o.Status != orders.StatusOpen {
				t.Fatalf("Get = %+v, %v; want OPEN", o, err)
			}
			// The search's datetime literal is the division's wall clock
			// (Amsterdam) a day before the first attempt, not UTC.
			from := t0.Add(-24 * time.Hour).In(amsterdam).Format("2006-01-02T15:04:05")
			found := false
			for _, c := range e.sb.Calls() {
				if c.Endpoint == "salesorder/SalesOrders" && strings.Contains(c.Query, "datetime'"+from+"'") {
					found = true
				}
			}
			if !found {
				t.Errorf("no search with Created ge datetime'%s' (Amsterdam wall clock) in %+v", from, e.sb.Calls())
			}
		})
	}
}

func TestPriceMismatchIsLoggedCountedAndExactFiguresKept(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	e := newEnv(t, func(o *orders.Options) {
		o.Logger = zerolog.New(zerolog.SyncWriter(&lockedWriter{mu: &logMu, w: &logs}))
	})
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	items := e.sellableItems(b, 2, false)
	// Exact re-prices the first item 10% down on top of the price sent.
	code0 := erp.Code(items[0].Code)
	e.sb.SetNetPriceHook(func(code string, unit decimal.Decimal) decimal.Decimal {
		if code == code0 {
			return unit.Mul(decimal.RequireFromString("0.9"))
		}
		return unit
	})
	res, err := e.svc.Place(ctx, b, "k", validate.Input{Lines: []validate.Line{lineID(items[0], "10"), lineID(items[1], "2")}})
	if err != nil || res.Order == nil || res.Order.Status != orders.StatusOpen {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	want := expectedLines(t, e, b, items, []string{"10", "2"})
	net := pricing.Round2(want[0].UnitPrice.Mul(decimal.RequireFromString("0.9")))
	if net.Equal(want[0].UnitPrice) {
		t.Fatalf("test item's price %s too small to re-price", want[0].UnitPrice)
	}
	o := res.Order
	// Exact's figures: the re-priced net price and amount on line 1.
	if !o.Lines[0].UnitPrice.Equal(net) || !o.Lines[0].Amount.Equal(pricing.LineAmount(net, dec("10"))) {
		t.Errorf("line 1 = %s × 10 = %s; want Exact's %s", o.Lines[0].UnitPrice, o.Lines[0].Amount, net)
	}
	if !o.Lines[1].UnitPrice.Equal(want[1].UnitPrice) {
		t.Errorf("line 2 unit price %s; want %s", o.Lines[1].UnitPrice, want[1].UnitPrice)
	}
	wantAmount := pricing.LineAmount(net, dec("10")).Add(want[1].Amount)
	if !o.Amount.Equal(wantAmount) {
		t.Errorf("amount %s; want Exact's %s", o.Amount, wantAmount)
	}
	if got := e.svc.Stats().PriceMismatches; got != 1 {
		t.Errorf("PriceMismatches = %d; want 1", got)
	}
	if got := e.svc.PriceMismatches(); got != 1 {
		t.Errorf("PriceMismatches() = %d; want 1", got)
	}
	logMu.Lock()
	text := logs.String()
	logMu.Unlock()
	if !strings.Contains(text, `"level":"warn"`) || !strings.Contains(text, "priced an order line differently") ||
		!strings.Contains(text, `"sent_price":"`+want[0].UnitPrice.String()+`"`) {
		t.Errorf("no price-mismatch warning in the log:\n%s", text)
	}
	// Read back from Exact: the same figures.
	got, err := e.svc.Get(ctx, b, o.ExactID)
	if err != nil || !got.Lines[0].UnitPrice.Equal(net) || !got.Amount.Equal(wantAmount) {
		t.Errorf("Get = %+v, %v", got, err)
	}
	// Without re-pricing nothing more is counted.
	e.sb.SetNetPriceHook(nil)
	if _, err := e.svc.Place(ctx, b, "k2", validate.Input{Lines: []validate.Line{lineID(items[0], "1")}}); err != nil {
		t.Fatal(err)
	}
	if got := e.svc.Stats().PriceMismatches; got != 1 {
		t.Errorf("PriceMismatches after a correctly priced order = %d; want 1", got)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestOrderAmountExcludesVATAndCreatedIsWallClock(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	items := e.sellableItems(b, 1, false)
	// A pending order shows the sum of its line amounts. (Addresses are
	// read first, so the fault hits the POST.)
	if _, err := e.cat.Addresses(ctx, b.Account); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Items(ctx, []string{items[0].ID}); err != nil {
		t.Fatal(err)
	}
	e.sb.Faults().FailNext(1, 503)
	pend, err := e.svc.Place(ctx, b, "p", validate.Input{Lines: []validate.Line{lineID(items[0], "3")}})
	if err != nil || pend.Order.Status != orders.StatusPending {
		t.Fatalf("Place = %+v, %v", pend, err)
	}
	if want := expectedLines(t, e, b, items, []string{"3"}); !pend.Order.Amount.Equal(sum(want)) {
		t.Errorf("pending amount %s; want the line sum %s", pend.Order.Amount, sum(want))
	}

	// Orders entered in Exact (the generated history): amount is
	// AmountFCExclVat, never AmountFC (which includes VAT); Created is the
	// division's wall clock.
	exact := map[string]map[string]any{}
	for _, r := range e.sb.Orders() {
		if r["OrderedBy"] == strings.ToLower(b.Account) {
			exact[r["OrderID"].(string)] = r
		}
	}
	page, err := e.svc.List(ctx, b, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, o := range page.Orders {
		r, ok := exact[o.ExactID]
		if !ok {
			continue
		}
		checked++
		excl := decimal.NewFromFloat(r["AmountFCExclVat"].(float64))
		incl := decimal.NewFromFloat(r["AmountFC"].(float64))
		if !o.Amount.Equal(excl) || incl.Equal(excl) {
			t.Errorf("order %d amount %s; want AmountFCExclVat %s (AmountFC %s)", o.OrderNumber, o.Amount, excl, incl)
		}
		w := r["Created"].(time.Time)
		wantCreated := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), amsterdam)
		if !o.Created.Equal(wantCreated) {
			t.Errorf("order %d Created %s; want %s (wall clock %s in Amsterdam)", o.OrderNumber, o.Created, wantCreated, w.Format(time.DateTime))
		}
	}
	if checked == 0 {
		t.Fatal("the buyer has no orders entered in Exact to check")
	}
}

func TestOrdersCursorIsSignedAndValidated(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	e := newEnv(t, func(o *orders.Options) { o.CursorKey = key })
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	other := e.buyer(gen.RuleDefaultPrice)
	page, err := e.svc.List(ctx, b, 1, "")
	if err != nil || len(page.Cursors) != 1 || !page.HasNextPage {
		t.Fatalf("List = %+v, %v", page, err)
	}
	good := page.Cursors[0]
	if next, err := e.svc.List(ctx, b, 2, good); err != nil || len(next.Orders) == 0 || next.Orders[0].ID == page.Orders[0].ID {
		t.Fatalf("List(after a good cursor) = %+v, %v", next, err)
	}
	if _, err := e.svc.List(ctx, b, 2, good); err != nil {
		t.Fatalf("List(after a good cursor): %v", err)
	}
	payload, _, _ := strings.Cut(good, ".")
	// A cursor validly signed with the key but carrying an absurd time
	// (only someone holding the key could make it): still refused.
	signed := func(t int64, id string) string {
		return orders.SignCursorForTest(key, b.Account, t, id)
	}
	flip := []byte(good)
	flip[3] ^= 1
	forged := []string{
		"eyJ0IjoyNTM0MDIzMDA4MDAwMDAsImkiOiJ4In0", // unsigned JSON of the old format
		payload,                             // signature removed
		payload + ".AAAAAAAAAAAAAAAAAAAAAA", // wrong signature
		string(flip),                        // tampered payload
		good + "x",                          // tampered signature
		strings.Repeat("A", 5000) + "." + strings.Repeat("B", 22),       // oversized
		signed(253402300800000, "3f2b8c1e-1111-4222-8333-444455556666"), // year 10000
		signed(-62135596800000, "3f2b8c1e-1111-4222-8333-444455556666"), // year 1
		signed(t0.UnixMilli(), "not-a-guid"),
		signed(t0.UnixMilli(), "3F2B8C1E-1111-4222-8333-444455556666"), // upper case: not ours
	}
	e.sb.ResetCalls()
	for _, c := range forged {
		if _, err := e.svc.List(ctx, b, 2, c); !errors.Is(err, orders.ErrInvalidCursor) {
			t.Errorf("List(after %.60q) = %v; want ErrInvalidCursor", c, err)
		}
	}
	// Another buyer cannot use this buyer's cursor.
	if _, err := e.svc.List(ctx, other, 2, good); !errors.Is(err, orders.ErrInvalidCursor) {
		t.Errorf("another buyer's cursor: %v", err)
	}
	if n := e.sb.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI }); n != 0 {
		t.Errorf("forged cursors cost %d Exact calls; want 0", n)
	}
	// Signed with the same key, a cursor survives a restart.
	e.restart()
	e.svc = orders.NewService(func() orders.Options {
		o := e.opts
		o.Journal, o.Exact, o.Catalog, o.CursorKey = e.st, orders.NewExactIn(e.client, o.Location), e.cat, key
		return o
	}())
	if _, err := e.svc.List(ctx, b, 2, good); err != nil {
		t.Errorf("cursor after restart: %v", err)
	}
}

func TestAttemptsPerBuyerAndMinuteAreLimited(t *testing.T) {
	e := newEnv(t, nil)
	lim := orders.NewAttemptLimiter(3, e.clock.Now)
	e.withService(&recExact{}, func(o *orders.Options) { o.Attempts = lim })
	ctx := t.Context()
	a, other := e.buyer(gen.RuleCustomerPrice), e.buyer(gen.RuleDefaultPrice)
	items := e.sellableItems(a, 1, false)
	in := validate.Input{Lines: []validate.Line{lineID(items[0], "1")}}
	for i := range 3 {
		if _, err := e.svc.Place(ctx, a, keyf("k%d", i), in); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	// A replay of a recorded key costs no Exact call and is not limited.
	if res, err := e.svc.Place(ctx, a, "k0", in); err != nil || res.Order == nil {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	e.sb.ResetCalls()
	_, err := e.svc.Place(ctx, a, "k3", in)
	var ta *orders.TooManyAttemptsError
	if !errors.As(err, &ta) || ta.RetryAfter <= 0 || ta.RetryAfter > time.Minute {
		t.Fatalf("4th attempt: %v; want TooManyAttemptsError", err)
	}
	if n := e.sb.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI }); n != 0 {
		t.Errorf("a refused attempt cost %d Exact calls", n)
	}
	if _, err := e.svc.Place(ctx, other, "k3", in); err != nil {
		t.Errorf("another buyer was limited too: %v", err)
	}
	if got := lim.Refused(); got != 1 {
		t.Errorf("Refused = %d; want 1", got)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Place(ctx, a, "k3", in); err != nil {
		t.Errorf("next minute: %v", err)
	}
}

// countingCatalog counts the product references looked up.
type countingCatalog struct {
	orders.Catalog
	mu    sync.Mutex
	codes int
}

func (c *countingCatalog) ItemsByCode(ctx context.Context, codes []string) ([]*erp.Item, error) {
	c.mu.Lock()
	c.codes += len(codes)
	c.mu.Unlock()
	return c.Catalog.ItemsByCode(ctx, codes)
}

func TestUnknownReferencesStopTheLookups(t *testing.T) {
	e := newEnv(t, func(o *orders.Options) { o.MaxLines = 200 })
	cc := &countingCatalog{Catalog: e.cat}
	e.withService(&recExact{}, func(o *orders.Options) { o.Catalog = cc })
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	var in validate.Input
	for i := range 200 {
		in.Lines = append(in.Lines, validate.Line{ProductCode: sp(keyf("NOPE-%03d", i)), Quantity: dec("1")})
	}
	res, err := e.svc.Place(ctx, b, "flood", in)
	if err != nil || res.Order != nil || len(res.UserErrors) != 1 || res.UserErrors[0].Code != validate.CodeUnknownProduct {
		t.Fatalf("Place = %+v, %v; want one UNKNOWN_PRODUCT", res, err)
	}
	if cc.codes > 25 {
		t.Errorf("%d codes looked up; want at most one chunk of 25", cc.codes)
	}
	if e.posts() != 0 {
		t.Error("an order was sent")
	}
	// A code with control characters is not looked up at all.
	before := cc.codes
	res, err = e.svc.Place(ctx, b, "ctl", validate.Input{Lines: []validate.Line{{ProductCode: sp("A\x00B"), Quantity: dec("1")}}})
	if err != nil || len(res.UserErrors) != 1 || res.UserErrors[0].Code != validate.CodeUnknownProduct || cc.codes != before {
		t.Errorf("Place(code with NUL) = %+v, %v after %d lookups", res, err, cc.codes-before)
	}
	// Up to the limit unknown references are each reported on their line.
	few := validate.Input{Lines: in.Lines[:3]}
	res, err = e.svc.Place(ctx, b, "few", few)
	if err != nil || len(res.UserErrors) != 3 || res.UserErrors[2].Code != validate.CodeUnknownProduct ||
		strings.Join(res.UserErrors[2].Field, ".") != "lines.2.productCode" {
		t.Errorf("Place(3 unknown) = %+v, %v", res, err)
	}
}

func TestQuantityAndAmountLimitsSendNothing(t *testing.T) {
	e := newEnv(t, func(o *orders.Options) { o.MaxOrderAmount = dec("50") })
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	items := e.sellableItems(b, 1, false)
	for _, tc := range []struct {
		qty, code string
	}{{"100000000000", validate.CodeQuantityTooLarge}, {"100000", validate.CodeOrderTooLarge}} {
		res, err := e.svc.Place(ctx, b, "k-"+tc.qty, validate.Input{Lines: []validate.Line{lineID(items[0], tc.qty)}})
		if err != nil || res.Order != nil || len(res.UserErrors) != 1 || res.UserErrors[0].Code != tc.code {
			t.Errorf("quantity %s: %+v, %v; want %s", tc.qty, res, err, tc.code)
		}
	}
	if e.posts() != 0 {
		t.Errorf("%d orders sent", e.posts())
	}
}

// TestReferenceSurvivesRemarksTruncation: Exact (pessimistically) cuts
// Remarks to 100 characters; the reference on the first line survives, so
// the worker finds an order whose POST answer was lost instead of posting
// it twice.
func TestReferenceSurvivesRemarksTruncation(t *testing.T) {
	e := newEnv(t, nil)
	e.sb.Faults().SetRemarksLimit(sandbox.DefaultRemarksLimit)
	ctx := t.Context()
	b := e.buyer(gen.RuleAccountDiscount)
	items := e.sellableItems(b, 1, false)
	e.sb.Faults().DropConnectionAfterNextPost()
	res, err := e.svc.Place(ctx, b, "long", validate.Input{Lines: []validate.Line{lineID(items[0], "1")},
		Remarks: sp(strings.Repeat("Please deliver between 8 and 10. ", 25))})
	if err != nil || res.Order == nil || res.Order.Status != orders.StatusPending {
		t.Fatalf("Place = %+v, %v", res, err)
	}
	landed := e.ordersWithRef(res.Order.GatewayID)
	if len(landed) != 1 || len([]rune(landed[0]["Remarks"].(string))) > sandbox.DefaultRemarksLimit {
		t.Fatalf("landed %v; want one order with truncated Remarks", landed)
	}
	e.clock.Advance(time.Minute)
	if n, err := e.svc.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("RunOnce = %d, %v", n, err)
	}
	if got := e.posts(); got != 1 {
		t.Errorf("POSTs = %d; want 1", got)
	}
	if o, err := e.svc.Get(ctx, b, res.Order.GatewayID); err != nil || o.Status != orders.StatusOpen {
		t.Errorf("Get = %+v, %v; want OPEN", o, err)
	}
}

// refusingOrders answers every order-history read with Exact's 400.
type refusingOrders struct{ orders.Exact }

func (refusingOrders) Orders(ctx context.Context, account string, before time.Time) iter.Seq2[*erp.SalesOrder, error] {
	return func(yield func(*erp.SalesOrder, error) bool) {
		yield(nil, &erp.Error{StatusCode: 400, Endpoint: "salesorder/SalesOrders", Message: "Error in query syntax"})
	}
}

// TestListExact400AfterCursorIsBadInput: should Exact still refuse a query
// whose only caller-supplied part is the cursor's bound, the caller gets
// BAD_USER_INPUT (ErrInvalidCursor), not UPSTREAM_UNAVAILABLE; without a
// cursor the 400 is the gateway's own and stays an upstream error.
func TestListExact400AfterCursorIsBadInput(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	page, err := e.svc.List(ctx, b, 1, "")
	if err != nil || len(page.Cursors) != 1 {
		t.Fatalf("List = %+v, %v", page, err)
	}
	o := e.opts
	o.Journal, o.Exact, o.Catalog = e.st, refusingOrders{orders.NewExactIn(e.client, o.Location)}, e.cat
	o.CursorKey = []byte("k-0123456789abcdef0123456789abcd")
	e.svc = orders.NewService(o)
	cur := orders.SignCursorForTest(o.CursorKey, b.Account, page.Orders[0].Created.UnixMilli(), page.Orders[0].ID)
	if _, err := e.svc.List(ctx, b, 1, cur); !errors.Is(err, orders.ErrInvalidCursor) {
		t.Errorf("List(after) with Exact answering 400 = %v; want ErrInvalidCursor", err)
	}
	if _, err := e.svc.List(ctx, b, 1, ""); err == nil || errors.Is(err, orders.ErrInvalidCursor) {
		t.Errorf("List without cursor, Exact answering 400 = %v; want an upstream error", err)
	}
}
