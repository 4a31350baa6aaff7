package erp

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"reflect"
	"strings"
	"sync"
)

var selectCache sync.Map // reflect.Type → []string

// selectFields returns the JSON names of T's fields: the $select each list
// call sends. Navigation collections (LineCollection) are left out.
func selectFields[T any]() []string {
	t := reflect.TypeFor[T]()
	if v, ok := selectCache.Load(t); ok {
		return v.([]string)
	}
	out := fieldNames(t)
	selectCache.Store(t, out)
	return out
}

// fieldNames lists the JSON names of t's fields; the fields of an embedded
// untagged struct (the sync record types embed the plain ones) are listed
// in its place, as encoding/json flattens them.
func fieldNames(t reflect.Type) []string {
	lineColl := reflect.TypeFor[LineCollection]()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			out = append(out, fieldNames(f.Type)...)
			continue
		}
		if !f.IsExported() || f.Type == lineColl {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// entitySet implements the calls every Exact entity set shares. The services
// embed it.
type entitySet[T any] struct {
	c    *Client
	path string
	key  string
}

func (s *entitySet[T]) op(name string) string {
	return "erp." + strings.ReplaceAll(s.path, "/", ".") + "." + name
}

// ListPage returns one page of records matching q and the URL of the next
// page ("" on the last). Pass next = "" for the first page and the returned
// URL for the following ones; a next URL not on the configured host is
// refused with ErrForeignURL.
func (s *entitySet[T]) ListPage(ctx context.Context, q Query, next string) ([]T, string, error) {
	var u string
	if next != "" {
		var err error
		if u, err = s.c.sameHost(next); err != nil {
			return nil, "", fmt.Errorf("%s: %w", s.op("ListPage"), err)
		}
	} else {
		qs, err := q.encode(selectFields[T]())
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", s.op("ListPage"), err)
		}
		if u, err = s.c.endpointURL(ctx, s.path, qs); err != nil {
			return nil, "", fmt.Errorf("%s: %w", s.op("ListPage"), err)
		}
	}
	body, err := s.c.do(ctx, http.MethodGet, s.path, u, nil, maxJSONBody)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", s.op("ListPage"), err)
	}
	rows, nextURL, err := decodeCollection[T](body)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", s.op("ListPage"), err)
	}
	return rows, nextURL, nil
}

// List returns every record matching q, following __next page by page (each
// page is one governed call). Iteration stops at the first error, which is
// yielded with a nil record, or when the caller breaks.
func (s *entitySet[T]) List(ctx context.Context, q Query) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		next := ""
		for {
			rows, n, err := s.ListPage(ctx, q, next)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range rows {
				if !yield(&rows[i], nil) {
					return
				}
			}
			if n == "" {
				return
			}
			next = n
		}
	}
}

