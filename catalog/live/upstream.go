// Package live is the gateway's read path between the resolvers and Exact:
// cache first, per-request dataloaders for misses, single-flight per key
// across requests (through package cache), chunked $filter batches through
// the erp client. ARCHITECTURE §3.
package live

import (
	"context"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// ItemQuery selects a page of sellable items sorted by code.
type ItemQuery struct {
	// Search matches code or description case-insensitively ("" = all).
	Search string
	// ItemGroup limits to one item group ("" = all).
	ItemGroup string
	// AfterCode continues after this item code ("" = from the start).
	AfterCode string
	// Limit is the page size wanted; the upstream reports whether more follow.
	Limit int
	// Today is the calendar date ("2006-01-02") from which an item counts as ended.
	Today string
	// WebshopOnly limits to items flagged IsWebshopItem.
	WebshopOnly bool
}

// Upstream is what the read path needs from Exact. *erp.Client satisfies it
// through ExactUpstream; tests may plug in the sandbox through the same client.
type Upstream interface {
	ItemsPage(ctx context.Context, q ItemQuery) (items []erp.Item, more bool, err error)
	ItemsByIDs(ctx context.Context, ids []string) ([]erp.Item, error)
	ItemsByCodes(ctx context.Context, codes []string) ([]erp.Item, error)
	ItemGroups(ctx context.Context) ([]erp.ItemGroup, error)
	Warehouses(ctx context.Context) ([]erp.Warehouse, error)
	ShippingMethods(ctx context.Context) ([]erp.ShippingMethod, error)
	Accounts(ctx context.Context, ids []string) ([]erp.Account, error)
	AccountPrices(ctx context.Context, account string) ([]erp.SalesItemPrice, error)
	// DefaultPrices lists the general price rows of the items valid on today.
	DefaultPrices(ctx context.Context, itemIDs []string, today civil.Date) ([]erp.SalesItemPrice, error)
	PriceLists(ctx context.Context, ids []string) ([]erp.SalesPriceList, error)
	PriceListPeriods(ctx context.Context, priceList string) ([]erp.SalesPriceListPeriod, error)
	// VolumeDiscounts lists the rows of the periods for the items (Item) and
	// for the item groups (ItemGroup with no Item).
	VolumeDiscounts(ctx context.Context, periods, itemIDs, groupIDs []string) ([]erp.SalesPriceListVolumeDiscount, error)
	ItemWarehouses(ctx context.Context, itemIDs []string) ([]erp.ItemWarehouse, error)
	Contacts(ctx context.Context, account string) ([]erp.Contact, error)
	Addresses(ctx context.Context, account string) ([]erp.Address, error)
}
