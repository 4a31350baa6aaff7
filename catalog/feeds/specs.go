package feeds

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/exactql/exactql/erp"
)

// Feed names: the store's feed column, the metrics' feed label and the
// names Wake takes.
const (
	FeedItemGroups       = "item_groups"
	FeedWarehouses       = "warehouses"
	FeedShippingMethods  = "shipping_methods"
	FeedPriceLists       = "price_lists"
	FeedPriceListPeriods = "price_list_periods"
	FeedItems            = "items"
	FeedPrices           = "sales_item_prices"
	FeedVolumeDiscounts  = "volume_discounts"
	FeedStock            = "stock_positions"
	FeedAccounts         = "accounts"
	FeedContacts         = "contacts"
	FeedAddresses        = "addresses"
	FeedOrders           = "sales_orders"
	FeedOrderLines       = "sales_order_lines"
	FeedDeleted          = "deleted"
)

// DefaultWeights are the feeds' shares of the polling budget, relative to
// each other. At Exact's default 5,000 calls a day and a 0.3 share they
// give stock about every 4 minutes, items and prices about every 11, volume
// discounts, accounts and deletions about every 14, and the reference sets
// (freshness bound one hour) about every 43: within the freshness bounds of
// ARCHITECTURE §3 except contacts, addresses and orders, which webhooks
// wake.
var DefaultWeights = map[string]float64{
	FeedStock:            12,
	FeedItems:            4,
	FeedPrices:           4,
	FeedVolumeDiscounts:  3,
	FeedAccounts:         3,
	FeedContacts:         1,
	FeedAddresses:        1,
	FeedOrders:           2,
	FeedOrderLines:       2,
	FeedDeleted:          3,
	FeedItemGroups:       1,
	FeedWarehouses:       1,
	FeedShippingMethods:  1,
	FeedPriceLists:       1,
	FeedPriceListPeriods: 1,
}

// deletedTargets maps sync/Deleted EntityTypes to the feed whose rows they
// remove. Stock positions (15) and item warehouses (19) are keyed by an ID
// the mirror does not hold (it keys stock by item and warehouse), and the
// entity type of a deleted volume discount is UNCONFIRMED (31 "discount
// tables" perhaps): those are not applied.
var deletedTargets = map[int]string{
	erp.DeletedAccounts:          FeedAccounts,
	erp.DeletedAddresses:         FeedAddresses,
	erp.DeletedContacts:          FeedContacts,
	erp.DeletedItemPrices:        FeedPrices,
	erp.DeletedItems:             FeedItems,
	erp.DeletedSalesOrderHeaders: FeedOrders,
	erp.DeletedSalesOrderLines:   FeedOrderLines,
}

// topicFeeds maps Exact webhook topics to the feeds they wake. Items also
// wakes the sales item prices: the item's standard price and its general
// price row change together, and Exact has no price topic. An Addresses
// topic is UNCONFIRMED at Exact; it is accepted if it comes.
var topicFeeds = map[string][]string{
	"Items":          {FeedItems, FeedPrices},
	"StockPositions": {FeedStock},
	"SalesOrders":    {FeedOrders, FeedOrderLines},
	"Accounts":       {FeedAccounts},
	"Contacts":       {FeedContacts},
	"Addresses":      {FeedAddresses},
}

// pageFunc receives one page: rows to store, the typed changes and the new
// watermark.
type pageFunc func(rows []Row, changes []Change, watermark int64) error

// spec is one feed: how to read it and how to decode its stored rows.
type spec struct {
	name        string
	incremental bool
	// read reads the feed: rows above since (incremental) or the whole set.
	read   func(ctx context.Context, since int64, before func(context.Context) error, page pageFunc) error
	decode func([]byte) (any, error)
}

