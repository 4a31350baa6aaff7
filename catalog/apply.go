package catalog

import (
	"errors"
	"strings"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/catalog/index"
	"github.com/exactql/exactql/erp"
)

// feedKinds maps a feed to the index kind its rows (and deletions) are.
var feedKinds = map[string]index.Kind{
	feeds.FeedItemGroups: index.KindItemGroup, feeds.FeedWarehouses: index.KindWarehouse,
	feeds.FeedShippingMethods: index.KindShippingMethod, feeds.FeedPriceLists: index.KindPriceList,
	feeds.FeedPriceListPeriods: index.KindPriceListPeriod, feeds.FeedItems: index.KindItem,
	feeds.FeedPrices: index.KindItemPrice, feeds.FeedVolumeDiscounts: index.KindVolumeDiscount,
	feeds.FeedStock: index.KindStock, feeds.FeedAccounts: index.KindAccount,
	feeds.FeedContacts: index.KindContact, feeds.FeedAddresses: index.KindAddress,
	feeds.FeedOrders: index.KindOrder, feeds.FeedOrderLines: index.KindOrderLine,
}

// stockRow maps a sync/Inventory/StockPositions record to the index's row
// (ARCHITECTURE §5): CurrentStock is onHand, PlanningOut plannedOut,
// PlanningIn plannedIn, ReservedStock reserved.
func stockRow(p erp.StockPosition) index.StockRow {
	return index.StockRow{ItemID: p.ItemID, Warehouse: p.Warehouse, OnHand: p.CurrentStock,
		PlannedOut: p.PlanningOut, PlannedIn: p.PlanningIn, Reserved: p.ReservedStock}
}

// batchOf turns committed feed changes into one index batch. Rows of a
// type it does not know are counted in skipped.
func batchOf(changes []feeds.Change) (b index.Batch, skipped int) {
	for _, c := range changes {
		if c.Deleted {
			k, ok := feedKinds[c.Feed]
			if !ok {
				skipped++
				continue
			}
			id := c.Key
			if k == index.KindStock {
				// The runner keys stock rows "itemID/warehouseID".
				item, wh, _ := strings.Cut(c.Key, "/")
				id = index.StockKey(item, wh)
			}
			b.Deletes = append(b.Deletes, index.Deletion{Kind: k, ID: id})
			continue
		}
		switch r := c.Row.(type) {
		case erp.SyncItem:
			b.Items = append(b.Items, r.Item)
		case erp.SyncSalesItemPrice:
			b.ItemPrices = append(b.ItemPrices, r.SalesItemPrice)
		case erp.SyncVolumeDiscount:
			b.VolumeDiscounts = append(b.VolumeDiscounts, r.SalesPriceListVolumeDiscount)
		case erp.StockPosition:
			b.Stock = append(b.Stock, stockRow(r))
		case erp.SyncAccount:
			b.Accounts = append(b.Accounts, r.Account)
		case erp.SyncContact:
			b.Contacts = append(b.Contacts, r.Contact)
		case erp.SyncAddress:
			b.Addresses = append(b.Addresses, r.Address)
		case erp.SyncSalesOrderHeader:
			b.Orders = append(b.Orders, r.SalesOrder)
		case erp.SyncSalesOrderLine:
			b.OrderLines = append(b.OrderLines, r.SalesOrderLine)
		case erp.ItemGroup:
			b.ItemGroups = append(b.ItemGroups, r)
		case erp.Warehouse:
			b.Warehouses = append(b.Warehouses, r)
		case erp.ShippingMethod:
			b.ShippingMethods = append(b.ShippingMethods, r)
		case erp.SalesPriceList:
			b.PriceLists = append(b.PriceLists, r)
		case erp.SalesPriceListPeriod:
			b.Periods = append(b.Periods, r)
		default:
			skipped++
		}
	}
	return b, skipped
}

// Apply is the feeds' Subscriber (feeds.Options.Subscriber): it applies
// one commit's changes to the index in one batch. A row the index refuses
// (*index.BatchError) is dropped and counted (Dropped) and the rest of the
// batch applied, so one malformed record at Exact cannot hold back a page;
// the next change of that record replaces it.
func (m *Mirror) Apply(changes []feeds.Change) {
	b, skipped := batchOf(changes)
	b.ReadAt = m.o.Now()
	m.dropped.Add(int64(skipped))
	for range 64 {
		err := m.o.Index.Apply(b)
		if err == nil {
			break
		}
		var be *index.BatchError
		if !errors.As(err, &be) || !dropRow(&b, be.Kind, be.Index) {
			// A *LimitError or an internal error: the whole batch is refused.
			m.dropped.Add(int64(len(changes)))
			break
		}
		m.dropped.Add(1)
	}
	m.mu.Lock()
	for _, c := range changes {
		if !c.Deleted {
			m.seen[c.Feed] = true
		}
	}
	m.mu.Unlock()
}

// dropRow removes row i of kind k from b; false when there is no such row.
func dropRow(b *index.Batch, k index.Kind, i int) bool {
	switch k {
	case index.KindItem:
		return cut(&b.Items, i)
	case index.KindItemGroup:
		return cut(&b.ItemGroups, i)
	case index.KindItemPrice:
		return cut(&b.ItemPrices, i)
	case index.KindPriceList:
		return cut(&b.PriceLists, i)
	case index.KindPriceListPeriod:
		return cut(&b.Periods, i)
	case index.KindVolumeDiscount:
		return cut(&b.VolumeDiscounts, i)
	case index.KindWarehouse:
		return cut(&b.Warehouses, i)
	case index.KindStock:
		return cut(&b.Stock, i)
	case index.KindShippingMethod:
		return cut(&b.ShippingMethods, i)
	case index.KindAccount:
		return cut(&b.Accounts, i)
	case index.KindContact:
		return cut(&b.Contacts, i)
	case index.KindAddress:
		return cut(&b.Addresses, i)
	case index.KindOrder:
		return cut(&b.Orders, i)
	case index.KindOrderLine:
		return cut(&b.OrderLines, i)
	}
	return false
}

func cut[T any](s *[]T, i int) bool {
	if i < 0 || i >= len(*s) {
		return false
	}
	*s = append((*s)[:i:i], (*s)[i+1:]...)
	return true
}

// orderBatch is the index batch of one order written by the gateway: its
// header and the lines it carries.
func orderBatch(o erp.SalesOrder) index.Batch { return index.Batch{Orders: []erp.SalesOrder{o}} }
