package index

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders/validate"
)

// Config is what the read model needs besides the rows. It is fixed for
// the life of an Index.
type Config struct {
	// Shop is the currency (of Items.StandardSalesPrice and anonymous
	// public prices) and the sellability rule the order service shares;
	// its Location is not used (queries carry their Today).
	validate.Shop
	// MaxRowsPerKind bounds the rows of any one kind the index holds; a
	// batch that would exceed it is refused whole with a *LimitError.
	// Zero means DefaultMaxRowsPerKind.
	MaxRowsPerKind int
}

// DefaultMaxRowsPerKind is the row bound per kind when Config leaves it
// zero: far above a wholesaler's catalogue (50,000 items, a few hundred
// thousand price and stock rows) yet low enough that a runaway feed cannot
// take the process's memory.
const DefaultMaxRowsPerKind = 2_000_000

// StockRow is one item's stock in one warehouse, as read from
// sync/Inventory/StockPositions (ARCHITECTURE §5): OnHand is CurrentStock,
// PlannedOut PlanningOut, PlannedIn PlanningIn, Reserved ReservedStock.
type StockRow struct {
	ItemID     string
	Warehouse  string
	OnHand     decimal.Decimal
	PlannedOut decimal.Decimal
	PlannedIn  decimal.Decimal
	Reserved   decimal.Decimal
}

// StockKey is the identity of a stock row, the ID a Deletion of KindStock
// names: one item in one warehouse.
func StockKey(itemID, warehouse string) string { return normID(itemID) + "|" + normID(warehouse) }

// Kind names one kind of mirrored row.
type Kind int

// The kinds of rows the index holds.
const (
	KindItem Kind = iota + 1
	KindItemGroup
	KindItemPrice
	KindPriceList
	KindPriceListPeriod
	KindVolumeDiscount
	KindWarehouse
	KindStock
	KindShippingMethod
	KindAccount
	KindContact
	KindAddress
	KindOrder
	KindOrderLine
)

var kindNames = map[Kind]string{
	KindItem: "items", KindItemGroup: "itemGroups", KindItemPrice: "itemPrices",
	KindPriceList: "priceLists", KindPriceListPeriod: "priceListPeriods",
	KindVolumeDiscount: "volumeDiscounts", KindWarehouse: "warehouses", KindStock: "stock",
	KindShippingMethod: "shippingMethods", KindAccount: "accounts", KindContact: "contacts",
	KindAddress: "addresses", KindOrder: "orders", KindOrderLine: "orderLines",
}

// String returns the kind's name as used in errors.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Deletion removes one row: by its ID, or for KindStock by StockKey.
// Deleting an order removes its lines too. Deleting a row the index does
// not hold is not an error (sync/Deleted may report rows never mirrored).
type Deletion struct {
	Kind Kind
	ID   string
}

// Batch is one call's worth of changes from the feeds. Apply makes all of
// it visible at once, or none of it. Within a batch deletions apply before
// upserts; the last upsert of an ID wins.
type Batch struct {
	Items           []erp.Item
	ItemGroups      []erp.ItemGroup
	ItemPrices      []erp.SalesItemPrice
	PriceLists      []erp.SalesPriceList
	Periods         []erp.SalesPriceListPeriod
	VolumeDiscounts []erp.SalesPriceListVolumeDiscount
	Warehouses      []erp.Warehouse
	Stock           []StockRow
	ShippingMethods []erp.ShippingMethod
	Accounts        []erp.Account
	Contacts        []erp.Contact
	Addresses       []erp.Address
	// Orders are order headers; lines a header carries inline are applied
	// as OrderLines too.
	Orders     []erp.SalesOrder
	OrderLines []erp.SalesOrderLine
	Deletes    []Deletion
	// Replace lists the kinds this batch carries whole (a re-read of a small
	// reference set without $filter): their rows become exactly the batch's.
	Replace []Kind
	// ReadAt is when the rows were read from Exact; stock levels report it
	// as asOf. Zero leaves the asOf of the rows unknown (zero).
	ReadAt time.Time
}