func decodeAs[T any](b []byte) (any, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func incremental[T erp.SyncRow](name string, f *erp.SyncFeed[T]) spec {
	return spec{
		name:        name,
		incremental: true,
		read: func(ctx context.Context, since int64, before func(context.Context) error, page pageFunc) error {
			_, err := f.SincePaced(ctx, since, before, func(rs []T, wm int64) error {
				rows := make([]Row, 0, len(rs))
				changes := make([]Change, 0, len(rs))
				for _, r := range rs {
					key := r.SyncKey()
					if key == "" {
						continue // a row without a key cannot be kept or replaced
					}
					data, err := json.Marshal(r)
					if err != nil {
						return fmt.Errorf("feeds: encode %s row: %w", name, err)
					}
					rows = append(rows, Row{RowKey: RowKey{Feed: name, Key: key}, Data: data})
					changes = append(changes, Change{Feed: name, Key: key, Row: r})
				}
				return page(rows, changes, wm)
			})
			return err
		},
		decode: decodeAs[T],
	}
}

func deletedSpec(f *erp.SyncFeed[erp.DeletedRecord]) spec {
	return spec{
		name:        FeedDeleted,
		incremental: true,
		read: func(ctx context.Context, since int64, before func(context.Context) error, page pageFunc) error {
			_, err := f.SincePaced(ctx, since, before, func(rs []erp.DeletedRecord, wm int64) error {
				var changes []Change
				for _, r := range rs {
					if target, ok := deletedTargets[r.EntityType]; ok && r.EntityKey != "" {
						changes = append(changes, Change{Feed: target, Key: r.EntityKey, Deleted: true})
					}
				}
				return page(nil, changes, wm)
			})
			return err
		},
		decode: decodeAs[erp.DeletedRecord],
	}
}

func whole[T any](s *erp.SyncService, name string, key func(T) string, read func(*erp.SyncService, context.Context) ([]T, error)) spec {
	return spec{
		name: name,
		read: func(ctx context.Context, _ int64, before func(context.Context) error, page pageFunc) error {
			paced := *s
			paced.Before = before
			rs, err := read(&paced, ctx)
			if err != nil {
				return err
			}
			rows := make([]Row, 0, len(rs))
			changes := make([]Change, 0, len(rs))
			for _, r := range rs {
				k := key(r)
				if k == "" {
					continue
				}
				data, err := json.Marshal(r)
				if err != nil {
					return fmt.Errorf("feeds: encode %s row: %w", name, err)
				}
				rows = append(rows, Row{RowKey: RowKey{Feed: name, Key: k}, Data: data})
				changes = append(changes, Change{Feed: name, Key: k, Row: r})
			}
			return page(rows, changes, 0)
		},
		decode: decodeAs[T],
	}
}

// specs lists every feed in the order the first pass reads them: the small
// reference sets, then the catalogue, stock, customers, orders, deletions.
func specs(s *erp.SyncService) []spec {
	return []spec{
		whole(s, FeedItemGroups, func(r erp.ItemGroup) string { return r.ID }, (*erp.SyncService).ItemGroups),
		whole(s, FeedWarehouses, func(r erp.Warehouse) string { return r.ID }, (*erp.SyncService).Warehouses),
		whole(s, FeedShippingMethods, func(r erp.ShippingMethod) string { return r.ID }, (*erp.SyncService).ShippingMethods),
		whole(s, FeedPriceLists, func(r erp.SalesPriceList) string { return r.ID }, (*erp.SyncService).PriceLists),
		whole(s, FeedPriceListPeriods, func(r erp.SalesPriceListPeriod) string { return r.ID }, (*erp.SyncService).PriceListPeriods),
		incremental(FeedItems, s.Items),
		incremental(FeedPrices, s.SalesItemPrices),
		incremental(FeedVolumeDiscounts, s.VolumeDiscounts),
		incremental(FeedStock, s.StockPositions),
		incremental(FeedAccounts, s.Accounts),
		incremental(FeedContacts, s.Contacts),
		incremental(FeedAddresses, s.Addresses),
		incremental(FeedOrders, s.SalesOrderHeader),
		incremental(FeedOrderLines, s.SalesOrderLines),
		deletedSpec(s.Deleted),
	}
}
