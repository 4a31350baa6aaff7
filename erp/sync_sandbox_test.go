package erp_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

func readFeed[T erp.SyncRow](t *testing.T, f *erp.SyncFeed[T], since int64) ([]T, int64) {
	t.Helper()
	var out []T
	wm := since
	if _, err := f.Since(context.Background(), since, func(rows []T, w int64) error {
		out = append(out, rows...)
		wm = w
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", f.Path(), err)
	}
	return out, wm
}

// TestSyncAgainstSandbox reads every feed and reference set from the
// sandbox, then sees a change, a new item and a deletion incrementally.
func TestSyncAgainstSandbox(t *testing.T) {
	ctx := context.Background()
	c, sb := sandboxClient(t, sandbox.Options{Data: gen.Options{Items: 1200, Customers: gen.MinCustomers}})
	s := c.Sync()
	items, itemWM := readFeed(t, s.Items, 1)
	if len(items) != 1200 {
		t.Fatalf("%d items", len(items))
	}
	if items[0].ID == "" || items[0].Code == "" || items[0].Timestamp == 0 {
		t.Errorf("item not decoded: %+v", items[0])
	}
	stock, stockWM := readFeed(t, s.StockPositions, 1)
	if len(stock) == 0 || stock[0].ItemID == "" || stock[0].Warehouse == "" {
		t.Fatalf("stock positions: %d %+v", len(stock), stock)
	}
	prices, _ := readFeed(t, s.SalesItemPrices, 1)
	vds, _ := readFeed(t, s.VolumeDiscounts, 1)
	accts, _ := readFeed(t, s.Accounts, 1)
	contacts, _ := readFeed(t, s.Contacts, 1)
	addrs, _ := readFeed(t, s.Addresses, 1)
	heads, _ := readFeed(t, s.SalesOrderHeader, 1)
	lines, _ := readFeed(t, s.SalesOrderLines, 1)
	deleted, delWM := readFeed(t, s.Deleted, 1)
	for name, n := range map[string]int{"prices": len(prices), "volume discounts": len(vds), "accounts": len(accts),
		"contacts": len(contacts), "addresses": len(addrs), "order headers": len(heads), "order lines": len(lines)} {
		if n == 0 {
			t.Errorf("no %s", name)
		}
	}
	if len(deleted) != 0 {
		t.Errorf("deleted: %v", deleted)
	}
	for name, f := range map[string]func(context.Context) (int, error){
		"item groups":      func(ctx context.Context) (int, error) { r, err := s.ItemGroups(ctx); return len(r), err },
		"warehouses":       func(ctx context.Context) (int, error) { r, err := s.Warehouses(ctx); return len(r), err },
		"shipping methods": func(ctx context.Context) (int, error) { r, err := s.ShippingMethods(ctx); return len(r), err },
		"price lists":      func(ctx context.Context) (int, error) { r, err := s.PriceLists(ctx); return len(r), err },
		"periods":          func(ctx context.Context) (int, error) { r, err := s.PriceListPeriods(ctx); return len(r), err },
	} {
		if n, err := f(ctx); err != nil || n == 0 {
			t.Errorf("%s: %d, %v", name, n, err)
		}
	}

	// Incremental: only what changed.
	if err := sb.SetStock(stock[0].ItemID, stock[0].Warehouse, decimal.NewFromInt(5)); err != nil {
		t.Fatal(err)
	}
	newID, err := sb.AddItem(sandbox.NewItem{Code: "SYNC-NEW", Description: "New", Price: decimal.NewFromInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	var agreement string
	for _, p := range prices {
		if p.Account != "" {
			agreement = p.ID
			break
		}
	}
	if err := sb.DeletePriceAgreement(agreement); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFeed(t, s.StockPositions, stockWM); len(got) != 1 || !got[0].CurrentStock.Equal(decimal.NewFromInt(5)) {
		t.Errorf("stock after change: %+v", got)
	}
	if got, _ := readFeed(t, s.Items, itemWM); len(got) != 1 || got[0].ID != newID {
		t.Errorf("items after add: %+v", got)
	}
	if got, _ := readFeed(t, s.Deleted, delWM); len(got) != 1 || got[0].EntityKey != agreement || got[0].EntityType != erp.DeletedItemPrices {
		t.Errorf("deleted: %+v", got)
	}
}
