package orders_test

import (
	"context"
	"errors"
	"strings"
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

// findItem returns the first item (by code) matching keep.
func findItem(t *testing.T, e *env, f erp.Filter, keep func(erp.Item) bool) erp.Item {
	t.Helper()
	for it, err := range e.client.Items.List(context.Background(), erp.Query{Filter: f, OrderBy: []string{"Code"}}) {
		if err != nil {
			t.Fatalf("Items.List: %v", err)
		}
		if keep(*it) {
			return *it
		}
	}
	t.Fatalf("no such item")
	return erp.Item{}
}

func TestPlaceValidationErrorsSendAndRecordNothing(t *testing.T) {
	e := newEnv(t, func(o *orders.Options) { o.MaxLines = 3 })
	ctx := t.Context()
	b := e.buyer(gen.RuleCustomerPrice)
	today := civil.Today(e.clock.Now(), time.UTC)
	whole := e.sellableItems(b, 1, false)[0]
	notForSale := findItem(t, e, erp.Eq("IsSalesItem", erp.Bool(false)), func(erp.Item) bool { return true })
	addrs, err := e.cat.Addresses(ctx, b.Account)
	if err != nil {
		t.Fatal(err)
	}
	var visit string
	for _, a := range addrs {
		if a.Type != erp.AddressDelivery {
			visit = a.ID
			break
		}
	}
	if visit == "" {
		t.Fatal("buyer has no non-delivery address")
	}
	otherBuyer := e.buyer(gen.RuleDefaultPrice)
	otherAddr := mainDelivery(t, e, otherBuyer.Account)
	yesterday := civil.Today(e.clock.Now().Add(-24*time.Hour), time.UTC)
	unknownID := "0f0f0f0f-0000-4000-8000-00000000abcd"
	ok := lineID(whole, "1")
	lines := func(ls ...validate.Line) []validate.Line { return ls }
	withNotes := ok
	withNotes.Notes = sp(strings.Repeat("n", 1001))

	tests := []struct {
		name string
		in   validate.Input
		want []validate.UserError
	}{
		{"empty order", validate.Input{}, []validate.UserError{{Field: []string{"lines"}, Code: validate.CodeEmptyOrder}}},
		{"too many lines", validate.Input{Lines: lines(ok, ok, ok, ok)}, []validate.UserError{{Field: []string{"lines"}, Code: validate.CodeTooManyLines}}},
		{"zero quantity", validate.Input{Lines: lines(ok, lineID(whole, "0"))}, []validate.UserError{{Field: []string{"lines", "1", "quantity"}, Code: validate.CodeInvalidQuantity}}},
		{"negative quantity", validate.Input{Lines: lines(lineID(whole, "-2"))}, []validate.UserError{{Field: []string{"lines", "0", "quantity"}, Code: validate.CodeInvalidQuantity}}},
		{"fraction", validate.Input{Lines: lines(lineCode(whole, "1.5"))}, []validate.UserError{{Field: []string{"lines", "0", "quantity"}, Code: validate.CodeFractionNotAllowed}}},
		{"neither product", validate.Input{Lines: lines(validate.Line{Quantity: dec("1")})}, []validate.UserError{{Field: []string{"lines", "0"}, Code: validate.CodeInvalidProductReference}}},
		{"both products", validate.Input{Lines: lines(validate.Line{ProductID: sp(whole.ID), ProductCode: sp(whole.Code), Quantity: dec("1")})}, []validate.UserError{{Field: []string{"lines", "0"}, Code: validate.CodeInvalidProductReference}}},
		{"unknown product id", validate.Input{Lines: lines(ok, validate.Line{ProductID: sp(unknownID), Quantity: dec("1")})}, []validate.UserError{{Field: []string{"lines", "1", "productId"}, Code: validate.CodeUnknownProduct}}},
		{"unknown product code", validate.Input{Lines: lines(validate.Line{ProductCode: sp("NO-SUCH-CODE"), Quantity: dec("1")})}, []validate.UserError{{Field: []string{"lines", "0", "productCode"}, Code: validate.CodeUnknownProduct}}},
		{"not sellable", validate.Input{Lines: lines(lineID(notForSale, "1"))}, []validate.UserError{{Field: []string{"lines", "0", "productId"}, Code: validate.CodeProductNotSaleable}}},
		{"visit address", validate.Input{Lines: lines(ok), DeliveryAddressID: sp(visit)}, []validate.UserError{{Field: []string{"deliveryAddressId"}, Code: validate.CodeInvalidDeliveryAddress}}},
		{"another buyer's address", validate.Input{Lines: lines(ok), DeliveryAddressID: sp(otherAddr)}, []validate.UserError{{Field: []string{"deliveryAddressId"}, Code: validate.CodeInvalidDeliveryAddress}}},
		{"unknown shipping method", validate.Input{Lines: lines(ok), ShippingMethodID: sp(unknownID)}, []validate.UserError{{Field: []string{"shippingMethodId"}, Code: validate.CodeInvalidShippingMethod}}},
		{"unknown warehouse", validate.Input{Lines: lines(ok), WarehouseID: sp(unknownID)}, []validate.UserError{{Field: []string{"warehouseId"}, Code: validate.CodeInvalidWarehouse}}},
		{"delivery date yesterday", validate.Input{Lines: lines(ok), DeliveryDate: &yesterday}, []validate.UserError{{Field: []string{"deliveryDate"}, Code: validate.CodeInvalidDeliveryDate}}},
		{"yourReference too long", validate.Input{Lines: lines(ok), YourReference: sp(strings.Repeat("r", 31))}, []validate.UserError{{Field: []string{"yourReference"}, Code: validate.CodeTextTooLong}}},
		{"description too long", validate.Input{Lines: lines(ok), Description: sp(strings.Repeat("d", 61))}, []validate.UserError{{Field: []string{"description"}, Code: validate.CodeTextTooLong}}},
		{"remarks too long", validate.Input{Lines: lines(ok), Remarks: sp(strings.Repeat("é", 1001))}, []validate.UserError{{Field: []string{"remarks"}, Code: validate.CodeTextTooLong}}},
		{"notes too long", validate.Input{Lines: lines(ok, withNotes)}, []validate.UserError{{Field: []string{"lines", "1", "notes"}, Code: validate.CodeTextTooLong}}},
		{"several at once", validate.Input{Lines: lines(lineID(whole, "0"), validate.Line{Quantity: dec("1")}), DeliveryDate: &yesterday},
			[]validate.UserError{
				{Field: []string{"deliveryDate"}, Code: validate.CodeInvalidDeliveryDate},
				{Field: []string{"lines", "0", "quantity"}, Code: validate.CodeInvalidQuantity},
				{Field: []string{"lines", "1"}, Code: validate.CodeInvalidProductReference},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "key-" + tc.name
			res, err := e.svc.Place(ctx, b, key, tc.in)
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if res.Order != nil {
				t.Errorf("order = %+v; want none", res.Order)
			}
			if diff := cmp.Diff(tc.want, res.UserErrors, cmpopts.IgnoreFields(validate.UserError{}, "Message")); diff != "" {
				t.Errorf("user errors (-want +got):\n%s", diff)
			}
			for _, ue := range res.UserErrors {
				if ue.Message == "" {
					t.Errorf("user error %s has no message", ue.Code)
				}
			}
			if _, err := e.st.ByKey(ctx, strings.ToLower(b.Account), key); !errors.Is(err, orders.ErrNoRecord) {
				t.Errorf("journal has a record for the key (%v); want none", err)
			}
		})
	}
	if got := e.posts(); got != 0 {
		t.Errorf("POSTs = %d; want 0", got)
	}
	if st := e.svc.Stats(); st.Outcomes[orders.OutcomeInvalid] != int64(len(tests)) || st.Pending != 0 {
		t.Errorf("Stats = %+v", st)
	}
	// A key used with an invalid input is free for a valid one.
	res, err := e.svc.Place(ctx, b, "key-zero quantity", validate.Input{Lines: lines(ok), DeliveryDate: &today})
	if err != nil || res.Order == nil || res.Order.Status != orders.StatusOpen {
		t.Fatalf("Place with a valid input = %+v, %v", res, err)
	}
	if got := e.posts(); got != 1 {
		t.Errorf("POSTs = %d; want 1", got)
	}
}

func TestPlacePriceUnavailable(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleOtherCurrency)
	acct, err := e.cat.Account(ctx, b.Account)
	if err != nil {
		t.Fatal(err)
	}
	today := civil.Today(e.clock.Now(), time.UTC)
	pc := pricing.Context{Today: today, DivisionCurrency: "EUR"}
	it := findItem(t, e, erp.Eq("IsSalesItem", erp.Bool(true)), func(it erp.Item) bool {
		if !validate.Sellable(it, today, false) {
			return false
		}
		d, err := e.cat.OrderPrices(ctx, acct, []erp.Item{it})
		if err != nil {
			t.Fatal(err)
		}
		_, ok := pricing.Resolve(pc, pricing.TermsFromAccount(*acct, "EUR"), d[0], decimal.NewFromInt(1))
		return !ok
	})
	res, err := e.svc.Place(ctx, b, "k", validate.Input{Lines: []validate.Line{lineID(it, "1")}})
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	want := []validate.UserError{{Field: []string{"lines", "0", "productId"}, Code: validate.CodePriceUnavailable}}
	if diff := cmp.Diff(want, res.UserErrors, cmpopts.IgnoreFields(validate.UserError{}, "Message")); diff != "" {
		t.Errorf("user errors (-want +got):\n%s", diff)
	}
	if got := e.posts(); got != 0 {
		t.Errorf("POSTs = %d; want 0", got)
	}
}

func TestPlaceUpstreamUnavailableRecordsNothing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	b := e.buyer(gen.RuleDefaultPrice)
	items := e.sellableItems(b, 1, false)
	e.sb.Faults().SetMaintenance(true) // addresses were never cached
	_, err := e.svc.Place(ctx, b, "k", validate.Input{Lines: []validate.Line{lineID(items[0], "1")}})
	var ue *orders.UnavailableError
	if !errors.As(err, &ue) || !erp.IsTransient(err) {
		t.Fatalf("Place = %v; want an *UnavailableError wrapping a transient erp error", err)
	}
	if _, err := e.st.ByKey(ctx, strings.ToLower(b.Account), "k"); !errors.Is(err, orders.ErrNoRecord) {
		t.Errorf("journal has a record (%v); want none", err)
	}
	if got := e.posts(); got != 0 {
		t.Errorf("POSTs = %d; want 0", got)
	}
}
