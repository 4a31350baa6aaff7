package index

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/exactql/exactql/erp"
)

func TestApplyRefusesBadRowsAndChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    Batch
		kind Kind
	}{
		{"item without ID", Batch{Items: []erp.Item{item(2, "B", "b"), {Code: "X"}}}, KindItem},
		{"price without item", Batch{ItemPrices: []erp.SalesItemPrice{{ID: gid(9, 1)}}}, KindItemPrice},
		{"period without list", Batch{Periods: []erp.SalesPriceListPeriod{{ID: gid(9, 1)}}}, KindPriceListPeriod},
		{"discount without period", Batch{VolumeDiscounts: []erp.SalesPriceListVolumeDiscount{{ID: gid(9, 1)}}}, KindVolumeDiscount},
		{"stock without warehouse", Batch{Stock: []StockRow{{ItemID: gid(1, 1)}}}, KindStock},
		{"line without order", Batch{OrderLines: []erp.SalesOrderLine{{ID: gid(9, 1)}}}, KindOrderLine},
		{"inline line without ID", Batch{Orders: []erp.SalesOrder{{OrderID: gid(9, 1), SalesOrderLines: erp.LineCollection{{}}}}}, KindOrder},
		{"deletion without ID", Batch{Deletes: []Deletion{{Kind: KindItem}}}, KindItem},
		{"stock deletion by plain ID", Batch{Deletes: []Deletion{{Kind: KindStock, ID: gid(1, 1)}}}, KindStock},
		{"unknown kind", Batch{Deletes: []Deletion{{Kind: 99, ID: "x"}}}, 99},
		{"unknown replace kind", Batch{Replace: []Kind{0}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := New(Config{})
			mustApply(t, x, Batch{Items: []erp.Item{item(1, "A", "a")}})
			before := x.Snapshot()
			// A valid row in the same batch must not slip in either.
			tc.b.Items = append(tc.b.Items, item(3, "C", "c"))
			err := x.Apply(tc.b)
			var be *BatchError
			if !errors.As(err, &be) || be.Kind != tc.kind {
				t.Fatalf("Apply = %v, want a *BatchError for %v", err, tc.kind)
			}
			if x.Snapshot().s != before.s {
				t.Fatal("a refused batch published a new state")
			}
			if _, ok := x.Snapshot().Item(gid(1, 3)); ok {
				t.Fatal("a row of a refused batch is visible")
			}
		})
	}
}

func TestApplyLimit(t *testing.T) {
	x := New(Config{MaxRowsPerKind: 2})
	mustApply(t, x, Batch{Items: []erp.Item{item(1, "A", "a"), item(2, "B", "b")}})
	err := x.Apply(Batch{Items: []erp.Item{item(3, "C", "c")}, Accounts: []erp.Account{{ID: gid(5, 1)}}})
	var le *LimitError
	if !errors.As(err, &le) || le.Kind != KindItem || le.Rows != 3 || le.Limit != 2 {
		t.Fatalf("Apply = %v, want a LimitError for 3 items", err)
	}
	s := x.Snapshot()
	if s.Counts()[KindItem] != 2 || s.Counts()[KindAccount] != 0 {
		t.Fatalf("counts after a refused batch = %v", s.Counts())
	}
	// Replacing within the bound is fine, and so is an update of a held row.
	mustApply(t, x, Batch{Items: []erp.Item{item(2, "B2", "b")}})
	// A batch over the bound on its own is refused up front.
	err = x.Apply(Batch{Contacts: []erp.Contact{{ID: gid(12, 1)}, {ID: gid(12, 2)}, {ID: gid(12, 3)}}})
	if !errors.As(err, &le) || le.Kind != KindContact || le.Rows != 3 {
		t.Fatalf("oversized batch: %v", err)
	}
}

