package index

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
)

// StockLevel is one item's stock in one warehouse (ARCHITECTURE §5).
type StockLevel struct {
	Warehouse  erp.Warehouse
	OnHand     decimal.Decimal
	PlannedOut decimal.Decimal
	PlannedIn  decimal.Decimal
	Reserved   decimal.Decimal
	// Available is max(0, OnHand − PlannedOut).
	Available decimal.Decimal
	// AsOf is when the row was read from Exact; zero for a warehouse
	// without a row (zero stock) or a row applied without Batch.ReadAt.
	AsOf time.Time
}

func available(r StockRow) decimal.Decimal {
	a := r.OnHand.Sub(r.PlannedOut)
	if a.IsNegative() {
		return decimal.Zero
	}
	return a
}

// Warehouses returns every warehouse, the main warehouse first, then by code.
func (s *Snapshot) Warehouses() []erp.Warehouse { return append([]erp.Warehouse(nil), s.s.whOrder...) }

// Warehouse returns one warehouse.
func (s *Snapshot) Warehouse(id string) (erp.Warehouse, bool) { return s.s.warehouses.get(normID(id)) }

// Stock returns the item's stock in every known warehouse, main first,
// zeros where the item has no row; with a warehouse ID only that one (none
// when the warehouse is unknown). It does not check that the item exists:
// an unknown item has zero stock everywhere.
func (s *Snapshot) Stock(itemID, warehouse string) []StockLevel {
	rows := s.s.stock.in(normID(itemID))
	wh := normID(warehouse)
	out := make([]StockLevel, 0, len(s.s.whOrder))
	for _, w := range s.s.whOrder {
		if wh != "" && w.ID != wh {
			continue
		}
		l := StockLevel{Warehouse: w}
		for _, se := range rows { // a handful of warehouses: a scan beats a map
			if se.row.Warehouse == w.ID {
				r := se.row
				l = StockLevel{Warehouse: w, OnHand: r.OnHand, PlannedOut: r.PlannedOut, PlannedIn: r.PlannedIn,
					Reserved: r.Reserved, Available: available(r), AsOf: se.asOf}
				break
			}
		}
		out = append(out, l)
	}
	return out
}

// AvailableQuantity sums Available over every known warehouse.
func (s *Snapshot) AvailableQuantity(itemID string) decimal.Decimal {
	sum := decimal.Zero
	for _, se := range s.s.stock.in(normID(itemID)) {
		if s.s.warehouses.has(se.row.Warehouse) {
			sum = sum.Add(available(se.row))
		}
	}
	return sum
}
