package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestEveryReadField reads every field of the read side of the contract
// for several buyers and checks the values hang together.
func TestEveryReadField(t *testing.T) {
	g := startGateway(t, nil)
	const q = `{
  viewer { id code name email phone vatNumber currency discountPercentage paymentCondition
    priceList { id code description } defaultShippingMethod { id code description }
    contacts { id firstName lastName fullName email phone isMain }
    invoiceAddress { id type isMain line1 line2 line3 postcode city country }
    deliveryAddresses { id type isMain line1 postcode city country } }
  itemGroups { id code description }
  warehouses { id code description isMain }
  shippingMethods { id code description }
}`
	type viewer struct {
		Viewer *struct {
			ID, Code, Name, Currency, DiscountPercentage string
			Email, Phone, VatNumber, PaymentCondition    *string
			PriceList                                    *struct{ ID, Code, Description string }
			DefaultShippingMethod                        *struct{ ID, Code, Description string }
			Contacts                                     []struct {
				ID, FullName string
				IsMain       bool
			}
			InvoiceAddress *struct {
				ID, Type string
				IsMain   bool
			}
			DeliveryAddresses []struct {
				ID, Type string
				IsMain   bool
			}
		}
		ItemGroups []struct{ ID, Code, Description string }
		Warehouses []struct {
			ID, Code string
			IsMain   bool
		}
		ShippingMethods []struct{ ID, Code string }
	}
	for _, rule := range []string{gen.RuleCustomerPrice, gen.RulePriceList, gen.RuleAccountDiscount, gen.RuleDefaultPrice} {
		var v viewer
		g.mustQuery(g.token(rule), q, nil, &v)
		if v.Viewer == nil {
			t.Fatalf("%s: viewer is null", rule)
		}
		vw := v.Viewer
		if vw.Code == "" || strings.HasPrefix(vw.Code, " ") || vw.Name == "" || vw.Currency == "" {
			t.Errorf("%s: viewer %+v", rule, *vw)
		}
		if (rule == gen.RulePriceList) != (vw.PriceList != nil) {
			t.Errorf("%s: price list %+v", rule, vw.PriceList)
		}
		if rule == gen.RuleAccountDiscount && vw.DiscountPercentage != "10" {
			t.Errorf("%s: discountPercentage %q, want 10", rule, vw.DiscountPercentage)
		}
		if len(vw.Contacts) == 0 || !vw.Contacts[0].IsMain {
			t.Errorf("%s: contacts %+v (main first)", rule, vw.Contacts)
		}
		if vw.InvoiceAddress == nil || vw.InvoiceAddress.Type != "INVOICE" {
			t.Errorf("%s: invoice address %+v", rule, vw.InvoiceAddress)
		}
		if len(vw.DeliveryAddresses) < 2 || !vw.DeliveryAddresses[0].IsMain {
			t.Errorf("%s: delivery addresses %+v", rule, vw.DeliveryAddresses)
		}
		for _, a := range vw.DeliveryAddresses {
			if a.Type != "DELIVERY" {
				t.Errorf("%s: delivery address of type %s", rule, a.Type)
			}
		}
		if len(v.ItemGroups) == 0 || len(v.Warehouses) != 3 || !v.Warehouses[0].IsMain || len(v.ShippingMethods) == 0 {
			t.Errorf("reference data: %d groups, warehouses %+v, %d shipping methods", len(v.ItemGroups), v.Warehouses, len(v.ShippingMethods))
		}
	}
	var anon viewer
	g.mustQuery("", `{ viewer { id } }`, nil, &anon)
	if anon.Viewer != nil {
		t.Error("anonymous viewer is not null")
	}
}