// all collects List into a slice.
func (s *entitySet[T]) all(ctx context.Context, q Query) ([]T, error) {
	var out []T
	for r, err := range s.List(ctx, q) {
		if err != nil {
			return out, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// Get returns the record whose key is id, looked up with $filter and $top=1
// (never by key: Exact answers an unknown key with a 404, which counts
// toward its error block). ErrNotFound if there is none or id is not a GUID.
func (s *entitySet[T]) Get(ctx context.Context, id string) (*T, error) {
	if !IsGUID(id) {
		return nil, fmt.Errorf("%s: %w", s.op("Get"), ErrNotFound)
	}
	rows, _, err := s.ListPage(ctx, Query{Filter: Eq(s.key, mustGUID(id)), Top: 1}, "")
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: %w", s.op("Get"), ErrNotFound)
	}
	return &rows[0], nil
}

// GetByIDs returns the records whose keys are in ids, in chunks of the
// client's batch size per call. Invalid GUIDs are skipped, duplicates asked
// once; unknown IDs are simply absent. The order is not guaranteed.
func (s *entitySet[T]) GetByIDs(ctx context.Context, ids []string) ([]T, error) {
	out, err := s.byGUIDs(ctx, s.key, ids, Filter{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.op("GetByIDs"), err)
	}
	return out, nil
}

// byGUIDs lists records where field equals one of ids (and extra), chunked.
func (s *entitySet[T]) byGUIDs(ctx context.Context, field string, ids []string, extra Filter) ([]T, error) {
	seen := map[string]bool{}
	var vals []Value
	for _, id := range ids {
		if !IsGUID(id) {
			continue
		}
		k := strings.ToLower(id)
		if seen[k] {
			continue
		}
		seen[k] = true
		vals = append(vals, mustGUID(k))
	}
	return s.byValues(ctx, field, vals, extra)
}

// byValues lists records where field equals one of vals (and extra), in
// chunks of at most the batch size whose URL stays within the client's URL
// limit (see chunkKeys).
func (s *entitySet[T]) byValues(ctx context.Context, field string, vals []Value, extra Filter) ([]T, error) {
	keys := make([]Filter, 0, len(vals))
	for _, v := range vals {
		keys = append(keys, Eq(field, v))
	}
	return s.allChunked(ctx, keys, func(run []Filter) Query { return Query{Filter: And(Or(run...), extra)} })
}

// byCodes lists records whose Code is one of codes (deduplicated), chunked.
func (s *entitySet[T]) byCodes(ctx context.Context, codes []string, lit func(string) Value) ([]T, error) {
	seen := map[string]bool{}
	var vals []Value
	for _, c := range codes {
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		vals = append(vals, lit(c))
	}
	return s.byValues(ctx, "Code", vals, Filter{})
}

// forGUID lists all records whose field equals the GUID id.
func (s *entitySet[T]) forGUID(ctx context.Context, op, field, id string) ([]T, error) {
	v, err := GUID(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.op(op), ErrInvalidID)
	}
	out, err := s.all(ctx, Query{Filter: Eq(field, v)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.op(op), err)
	}
	return out, nil
}

// ItemsService reads logistics/Items.
type ItemsService struct{ entitySet[Item] }

// GetByCodes returns the items whose Code is one of codes (logistics/Items,
// Code eq '…' or …, chunked). Unknown codes are absent.
func (s *ItemsService) GetByCodes(ctx context.Context, codes []string) ([]Item, error) {
	out, err := s.byCodes(ctx, codes, String)
	if err != nil {
		return nil, fmt.Errorf("erp.Items.GetByCodes: %w", err)
	}
	return out, nil
}

// ItemGroupsService reads logistics/ItemGroups.
type ItemGroupsService struct{ entitySet[ItemGroup] }

// SalesItemPricesService reads logistics/SalesItemPrices.
type SalesItemPricesService struct{ entitySet[SalesItemPrice] }

// ForItems returns the logistics/SalesItemPrices rows of the given items:
// the general rows (see General) when account is "", otherwise the rows of
// that account's price agreements.
func (s *SalesItemPricesService) ForItems(ctx context.Context, itemIDs []string, account string) ([]SalesItemPrice, error) {
	if account == "" {
		return s.General(ctx, itemIDs)
	}
	v, err := GUID(account)
	if err != nil {
		return nil, fmt.Errorf("erp.SalesItemPrices.ForItems: %w", ErrInvalidID)
	}
	out, err := s.byGUIDs(ctx, "Item", itemIDs, Eq("Account", v))
	if err != nil {
		return nil, fmt.Errorf("erp.SalesItemPrices.ForItems: %w", err)
	}
	return out, nil
}

// ForAccount returns all logistics/SalesItemPrices rows of one account (its
// price agreements).
func (s *SalesItemPricesService) ForAccount(ctx context.Context, account string) ([]SalesItemPrice, error) {
	return s.forGUID(ctx, "ForAccount", "Account", account)
}

// PriceListsService reads sales/SalesPriceLists.
type PriceListsService struct{ entitySet[SalesPriceList] }

// PriceListPeriodsService reads sales/SalesPriceListPeriods.
type PriceListPeriodsService struct {
	entitySet[SalesPriceListPeriod]
}

// ForPriceList returns the sales/SalesPriceListPeriods of one price list.
func (s *PriceListPeriodsService) ForPriceList(ctx context.Context, priceList string) ([]SalesPriceListPeriod, error) {
	return s.forGUID(ctx, "ForPriceList", "PriceList", priceList)
}

// VolumeDiscountsService reads sales/SalesPriceListVolumeDiscounts.
type VolumeDiscountsService struct {
	entitySet[SalesPriceListVolumeDiscount]
}

// ForPeriods returns the sales/SalesPriceListVolumeDiscounts of the given
// price-list periods, chunked.
func (s *VolumeDiscountsService) ForPeriods(ctx context.Context, periodIDs []string) ([]SalesPriceListVolumeDiscount, error) {
	out, err := s.byGUIDs(ctx, "PriceListPeriod", periodIDs, Filter{})
	if err != nil {
		return nil, fmt.Errorf("erp.VolumeDiscounts.ForPeriods: %w", err)
	}
	return out, nil
}

// ItemWarehousesService reads inventory/ItemWarehouses.
type ItemWarehousesService struct{ entitySet[ItemWarehouse] }

// ForItems returns the inventory/ItemWarehouses rows (stock per warehouse)
// of the given items, chunked.
func (s *ItemWarehousesService) ForItems(ctx context.Context, itemIDs []string) ([]ItemWarehouse, error) {
	out, err := s.byGUIDs(ctx, "Item", itemIDs, Filter{})
	if err != nil {
		return nil, fmt.Errorf("erp.ItemWarehouses.ForItems: %w", err)
	}
	return out, nil
}

// WarehousesService reads inventory/Warehouses.
type WarehousesService struct{ entitySet[Warehouse] }

// GetByCodes returns the inventory/Warehouses whose Code is one of codes.
func (s *WarehousesService) GetByCodes(ctx context.Context, codes []string) ([]Warehouse, error) {
	out, err := s.byCodes(ctx, codes, String)
	if err != nil {
		return nil, fmt.Errorf("erp.Warehouses.GetByCodes: %w", err)
	}
	return out, nil
}

// AccountsService reads crm/Accounts.
type AccountsService struct{ entitySet[Account] }

// GetByCodes returns the crm/Accounts whose Code is one of codes; codes
// are padded to Exact's 18 characters.
func (s *AccountsService) GetByCodes(ctx context.Context, codes []string) ([]Account, error) {
	out, err := s.byCodes(ctx, codes, AccountCode)
	if err != nil {
		return nil, fmt.Errorf("erp.Accounts.GetByCodes: %w", err)
	}
	return out, nil
}

// ContactsService reads crm/Contacts.
type ContactsService struct{ entitySet[Contact] }

// ForAccount returns the crm/Contacts of one account.
func (s *ContactsService) ForAccount(ctx context.Context, account string) ([]Contact, error) {
	return s.forGUID(ctx, "ForAccount", "Account", account)
}

// AddressesService reads crm/Addresses.
type AddressesService struct{ entitySet[Address] }

// ForAccount returns the crm/Addresses of one account.
func (s *AddressesService) ForAccount(ctx context.Context, account string) ([]Address, error) {
	return s.forGUID(ctx, "ForAccount", "Account", account)
}

// ShippingMethodsService reads sales/ShippingMethods.
type ShippingMethodsService struct{ entitySet[ShippingMethod] }

// SalesOrdersService reads and creates salesorder/SalesOrders.
type SalesOrdersService struct{ entitySet[SalesOrder] }

// Find returns every salesorder/SalesOrders header matching q (lines are
// not included; use SalesOrderLines.ForOrders).
func (s *SalesOrdersService) Find(ctx context.Context, q Query) ([]SalesOrder, error) {
	out, err := s.all(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("erp.SalesOrders.Find: %w", err)
	}
	return out, nil
}

// Create POSTs o to salesorder/SalesOrders with Prefer: return=representation
// and returns the created order. It is sent once and never retried: when
// IsTransient(err) the outcome is unknown and the caller must look the order
// up before trying again.
func (s *SalesOrdersService) Create(ctx context.Context, o *NewSalesOrder) (*SalesOrder, error) {
	if o == nil || len(o.SalesOrderLines) == 0 {
		return nil, fmt.Errorf("erp.SalesOrders.Create: an order needs at least one line")
	}
	body, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("erp.SalesOrders.Create: %w", err)
	}
	u, err := s.c.endpointURL(ctx, s.path, "")
	if err != nil {
		return nil, fmt.Errorf("erp.SalesOrders.Create: %w", err)
	}
	resp, err := s.c.do(WithPriority(ctx, PriorityWrite), http.MethodPost, s.path, u, body, maxJSONBody)
	if err != nil {
		return nil, fmt.Errorf("erp.SalesOrders.Create: %w", err)
	}
	rows, _, err := decodeCollection[SalesOrder](resp)
	if err != nil || len(rows) == 0 || rows[0].OrderID == "" {
		// Exact accepted the order but its answer is unreadable: the
		// caller must look the order up, not POST it again.
		return nil, fmt.Errorf("erp.SalesOrders.Create: %w", ErrUnreadableResponse)
	}
	return &rows[0], nil
}

// SalesOrderLinesService reads salesorder/SalesOrderLines.
type SalesOrderLinesService struct{ entitySet[SalesOrderLine] }

// ForOrders returns the salesorder/SalesOrderLines of the given orders,
// chunked.
func (s *SalesOrderLinesService) ForOrders(ctx context.Context, orderIDs []string) ([]SalesOrderLine, error) {
	out, err := s.byGUIDs(ctx, "OrderID", orderIDs, Filter{})
	if err != nil {
		return nil, fmt.Errorf("erp.SalesOrderLines.ForOrders: %w", err)
	}
	return out, nil
}