// ErrInvalidArgument is wrapped by every error about a caller's argument
// (a malformed cursor, a page size out of range, an unknown sort).
var ErrInvalidArgument = errors.New("index: invalid argument")

// BatchError reports a row Apply refused; the batch changed nothing.
type BatchError struct {
	Kind   Kind
	Index  int // position of the row within its slice of the batch
	Reason string
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("index.Apply: %s[%d]: %s", e.Kind, e.Index, e.Reason)
}

// LimitError reports a batch that would take a kind past
// Config.MaxRowsPerKind; the batch changed nothing.
type LimitError struct {
	Kind  Kind
	Rows  int
	Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("index.Apply: %s would hold %d rows, over the limit of %d", e.Kind, e.Rows, e.Limit)
}

// Index is the mirror's in-memory read model. Apply publishes a new
// immutable state; Snapshot returns the current one. Readers never block
// writers or each other and never see half a batch.
type Index struct {
	cfg   Config
	mu    sync.Mutex // serialises Apply
	state atomic.Pointer[state]
}

// New returns an empty Index.
func New(cfg Config) *Index {
	cfg.Shop = cfg.Shop.WithDefaults()
	if cfg.MaxRowsPerKind <= 0 {
		cfg.MaxRowsPerKind = DefaultMaxRowsPerKind
	}
	x := &Index{cfg: cfg}
	x.state.Store(emptyState())
	return x
}

// Snapshot returns a consistent read-only view of the index as of the last
// Apply. A request should take one Snapshot and read everything from it.
func (x *Index) Snapshot() *Snapshot {
	return &Snapshot{cfg: &x.cfg, s: x.state.Load()}
}

// Apply validates b and makes all of it visible at once. On any error
// (*BatchError, *LimitError) nothing changes. Apply is safe to call from
// several goroutines; batches apply one after the other.
func (x *Index) Apply(b Batch) (err error) {
	defer func() {
		// A bug in building the next state must not take down the feed
		// runner that called us, and must not publish a half-built state.
		if r := recover(); r != nil {
			err = fmt.Errorf("index.Apply: internal error: %v", r)
		}
	}()
	// A batch larger than the bound on its own is refused before any
	// work, so a runaway feed cannot make Apply build a huge state first.
	for k, n := range map[Kind]int{
		KindItem: len(b.Items), KindItemGroup: len(b.ItemGroups), KindItemPrice: len(b.ItemPrices),
		KindPriceList: len(b.PriceLists), KindPriceListPeriod: len(b.Periods), KindVolumeDiscount: len(b.VolumeDiscounts),
		KindWarehouse: len(b.Warehouses), KindStock: len(b.Stock), KindShippingMethod: len(b.ShippingMethods),
		KindAccount: len(b.Accounts), KindContact: len(b.Contacts), KindAddress: len(b.Addresses),
		KindOrder: len(b.Orders), KindOrderLine: len(b.OrderLines),
	} {
		if n > x.cfg.MaxRowsPerKind {
			return &LimitError{Kind: k, Rows: n, Limit: x.cfg.MaxRowsPerKind}
		}
	}
	nb, err := normalise(b)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	next, err := x.state.Load().apply(nb, x.cfg.MaxRowsPerKind)
	if err != nil {
		return err
	}
	x.state.Store(next)
	return nil
}

// Counts returns the number of rows held per kind, for metrics.
func (s *Snapshot) Counts() map[Kind]int {
	st := s.s
	return map[Kind]int{
		KindItem: len(st.items.rows), KindItemGroup: len(st.groups.rows),
		KindItemPrice: len(st.prices.rows), KindPriceList: len(st.priceLists.rows),
		KindPriceListPeriod: len(st.periods.rows), KindVolumeDiscount: len(st.discounts.rows),
		KindWarehouse: len(st.warehouses.rows), KindStock: len(st.stock.rows),
		KindShippingMethod: len(st.shipping.rows), KindAccount: len(st.accounts.rows),
		KindContact: len(st.contacts.rows), KindAddress: len(st.addresses.rows),
		KindOrder: len(st.orders.rows), KindOrderLine: len(st.lines.rows),
	}
}

// normID is the form every GUID key takes inside the index.
func normID(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
