package index

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders/validate"
)

func TestSellability(t *testing.T) {
	base := item(1, "A", "a")
	with := func(f func(*erp.Item)) erp.Item { it := base; f(&it); return it }
	for _, tc := range []struct {
		name        string
		it          erp.Item
		webshopOnly bool
		want        bool
	}{
		{"sales item, open window", base, false, true},
		{"not a sales item", with(func(i *erp.Item) { i.IsSalesItem = false }), false, false},
		{"starts today", with(func(i *erp.Item) { i.StartDate = todayT }), false, true},
		{"starts tomorrow", with(func(i *erp.Item) { i.StartDate = day(2026, time.November, 29) }), false, false},
		{"ends today", with(func(i *erp.Item) { i.EndDate = todayT }), false, true},
		{"ended yesterday", with(func(i *erp.Item) { i.EndDate = day(2026, time.November, 27) }), false, false},
		// A date-only field is the calendar date of its instant in UTC.
		{"ends late on today UTC", with(func(i *erp.Item) {
			i.EndDate = erp.NewTime(time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC))
		}), false, true},
		{"webshop only, not a webshop item", base, true, false},
		{"webshop only, webshop item", with(func(i *erp.Item) { i.IsWebshopItem = true }), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := New(Config{Shop: validate.Shop{WebshopOnly: tc.webshopOnly}})
			mustApply(t, x, Batch{Items: []erp.Item{tc.it}})
			s := x.Snapshot()
			if got := s.Sellable(tc.it.ID, today); got != tc.want {
				t.Errorf("Sellable = %v, want %v", got, tc.want)
			}
			_, byID := s.Product(tc.it.ID, today)
			_, byCode := s.ProductByCode(tc.it.Code, today)
			p, err := s.Products(Query{First: 10, Today: today})
			if err != nil {
				t.Fatal(err)
			}
			if byID != tc.want || byCode != tc.want || (p.TotalCount == 1) != tc.want {
				t.Errorf("Product %v, ProductByCode %v, listed %d; want sellable=%v", byID, byCode, p.TotalCount, tc.want)
			}
			if _, ok := s.Item(tc.it.ID); !ok {
				t.Error("Item must find an item whether sellable or not")
			}
		})
	}
}

func TestLookups(t *testing.T) {
	x := New(Config{})
	a := item(1, "  AB-100 ", "Bolt")
	a.Barcode = "8712345000017"
	b := item(2, "ab-200", "Nut")
	b.Barcode = "8712345000017" // a shared barcode finds both
	c := item(3, "Ç-1", "Washer")
	c.ItemGroup = gid(2, 2)
	mustApply(t, x, Batch{
		Items:      []erp.Item{a, b, c},
		ItemGroups: []erp.ItemGroup{{ID: gid(2, 2), Code: "G2"}, {ID: gid(2, 1), Code: "G1"}},
	})
	s := x.Snapshot()
	for _, tc := range []struct {
		code string
		want string
	}{
		{"AB-100", gid(1, 1)}, {" ab-100", gid(1, 1)}, {"AB-200", gid(1, 2)}, {"ç-1", gid(1, 3)}, {"c-1", ""}, {"AB", ""},
	} {
		it, ok := s.ProductByCode(tc.code, today)
		if got := map[bool]string{true: it.ID}[ok]; got != tc.want {
			t.Errorf("ProductByCode(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
	if got := codes(s.ProductsByBarcode(" 8712345000017", today)); !cmp.Equal(got, []string{"AB-100", "ab-200"}) {
		t.Errorf("ProductsByBarcode = %v", got)
	}
	if it, ok := s.Product(gid(1, 3), today); !ok || it.ItemGroup != gid(2, 2) {
		t.Errorf("Product by upper/lower ID = %+v %v", it, ok)
	}
	g2 := gid(2, 2)
	p, err := s.Products(Query{ItemGroup: g2, First: 10, Today: today})
	if err != nil || !cmp.Equal(codes(p.Items), []string{"Ç-1"}) {
		t.Errorf("group listing = %v, %v", codes(p.Items), err)
	}
	if got := s.ItemGroups(); len(got) != 2 || got[0].Code != "G1" {
		t.Errorf("ItemGroups = %+v", got)
	}
	if p, _ := s.Products(Query{ItemGroup: gid(2, 77), First: 10, Today: today}); p.TotalCount != 0 || len(p.Items) != 0 {
		t.Errorf("unknown group lists %v", codes(p.Items))
	}
}

func TestShippingMethodsAndPriceLists(t *testing.T) {
	x := New(Config{})
	mustApply(t, x, Batch{
		ShippingMethods: []erp.ShippingMethod{{ID: gid(8, 2), Code: "B", Active: true}, {ID: gid(8, 1), Code: "A", Active: true},
			{ID: gid(8, 3), Code: "C"}},
		PriceLists: []erp.SalesPriceList{{ID: gid(3, 1), Code: "PL"}},
	})
	s := x.Snapshot()
	ms := s.ShippingMethods()
	if len(ms) != 2 || ms[0].Code != "A" || ms[1].Code != "B" {
		t.Errorf("ShippingMethods = %+v", ms)
	}
	if _, ok := s.ShippingMethod(gid(8, 3)); !ok {
		t.Error("an inactive method is still found by ID (an account may default to it)")
	}
	if pl, ok := s.PriceList(gid(3, 1)); !ok || pl.Code != "PL" {
		t.Errorf("PriceList = %+v %v", pl, ok)
	}
}
