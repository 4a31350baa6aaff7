package erp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// SyncPageSize is the page size of Exact's sync/ endpoints.
const SyncPageSize = 1000

// ErrSyncStalled is returned when a full sync page brought no Timestamp
// above the one asked for: following it would loop forever.
var ErrSyncStalled = errors.New("erp: sync feed returned a full page without newer Timestamps")

// SyncFeed reads one of Exact's sync/ endpoints incrementally: rows whose
// Timestamp is above a watermark, 1,000 a page.
type SyncFeed[T SyncRow] struct {
	c    *Client
	path string
}

// NewSyncFeed returns the feed at path (e.g. "sync/Logistics/Items") with
// rows of type T. The $select is T's fields.
func NewSyncFeed[T SyncRow](c *Client, path string) *SyncFeed[T] {
	return &SyncFeed[T]{c: c, path: path}
}

// Path returns the feed's endpoint below the division.
func (f *SyncFeed[T]) Path() string { return f.path }

// Page returns one page: the rows with Timestamp above since (when next is
// "") or the page at next (a __next URL of an earlier page, which must be
// on the configured host), and the following page's URL ("" when Exact
// gave none). It calls GET {path}?$filter=Timestamp gt {since}L&$select=….
func (f *SyncFeed[T]) Page(ctx context.Context, since int64, next string) ([]T, string, error) {
	op := "erp.Sync(" + f.path + ").Page"
	var u string
	var err error
	if next != "" {
		if u, err = f.c.sameHost(next); err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
	} else {
		if since < 0 {
			return nil, "", fmt.Errorf("%s: negative watermark", op)
		}
		qs, err := Query{Filter: Gt("Timestamp", Int64L(since))}.encode(selectFields[T]())
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
		if u, err = f.c.endpointURL(ctx, f.path, qs); err != nil {
			return nil, "", fmt.Errorf("%s: %w", op, err)
		}
	}
	body, err := f.c.do(ctx, http.MethodGet, f.path, u, nil, maxJSONBody)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	rows, nextURL, err := decodeCollection[T](body)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	return rows, nextURL, nil
}

// Since reads every row with a Timestamp above since. After each page it
// calls fn with the page's rows and the highest Timestamp seen so far (the
// new watermark: commit it with the rows); an error from fn stops the read
// and is returned. It follows __next and, when a full page came without
// one, asks again from the new watermark, until a short page. It returns
// the number of calls made.
func (f *SyncFeed[T]) Since(ctx context.Context, since int64, fn func(rows []T, watermark int64) error) (calls int, err error) {
	return f.SincePaced(ctx, since, nil, fn)
}

// SincePaced is Since with before called ahead of every call to Exact (a
// pacer: it may wait, and its error stops the read before the call).
func (f *SyncFeed[T]) SincePaced(ctx context.Context, since int64, before func(context.Context) error, fn func(rows []T, watermark int64) error) (calls int, err error) {
	wm, next := since, ""
	for {
		if before != nil {
			if err := before(ctx); err != nil {
				return calls, err
			}
		}
		rows, n, err := f.Page(ctx, wm, next)
		if err != nil {
			return calls, err
		}
		calls++
		top := wm
		for _, r := range rows {
			top = max(top, r.SyncTimestamp())
		}
		full := len(rows) >= SyncPageSize
		if full && n == "" && top <= wm {
			return calls, fmt.Errorf("erp.Sync(%s).Since: %w", f.path, ErrSyncStalled)
		}
		wm = top
		if err := fn(rows, wm); err != nil {
			return calls, err
		}
		switch {
		case n != "":
			next = n
		case full:
			next = ""
		default:
			return calls, nil
		}
	}
}

