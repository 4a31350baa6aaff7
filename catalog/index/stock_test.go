package index

import (
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
)

func TestStock(t *testing.T) {
	x := New(Config{})
	main, w2, w3 := gid(4, 3), gid(4, 1), gid(4, 2)
	at := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	mustApply(t, x, Batch{
		Items:      []erp.Item{item(1, "A", "a"), item(2, "B", "b")},
		Warehouses: []erp.Warehouse{{ID: w2, Code: "B-WH"}, {ID: main, Code: "Z-MAIN", Main: true}, {ID: w3, Code: "A-WH"}},
		Stock: []StockRow{
			{ItemID: gid(1, 1), Warehouse: main, OnHand: dec("10"), PlannedOut: dec("4"), PlannedIn: dec("7"), Reserved: dec("1")},
			{ItemID: gid(1, 1), Warehouse: w2, OnHand: dec("2"), PlannedOut: dec("5")}, // below zero → 0
			{ItemID: gid(1, 1), Warehouse: gid(4, 99), OnHand: dec("50")},              // unknown warehouse: not counted
		},
		ReadAt: at,
	})
	s := x.Snapshot()
	levels := s.Stock(gid(1, 1), "")
	type lv struct{ code, onHand, out, in, res, avail string }
	var got []lv
	for _, l := range levels {
		got = append(got, lv{l.Warehouse.Code, l.OnHand.String(), l.PlannedOut.String(), l.PlannedIn.String(), l.Reserved.String(), l.Available.String()})
	}
	want := []lv{
		{"Z-MAIN", "10", "4", "7", "1", "6"}, // main first
		{"A-WH", "0", "0", "0", "0", "0"},    // no row: zero
		{"B-WH", "2", "5", "0", "0", "0"},
	}
	if len(got) != len(want) {
		t.Fatalf("Stock = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("level %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !levels[0].AsOf.Equal(at) || !levels[1].AsOf.IsZero() {
		t.Errorf("asOf = %v / %v", levels[0].AsOf, levels[1].AsOf)
	}
	if q := s.AvailableQuantity(gid(1, 1)); q.String() != "6" {
		t.Errorf("AvailableQuantity = %s, want 6", q)
	}
	if one := s.Stock(gid(1, 1), w2); len(one) != 1 || one[0].Warehouse.ID != w2 {
		t.Errorf("one warehouse = %+v", one)
	}
	if none := s.Stock(gid(1, 1), gid(4, 404)); len(none) != 0 {
		t.Errorf("unknown warehouse = %+v", none)
	}
	if l := s.Stock(gid(1, 2), ""); len(l) != 3 || !l[0].Available.IsZero() || !s.AvailableQuantity(gid(1, 2)).IsZero() {
		t.Errorf("item without rows = %+v", l)
	}
	// A stock change and a removed row apply.
	mustApply(t, x, Batch{
		Stock:   []StockRow{{ItemID: gid(1, 1), Warehouse: main, OnHand: dec("1")}},
		Deletes: []Deletion{{Kind: KindStock, ID: StockKey(gid(1, 1), w2)}},
	})
	s = x.Snapshot()
	if q := s.AvailableQuantity(gid(1, 1)); q.String() != "1" {
		t.Errorf("after change: AvailableQuantity = %s, want 1", q)
	}
	if l := s.Stock(gid(1, 1), w2); !l[0].OnHand.IsZero() {
		t.Errorf("deleted row still there: %+v", l[0])
	}
}