// TestProductLookupsAndPaging: product(id|code), productsByCode in order with
// nulls, stock per warehouse, price breaks, cursor paging without gaps or
// duplicates, the item-group filter.
func TestProductLookupsAndPaging(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token(gen.RuleCustomerPrice)

	// Walk the whole catalog with cursors.
	seen := map[string]bool{}
	var codes []string
	var after any
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatal("paging does not end")
		}
		var p pageData
		g.mustQuery("", `query($after: String) { products(first: 37, after: $after) { nodes { id code } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after}, &p)
		for _, n := range p.Products.Nodes {
			if seen[n.ID] {
				t.Fatalf("product %s twice", n.Code)
			}
			seen[n.ID] = true
			codes = append(codes, n.Code)
		}
		if !p.Products.PageInfo.HasNextPage {
			break
		}
		after = *p.Products.PageInfo.EndCursor
	}
	for i := 1; i < len(codes); i++ {
		if strings.ToLower(codes[i-1]) > strings.ToLower(codes[i]) {
			t.Errorf("not sorted by code: %q before %q", codes[i-1], codes[i])
		}
	}
	if len(codes) < 250 { // 300 items, a few not sellable
		t.Errorf("catalog has %d sellable products", len(codes))
	}

	var one struct {
		ByCode *struct {
			ID, Code    string
			ItemGroup   *struct{ ID, Code string }
			PictureURL  *string
			PriceBreaks []struct {
				MinimumQuantity string
				UnitPrice       struct{ Amount string }
			}
			Stock []struct {
				Warehouse struct{ ID string }
				OnHand    string
				AsOf      string
			}
			AvailableQuantity string
		}
		ByID    *struct{ Code string }
		Unknown *struct{ Code string }
		Many    []*struct{ Code string }
	}
	q := fmt.Sprintf(`{ byCode: product(code: %q) { id code itemGroup { id code } pictureUrl priceBreaks { minimumQuantity unitPrice { amount } } stock { warehouse { id } onHand asOf } availableQuantity }
  byID: product(id: "00000000-0000-4000-8000-000000000000") { code }
  unknown: product(code: "NO-SUCH-ITEM") { code }
  many: productsByCode(codes: [%q, "NO-SUCH-ITEM", %q]) { code } }`, codes[0], codes[2], codes[1])
	g.mustQuery(tok, q, nil, &one)
	if one.ByCode == nil || one.ByCode.Code != codes[0] || one.ByID != nil || one.Unknown != nil {
		t.Fatalf("lookups: %+v", one)
	}
	if len(one.Many) != 3 || one.Many[0] == nil || one.Many[0].Code != codes[2] || one.Many[1] != nil || one.Many[2] == nil || one.Many[2].Code != codes[1] {
		t.Errorf("productsByCode order/nulls: %+v", one.Many)
	}
	if len(one.ByCode.PriceBreaks) == 0 || one.ByCode.PriceBreaks[0].MinimumQuantity != "1" {
		t.Errorf("price breaks %+v", one.ByCode.PriceBreaks)
	}
	if len(one.ByCode.Stock) != 3 || one.ByCode.Stock[0].AsOf == "" {
		t.Errorf("stock %+v", one.ByCode.Stock)
	}
	var byID struct{ Product *struct{ Code string } }
	g.mustQuery(tok, `query($id: ID) { product(id: $id) { code } }`, map[string]any{"id": one.ByCode.ID}, &byID)
	if byID.Product == nil || byID.Product.Code != codes[0] {
		t.Errorf("product(id) = %+v", byID.Product)
	}
	var wh struct {
		Product struct {
			Stock []struct{ Warehouse struct{ ID string } }
		}
	}
	g.mustQuery(tok, `query($id: ID, $w: ID) { product(id: $id) { stock(warehouse: $w) { warehouse { id } } } }`,
		map[string]any{"id": one.ByCode.ID, "w": one.ByCode.Stock[1].Warehouse.ID}, &wh)
	if len(wh.Product.Stock) != 1 || wh.Product.Stock[0].Warehouse.ID != one.ByCode.Stock[1].Warehouse.ID {
		t.Errorf("stock(warehouse) = %+v", wh.Product.Stock)
	}

	// Item-group filter: every product is of that group.
	if one.ByCode.ItemGroup != nil {
		var p struct {
			Products struct {
				Nodes []struct{ ItemGroup struct{ ID string } }
			}
		}
		g.mustQuery("", `query($g: ID) { products(first: 100, itemGroup: $g) { nodes { itemGroup { id } } } }`, map[string]any{"g": one.ByCode.ItemGroup.ID}, &p)
		if len(p.Products.Nodes) == 0 {
			t.Error("item group filter found nothing")
		}
		for _, n := range p.Products.Nodes {
			if n.ItemGroup.ID != one.ByCode.ItemGroup.ID {
				t.Errorf("item group filter returned group %s", n.ItemGroup.ID)
			}
		}
	}
}

// TestReadInputLimits: the limits of ARCHITECTURE §3 answer BAD_USER_INPUT
// and cost no Exact call.
func TestReadInputLimits(t *testing.T) {
	g := startGateway(t, nil)
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("C%d", i)
	}
	g.st.Sandbox.ResetCalls()
	for name, c := range map[string]struct {
		q    string
		vars map[string]any
	}{
		"first over 100":  {`{ products(first: 101) { nodes { id } } }`, nil},
		"first 0":         {`{ products(first: 0) { nodes { id } } }`, nil},
		"short search":    {`{ products(search: "a") { nodes { id } } }`, nil},
		"bad cursor":      {`{ products(after: "not-a-cursor") { nodes { id } } }`, nil},
		"bad group":       {`{ products(itemGroup: "x") { nodes { id } } }`, nil},
		"101 codes":       {`query($c: [String!]!) { productsByCode(codes: $c) { id } }`, map[string]any{"c": many}},
		"id and code":     {`{ product(id: "x", code: "y") { id } }`, nil},
		"neither":         {`{ product { id } }`, nil},
		"price quantity0": {`{ products(first: 1) { nodes { price(quantity: "0") { unitPrice { amount } } } } }`, nil},
	} {
		r := g.query(g.token(gen.RulePriceList), c.q, c.vars)
		if errorCode(r) != "BAD_USER_INPUT" {
			t.Errorf("%s: got %+v", name, r.Errors)
		}
	}
	// The quantity-0 case reads a page first; everything else costs nothing.
	if n := g.apiCalls(); n > 8 {
		t.Errorf("bad input cost %d Exact calls", n)
	}
	// A cursor of one search replayed on another.
	var p pageData
	g.mustQuery("", pageQuery, map[string]any{"first": 2, "search": "ART"}, &p)
	r := g.query("", pageQuery, map[string]any{"first": 2, "search": "box", "after": *p.Products.PageInfo.EndCursor})
	if errorCode(r) != "BAD_USER_INPUT" {
		t.Errorf("foreign cursor: %+v", r.Errors)
	}
}
