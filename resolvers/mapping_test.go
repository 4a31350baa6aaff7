package resolvers

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// compareGolden compares got, as indented JSON, with testdata/name; with
// -update it writes the file instead.
func compareGolden(t *testing.T, name string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("%s (-want +got), run go test ./resolvers -run %s -update if the change is meant:\n%s", path, t.Name(), diff)
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// productFields is what a Product's plain fields answer (its methods).
func productFields(p *model.Product) map[string]any {
	return map[string]any{"id": p.ID(), "code": p.Code(), "description": p.Description(),
		"extraDescription": p.ExtraDescription(), "barcode": p.Barcode(), "unit": p.Unit(),
		"unitDescription": p.UnitDescription(), "fractionAllowed": p.FractionAllowed(), "itemGroup": p.ItemGroup()}
}

func customerFields(c *model.Customer) map[string]any {
	return map[string]any{"id": c.ID(), "code": c.Code(), "name": c.Name(), "email": c.Email(), "phone": c.Phone(),
		"vatNumber": c.VatNumber(), "currency": c.Currency(), "discountPercentage": c.DiscountPercentage(),
		"paymentCondition": c.PaymentCondition()}
}

// TestMapping pins how every Exact record and order-service result maps to
// its GraphQL model (testdata/mapping.golden.json).
func TestMapping(t *testing.T) {
	t.Parallel()
	const (
		wh1 = "11111111-1111-4111-8111-111111111111"
		wh2 = "22222222-2222-4222-8222-222222222222"
	)
	const idItem = "3F2B8C1E-1111-4222-8333-444455556666"
	until := civil.Date{Year: 2026, Month: time.December, Day: 31}
	at := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	item := erp.Item{ID: "i1", Code: "  ART-1 ", Description: "Bolt M8", ExtraDescription: "zinc", Unit: "pc      ",
		Barcode: " 8712345678906", ItemGroup: "g1", ItemGroupCode: "BOLTS ", ItemGroupDescription: "Bolts", IsFractionAllowedItem: true}
	ws := []erp.Warehouse{{ID: wh1, Code: "MAIN ", Description: "Main", Main: true}, {ID: wh2, Code: "W2", Description: "Second"}}
	stock := live.StockEntry{At: at, Rows: []erp.ItemWarehouse{
		{Warehouse: "11111111-1111-4111-8111-111111111111", CurrentStock: dec("10"), PlannedStockOut: dec("3"), PlannedStockIn: dec("5"), ReservedStock: dec("1")},
		{Warehouse: wh2, CurrentStock: dec("1"), PlannedStockOut: dec("4")},
	}}
	price := pricing.Price{UnitPrice: dec("9.995"), ListPrice: dec("12.5"), DiscountPercentage: dec("20.04"), Quantity: dec("1"),
		Currency: "EUR", Source: pricing.SourcePriceList, ValidUntil: &until}
	order := &orders.Order{ID: "gw-1", ExactID: "ex-1", OrderNumber: 42, Status: orders.StatusOpen, OrderDate: &civil.Date{Year: 2026, Month: time.November, Day: 28},
		YourRef: "PO-1", DeliveryAddressID: "a1", ShippingMethodID: "s1", Currency: "EUR", Amount: dec("30.5"),
		Lines: []orders.Line{{LineNumber: 1, ItemID: "i1", ItemCode: "ART-1", Description: "Bolt M8", Quantity: dec("2.50"),
			UnitPrice: dec("12.2"), Amount: dec("30.5")}},
		IdempotencyKey: "k1", Updated: at, Validated: true,
		DeliveryAddress: &erp.Address{ID: "a1", Type: erp.AddressDelivery, AddressLine1: " Kade 1 ", City: "Utrecht", Country: "NL "},
		ShippingMethod:  &erp.ShippingMethod{ID: "s1", Code: "POST ", Description: "PostNL"}}
	v := &productView{}
	got := map[string]any{
		"address":        addressModel(erp.Address{ID: "a1", Type: erp.AddressInvoice, Main: true, AddressLine1: " Kade 1 ", AddressLine2: "  ", Postcode: "3511 AA", City: "Utrecht", Country: "NL "}),
		"addressUnknown": addressModel(erp.Address{ID: "a2", Type: 99}),
		"contact":        contactModel(erp.Contact{ID: "c1", FirstName: "Anna ", LastName: "de Vries", Email: "anna@example.com"}),
		"customer": customerFields(customerModel(erp.Account{ID: "acc", Code: "            100001", Name: "Acme", DiscountSales: dec("0.125"),
			PaymentConditionSales: "14 "}, "EUR")),
		"priceList":      priceListModel(erp.SalesPriceList{ID: "pl", Code: " PL1 ", Description: "Dealers"}),
		"shippingMethod": shippingMethodByID([]erp.ShippingMethod{{ID: "S1", Code: "POST ", Description: "PostNL"}}, "s1"),
		"shippingNone":   shippingMethodByID(nil, "s1"),
		"itemGroup":      itemGroupModel(erp.ItemGroup{ID: "g1", Code: "BOLTS ", Description: "Bolts"}),
		"product":        productFields(v.product(item)),
		"price":          priceModel(price),
		"priceBreak":     priceBreakModel(pricing.Break{MinimumQuantity: dec("10"), UnitPrice: dec("8.5"), Currency: "EUR"}),
		"stockAll":       stockLevels(ws, stock, ""),
		"stockOne":       stockLevels(ws, stock, wh2),
		"available":      availableOf(stock.Rows),
		"order":          orderModel(order, "acc"),
		"previewLine": previewLineModel(v, validate.ValidLine{Index: 2, Item: item, Quantity: dec("3"), Price: price,
			Amount: dec("29.99")}),
		"userErrors":   userErrors([]validate.UserError{{Field: []string{"lines", "0", "quantity"}, Code: validate.CodeRejectedByERP, Message: "m"}}),
		"pictureUrl":   (&productResolver{New(Deps{})}).imageURL("https://start.exactonline.nl/docs/x.png?id=1", idItem, false),
		"thumbnailUrl": (&productResolver{New(Deps{PublicURL: "https://shop.example/api/"})}).imageURL("https://exact/t.png", idItem, true),
		"noPicture":    (&productResolver{New(Deps{})}).imageURL("", idItem, false),
		"orderInput": orderInput(model.PlaceOrderInput{IdempotencyKey: "k", DeliveryDate: &model.Date{Year: 2026, Month: time.December, Day: 1},
			Lines: []*model.OrderLineInput{nil, {ProductCode: strPtr("ART-1"), Quantity: model.NewDecimal(dec("2"))}}}),
	}
	// Pointers inside models (KnownItem, Product's viewer) are not data.
	if p, ok := got["previewLine"].(*model.OrderPreviewLine); ok {
		got["previewLine"] = map[string]any{"line": p, "product": productFields(p.Product)}
		p.Product = nil
	}
	compareGolden(t, "mapping.golden.json", got)
}

func TestDateModel(t *testing.T) {
	t.Parallel()
	if dateModel(nil) != nil || dateModel(&civil.Date{}) != nil {
		t.Error("a missing or zero date must map to null")
	}
	var buf bytes.Buffer
	dateModel(&civil.Date{Year: 2026, Month: time.March, Day: 1}).MarshalGQL(&buf)
	if buf.String() != `"2026-03-01"` {
		t.Errorf("date = %s", buf.String())
	}
}
