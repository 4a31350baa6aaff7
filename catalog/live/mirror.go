package live

import (
	"context"
	"time"

	"github.com/exactql/exactql/cache"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/pricing"
)

// Mirror is the mirror's side of the read path (ARCHITECTURE §3: the mirror
// first, live reads only as a fallback). Package catalog implements it over
// the in-memory index. Every method reports ok=false while the mirror does
// not serve that data yet (the first full pass of a feed it needs has not
// finished); the Reader then takes the fallback path (cache, loaders,
// Exact). The rows it returns have the shape the matching Upstream call
// returns, so the Reader's own filtering and ordering apply to both paths
// and their answers agree.
type Mirror interface {
	// ItemsByIDs and ItemsByCodes return the known items, any order.
	ItemsByIDs(ids []string) ([]erp.Item, bool)
	ItemsByCodes(codes []string) ([]erp.Item, bool)
	// ItemsPage is Upstream.ItemsPage.
	ItemsPage(q ItemQuery) (items []erp.Item, more bool, ok bool)
	ItemGroups() ([]erp.ItemGroup, bool)
	Warehouses() ([]erp.Warehouse, bool)
	ShippingMethods() ([]erp.ShippingMethod, bool)
	Accounts(ids []string) ([]erp.Account, bool)
	PriceLists(ids []string) ([]erp.SalesPriceList, bool)
	Contacts(account string) ([]erp.Contact, bool)
	Addresses(account string) ([]erp.Address, bool)
	// StockRows returns, per ID in order, the item's stock rows (never
	// nil; read-only, they may be shared) and when the oldest of them was
	// read from Exact.
	StockRows(ids []string) ([][]erp.ItemWarehouse, time.Time, bool)
	// Prices reports whether every feed prices need is complete, so a Buyer
	// may be built from the mirror without agreements of its own.
	Prices() bool
	// PriceData returns, per item in order, every mirrored row the price
	// rules consult for the buyer.
	PriceData(b pricing.Terms, items []erp.Item) ([]pricing.Data, bool)
	// Lag is how old the mirror's copy of the named data is: the longest
	// time since a feed it needs last read Exact successfully. Names:
	// items, itemGroups, warehouses, shippingMethods, accounts, priceLists,
	// contacts, addresses, stock, prices.
	Lag(data string) time.Duration
}

// Freshness are the bounds past which an answer's data counts as stale
// (ARCHITECTURE §3; EXACTQL_FRESHNESS_*): extensions.stale and
// extensions.staleSeconds are set only for data older than its bound,
// never during normal background refreshes.
type Freshness struct {
	Stock     time.Duration
	Prices    time.Duration // prices and the catalogue's items
	Customers time.Duration // accounts, contacts, addresses
	Reference time.Duration // item groups, warehouses, shipping methods, price lists
}

// DefaultFreshness returns the documented bounds.
func DefaultFreshness() Freshness {
	return Freshness{Stock: 5 * time.Minute, Prices: 15 * time.Minute, Customers: 15 * time.Minute, Reference: time.Hour}
}

// bound returns the freshness bound of the named data.
func (f Freshness) bound(data string) time.Duration {
	switch data {
	case "stock":
		return f.Stock
	case "accounts", "contacts", "addresses":
		return f.Customers
	case "itemGroups", "warehouses", "shippingMethods", "priceLists":
		return f.Reference
	}
	return f.Prices
}

// noteMirror marks ctx stale when the mirror's copy of data, which just
// answered, is older than its freshness bound.
func (r *Reader) noteMirror(ctx context.Context, data string) {
	if lag := r.cfg.Mirror.Lag(data); lag > r.cfg.Freshness.bound(data) {
		cache.MarkStaleAge(ctx, lag)
	}
}

// mirror returns the configured Mirror, or nil.
func (r *Reader) mirror() Mirror { return r.cfg.Mirror }