// SyncService bundles the sync/ feeds the mirror reads and the whole
// re-reads of the small reference sets that have no confirmed sync feed.
type SyncService struct {
	c *Client
	// Before, when set, is called ahead of every call of the whole
	// re-reads below (a pacer); its error stops the read.
	Before           func(context.Context) error
	Items            *SyncFeed[SyncItem]
	SalesItemPrices  *SyncFeed[SyncSalesItemPrice]
	VolumeDiscounts  *SyncFeed[SyncVolumeDiscount]
	StockPositions   *SyncFeed[StockPosition]
	Accounts         *SyncFeed[SyncAccount]
	Contacts         *SyncFeed[SyncContact]
	Addresses        *SyncFeed[SyncAddress]
	SalesOrderHeader *SyncFeed[SyncSalesOrderHeader]
	SalesOrderLines  *SyncFeed[SyncSalesOrderLine]
	Deleted          *SyncFeed[DeletedRecord]
}

// Sync returns the client's sync feeds.
func (c *Client) Sync() *SyncService {
	return &SyncService{
		c:                c,
		Items:            NewSyncFeed[SyncItem](c, "sync/Logistics/Items"),
		SalesItemPrices:  NewSyncFeed[SyncSalesItemPrice](c, "sync/Logistics/SalesItemPrices"),
		VolumeDiscounts:  NewSyncFeed[SyncVolumeDiscount](c, "sync/Sales/SalesPriceListVolumeDiscounts"),
		StockPositions:   NewSyncFeed[StockPosition](c, "sync/Inventory/StockPositions"),
		Accounts:         NewSyncFeed[SyncAccount](c, "sync/CRM/Accounts"),
		Contacts:         NewSyncFeed[SyncContact](c, "sync/CRM/Contacts"),
		Addresses:        NewSyncFeed[SyncAddress](c, "sync/CRM/Addresses"),
		SalesOrderHeader: NewSyncFeed[SyncSalesOrderHeader](c, "sync/SalesOrder/SalesOrderHeaders"),
		SalesOrderLines:  NewSyncFeed[SyncSalesOrderLine](c, "sync/SalesOrder/SalesOrderLines"),
		Deleted:          NewSyncFeed[DeletedRecord](c, "sync/Deleted"),
	}
}

// ItemGroups re-reads all of logistics/ItemGroups (no $filter; 60 a page).
func (s *SyncService) ItemGroups(ctx context.Context) ([]ItemGroup, error) {
	return wholeSet(ctx, &s.c.ItemGroups.entitySet, s.Before)
}

// Warehouses re-reads all of inventory/Warehouses.
func (s *SyncService) Warehouses(ctx context.Context) ([]Warehouse, error) {
	return wholeSet(ctx, &s.c.Warehouses.entitySet, s.Before)
}

// ShippingMethods re-reads all of sales/ShippingMethods.
func (s *SyncService) ShippingMethods(ctx context.Context) ([]ShippingMethod, error) {
	return wholeSet(ctx, &s.c.ShippingMethods.entitySet, s.Before)
}

// PriceLists re-reads all of sales/SalesPriceLists.
func (s *SyncService) PriceLists(ctx context.Context) ([]SalesPriceList, error) {
	return wholeSet(ctx, &s.c.PriceLists.entitySet, s.Before)
}

// PriceListPeriods re-reads all of sales/SalesPriceListPeriods.
func (s *SyncService) PriceListPeriods(ctx context.Context) ([]SalesPriceListPeriod, error) {
	return wholeSet(ctx, &s.c.PriceListPeriods.entitySet, s.Before)
}

// wholeSet reads every record of s, page by page, with no $filter.
func wholeSet[T any](ctx context.Context, s *entitySet[T], before func(context.Context) error) ([]T, error) {
	out := []T{}
	next := ""
	for {
		if before != nil {
			if err := before(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", s.op("ReadAll"), err)
			}
		}
		rows, n, err := s.ListPage(ctx, Query{}, next)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.op("ReadAll"), err)
		}
		out = append(out, rows...)
		if n == "" {
			return out, nil
		}
		next = n
	}
}
