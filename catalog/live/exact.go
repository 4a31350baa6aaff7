package live

import (
	"context"
	"fmt"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// ExactUpstream implements Upstream over the Exact client: every lookup is a
// $filter built with erp's query builder, chunked by the client's batch size.
type ExactUpstream struct {
	C *erp.Client
}

var _ Upstream = ExactUpstream{}

// exactPage is Exact's page size on plain endpoints.
const exactPage = 60

// ItemsPage lists sellable items sorted by code after q.AfterCode. It asks
// for one row more than wanted to learn whether more follow, except when
// that would cost a second page: a full 60-row page tells it by __next.
func (u ExactUpstream) ItemsPage(ctx context.Context, q ItemQuery) ([]erp.Item, bool, error) {
	today, err := civil.ParseDate(q.Today)
	if err != nil {
		return nil, false, fmt.Errorf("data.ItemsPage: %w", err)
	}
	fs := []erp.Filter{
		erp.Eq("IsSalesItem", erp.Bool(true)),
		erp.Or(erp.Eq("EndDate", erp.Null()), erp.Ge("EndDate", erp.DateTime(today.Time()))),
		// Not sellable before its StartDate (ARCHITECTURE §3).
		erp.Or(erp.Eq("StartDate", erp.Null()), erp.Le("StartDate", erp.DateTime(today.Time()))),
	}
	if q.WebshopOnly {
		fs = append(fs, erp.Eq("IsWebshopItem", erp.Int(1)))
	}
	if q.ItemGroup != "" {
		g, err := erp.GUID(q.ItemGroup)
		if err != nil {
			return nil, false, nil // an unknown group has no items
		}
		fs = append(fs, erp.Eq("ItemGroup", g))
	}
	search := q.Search != ""
	if search {
		fs = append(fs, erp.Or(erp.SubstringOf(q.Search, "Code"), erp.SubstringOf(q.Search, "Description")))
	}
	if q.AfterCode != "" {
		fs = append(fs, erp.Gt("Code", erp.String(q.AfterCode)))
	}
	query := erp.Query{Filter: erp.And(fs...), OrderBy: []string{"Code"}}
	if q.Limit != exactPage {
		query.Top = q.Limit + 1
	}
	var items []erp.Item
	next := ""
	for {
		var rows []erp.Item
		var n string
		list := func(ctx context.Context) error {
			var err error
			rows, n, err = u.C.Items.ListPage(ctx, query, next)
			return err
		}
		var err error
		if search {
			// Search sends substringof, which Exact may refuse (501, §5.9):
			// the first refusal disables it and later searches fail at once
			// (UPSTREAM_UNAVAILABLE) until the mirror answers them locally.
			err = u.C.UseShape(ctx, erp.ShapeSubstringOf, "logistics/Items", list)
		} else {
			err = list(ctx)
		}
		if err != nil {
			return nil, false, err
		}
		items = append(items, rows...)
		if len(items) > q.Limit {
			return items[:q.Limit], true, nil
		}
		if n == "" {
			return items, false, nil
		}
		if len(items) == q.Limit {
			return items, true, nil
		}
		next = n
	}
}

// ItemsByIDs looks items up by ID.
func (u ExactUpstream) ItemsByIDs(ctx context.Context, ids []string) ([]erp.Item, error) {
	return u.C.Items.GetByIDs(ctx, ids)
}

// ItemsByCodes looks items up by code.
func (u ExactUpstream) ItemsByCodes(ctx context.Context, codes []string) ([]erp.Item, error) {
	return u.C.Items.GetByCodes(ctx, codes)
}

func collect[T any](seq func(func(*T, error) bool)) ([]T, error) {
	var out []T
	var ferr error
	seq(func(r *T, err error) bool {
		if err != nil {
			ferr = err
			return false
		}
		out = append(out, *r)
		return true
	})
	return out, ferr
}

// ItemGroups lists all item groups.
func (u ExactUpstream) ItemGroups(ctx context.Context) ([]erp.ItemGroup, error) {
	return collect(u.C.ItemGroups.List(ctx, erp.Query{OrderBy: []string{"Code"}}))
}

// Warehouses lists all warehouses.
func (u ExactUpstream) Warehouses(ctx context.Context) ([]erp.Warehouse, error) {
	return collect(u.C.Warehouses.List(ctx, erp.Query{}))
}

// ShippingMethods lists all shipping methods.
func (u ExactUpstream) ShippingMethods(ctx context.Context) ([]erp.ShippingMethod, error) {
	return collect(u.C.ShippingMethods.List(ctx, erp.Query{}))
}

// Accounts looks accounts up by ID.
func (u ExactUpstream) Accounts(ctx context.Context, ids []string) ([]erp.Account, error) {
	return u.C.Accounts.GetByIDs(ctx, ids)
}

// AccountPrices lists the account's price agreements.
func (u ExactUpstream) AccountPrices(ctx context.Context, account string) ([]erp.SalesItemPrice, error) {
	return u.C.SalesItemPrices.ForAccount(ctx, account)
}

// DefaultPrices lists the general (account-less) price rows of items that
// have not ended before today: expired rows never reach the gateway.
func (u ExactUpstream) DefaultPrices(ctx context.Context, itemIDs []string, today civil.Date) ([]erp.SalesItemPrice, error) {
	// Expired rows are most of the history; future rows are few and are
	// filtered by the price rules (a shorter filter keeps the URL short).
	valid := erp.Or(erp.Eq("EndDate", erp.Null()), erp.Ge("EndDate", erp.DateTime(today.Time())))
	return u.C.SalesItemPrices.General(ctx, itemIDs, valid)
}

// PriceLists looks price lists up by ID.
func (u ExactUpstream) PriceLists(ctx context.Context, ids []string) ([]erp.SalesPriceList, error) {
	return u.C.PriceLists.GetByIDs(ctx, ids)
}

// PriceListPeriods lists a price list's periods.
func (u ExactUpstream) PriceListPeriods(ctx context.Context, priceList string) ([]erp.SalesPriceListPeriod, error) {
	return u.C.PriceListPeriods.ForPriceList(ctx, priceList)
}

// VolumeDiscounts lists the volume-discount rows of the periods for the
// items and the item groups, items and groups sharing the chunks.
func (u ExactUpstream) VolumeDiscounts(ctx context.Context, periods, itemIDs, groupIDs []string) ([]erp.SalesPriceListVolumeDiscount, error) {
	return u.C.VolumeDiscounts.ForPeriodsItemsGroups(ctx, periods, itemIDs, groupIDs)
}

// ItemWarehouses lists the stock rows of items.
func (u ExactUpstream) ItemWarehouses(ctx context.Context, itemIDs []string) ([]erp.ItemWarehouse, error) {
	return u.C.ItemWarehouses.ForItems(ctx, itemIDs)
}

// Contacts lists an account's contacts.
func (u ExactUpstream) Contacts(ctx context.Context, account string) ([]erp.Contact, error) {
	return u.C.Contacts.ForAccount(ctx, account)
}

// Addresses lists an account's addresses.
func (u ExactUpstream) Addresses(ctx context.Context, account string) ([]erp.Address, error) {
	return u.C.Addresses.ForAccount(ctx, account)
}