func TestDeleteUpsertReplace(t *testing.T) {
	x := New(Config{})
	w1 := erp.Warehouse{ID: gid(4, 1), Code: "W1", Main: true}
	w2 := erp.Warehouse{ID: gid(4, 2), Code: "W2"}
	mustApply(t, x, Batch{
		Items:      []erp.Item{item(1, "A", "a"), item(2, "B", "b")},
		Warehouses: []erp.Warehouse{w2, w1},
		Orders: []erp.SalesOrder{{OrderID: gid(6, 1), OrderedBy: gid(5, 1), SalesOrderLines: erp.LineCollection{
			{ID: gid(7, 1), LineNumber: 1}, {ID: gid(7, 2), LineNumber: 2}}}},
	})
	s := x.Snapshot()
	if o, ok := s.Order(gid(6, 1)); !ok || len(o.Lines) != 2 {
		t.Fatalf("order with inline lines = %+v, %v", o, ok)
	}
	// Upper-case IDs from the feed address the same rows.
	mustApply(t, x, Batch{
		Deletes: []Deletion{{Kind: KindItem, ID: "00000001-0000-0000-0000-000000000001"}, {Kind: KindOrder, ID: gid(6, 1)},
			{Kind: KindItem, ID: gid(1, 99)}},
		Items:      []erp.Item{{ID: "00000001-0000-0000-0000-00000000000" + "2", Code: "B-new", IsSalesItem: true}},
		Warehouses: []erp.Warehouse{w2},
		Replace:    []Kind{KindWarehouse},
	})
	s2 := x.Snapshot()
	if _, ok := s2.Item(gid(1, 1)); ok {
		t.Error("deleted item still there")
	}
	if it, ok := s2.Product(gid(1, 2), today); !ok || it.Code != "B-new" {
		t.Errorf("updated item = %+v, %v", it, ok)
	}
	if _, ok := s2.ProductByCode("B", today); ok {
		t.Error("the item's old code still finds it")
	}
	if _, ok := s2.Order(gid(6, 1)); ok || s2.Counts()[KindOrderLine] != 0 {
		t.Errorf("deleting an order left it or its lines: %v", s2.Counts())
	}
	if ws := s2.Warehouses(); len(ws) != 1 || ws[0].ID != w2.ID {
		t.Errorf("replaced warehouses = %+v", ws)
	}
	// The earlier snapshot is untouched.
	if _, ok := s.Item(gid(1, 1)); !ok || len(s.Warehouses()) != 2 || s.Warehouses()[0].ID != w1.ID {
		t.Error("an old snapshot changed under its reader")
	}
}

// TestReadersNeverSeeHalfABatch applies batches that each change two items
// and a stock row together while readers check they always agree.
func TestReadersNeverSeeHalfABatch(t *testing.T) {
	x := New(Config{})
	wh := erp.Warehouse{ID: gid(4, 1), Code: "W", Main: true}
	batch := func(n int) Batch {
		d := fmt.Sprintf("v%04d", n)
		return Batch{
			Items:      []erp.Item{item(1, "A", d), item(2, "B", d)},
			Stock:      []StockRow{{ItemID: gid(1, 1), Warehouse: wh.ID, OnHand: dec(fmt.Sprint(n))}},
			Warehouses: []erp.Warehouse{wh},
		}
	}
	mustApply(t, x, batch(0))
	const rounds = 300
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := x.Snapshot()
				a, _ := s.Item(gid(1, 1))
				b, _ := s.Item(gid(1, 2))
				st := s.Stock(gid(1, 1), "")
				p, err := s.Products(Query{Search: a.Description, First: 10, Today: today})
				if a.Description != b.Description || "v"+fmt.Sprintf("%04s", st[0].OnHand.String()) != a.Description ||
					err != nil || p.TotalCount != 2 {
					select {
					case errs <- fmt.Sprintf("torn read: %q %q %s %d %v", a.Description, b.Description, st[0].OnHand, p.TotalCount, err):
					default:
					}
					return
				}
			}
		}()
	}
	for n := 1; n <= rounds; n++ {
		mustApply(t, x, batch(n))
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestApplyDoesNotKeepCallerSlices(t *testing.T) {
	x := New(Config{})
	items := []erp.Item{item(1, "A", "a")}
	mustApply(t, x, Batch{Items: items})
	items[0].Description = "changed by caller"
	if it, _ := x.Snapshot().Item(gid(1, 1)); it.Description != "a" {
		t.Fatalf("the index shares the caller's slice: %q", it.Description)
	}
}

func TestReplaceItems(t *testing.T) {
	x := New(Config{})
	a, b, c := item(1, "A", "alpha"), item(2, "B", "beta"), item(3, "C", "gamma")
	a.Barcode = "111"
	mustApply(t, x, Batch{Items: []erp.Item{a, b, c}})
	b.Description = "beta two"
	d := item(4, "D", "delta")
	d.ItemGroup = gid(2, 7)
	mustApply(t, x, Batch{Items: []erp.Item{b, d}, Replace: []Kind{KindItem}})
	s := x.Snapshot()
	if s.Counts()[KindItem] != 2 {
		t.Fatalf("items after replace: %d", s.Counts()[KindItem])
	}
	if _, ok := s.ProductByCode("A", today); ok {
		t.Error("a replaced-away item is found by code")
	}
	if got := s.ProductsByBarcode("111", today); len(got) != 0 {
		t.Errorf("a replaced-away item is found by barcode: %v", got)
	}
	p, err := s.Products(Query{First: 10, Today: today})
	if err != nil || strings.Join(codes(p.Items), ",") != "B,D" {
		t.Errorf("listing = %v %v", codes(p.Items), err)
	}
	p, _ = s.Products(Query{First: 10, Search: "two", Today: today})
	if strings.Join(codes(p.Items), ",") != "B" {
		t.Errorf("search after replace = %v", codes(p.Items))
	}
	p, _ = s.Products(Query{First: 10, ItemGroup: gid(2, 7), Today: today})
	if strings.Join(codes(p.Items), ",") != "D" {
		t.Errorf("new group after replace = %v", codes(p.Items))
	}
}
