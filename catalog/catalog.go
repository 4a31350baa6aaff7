// Package catalog is the gateway's read model (ARCHITECTURE §3): the one
// place the resolvers and the order service read Exact data from. It puts
// the mirror (catalog/index, filled by the sync feeds of catalog/feeds)
// first and the wave-1 fallback (catalog/live: cache, dataloaders,
// single-flight, Exact) behind it, per kind of data: a kind is answered by
// the mirror once every feed it needs has finished its first full pass.
//
// Mirror implements live.Mirror over an index and the runner's feed status,
// and Apply is the feeds' Subscriber that turns committed changes into
// index batches. Needs (needs.go) is the one table of which feeds each
// kind of data, and so each GraphQL field, reads.
package catalog

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/catalog/index"
	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
)

// Options configure NewMirror.
type Options struct {
	// Index is the in-memory read model the feeds fill.
	Index *index.Index
	// Status reports the feeds' state (the runner's Status); nil means no
	// feed ever completes and every read takes the fallback.
	Status func() []feeds.FeedStatus
	// Shop is the currency, time zone and sellability rule the order
	// service shares; the index is made with it when Index is nil.
	Shop validate.Shop
	// Now is the clock.
	Now func() time.Time
}

// Mirror answers reads from the index for the kinds whose feeds are
// complete. It is safe for concurrent use.
type Mirror struct {
	o Options
	// seen records the feeds whose rows reached Apply at least once, so a
	// feed that the store reports complete is not served before its stored
	// rows are in the index.
	mu   sync.Mutex
	seen map[string]bool
	// dropped counts rows the index refused (malformed at Exact); they are
	// skipped so the rest of their page still applies.
	dropped atomic.Int64
	// serving marks the kinds Serves has answered true for.
	serving [DataOrders + 1]atomic.Bool
}

var _ live.Mirror = (*Mirror)(nil)

// NewMirror returns a Mirror over o.
func NewMirror(o Options) *Mirror {
	o.Shop = o.Shop.WithDefaults()
	if o.Index == nil {
		o.Index = index.New(index.Config{Shop: o.Shop})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Mirror{o: o, seen: map[string]bool{}}
}

// Index returns the mirror's index.
func (m *Mirror) Index() *index.Index { return m.o.Index }

// Dropped returns how many mirrored rows the index refused.
func (m *Mirror) Dropped() int64 { return m.dropped.Load() }

// ready reports whether every named feed has finished its first full pass
// and its stored rows (if any) are in the index.
func (m *Mirror) ready(need []string) bool {
	if m.o.Status == nil || len(need) == 0 {
		return false
	}
	st := m.o.Status()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range need {
		ok := false
		for _, s := range st {
			if s.Feed == n {
				ok = s.Complete && (s.Rows == 0 || m.seen[n])
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Serves reports whether the mirror answers data of kind k now. Once it
// does it always will: feeds only ever complete, and rows once applied
// stay seen, so a positive answer is kept (every read asks, and asking the
// runner builds its whole status under its lock).
func (m *Mirror) Serves(k Data) bool {
	if k <= 0 || int(k) >= len(m.serving) {
		return m.ready(Needs[k])
	}
	if m.serving[k].Load() {
		return true
	}
	ok := m.ready(Needs[k])
	if ok {
		m.serving[k].Store(true)
	}
	return ok
}

func (m *Mirror) today() civil.Date { return m.o.Shop.Today(m.o.Now()) }

// ItemsByIDs implements live.Mirror.
func (m *Mirror) ItemsByIDs(ids []string) ([]erp.Item, bool) {
	return lookup(m, DataItems, ids, (*index.Snapshot).Item)
}

// ItemsByCodes implements live.Mirror: codes compare case-insensitively,
// as Exact compares Code in a filter; unsellable items are found too, as
// at Exact (callers check sellability).
func (m *Mirror) ItemsByCodes(codes []string) ([]erp.Item, bool) {
	return lookup(m, DataItems, codes, (*index.Snapshot).ItemByCode)
}

// ItemsPage implements live.Mirror with the fallback's semantics: sellable
// items by code after q.AfterCode, the search a case-insensitive substring
// of code or description (what Exact's substringof does).
func (m *Mirror) ItemsPage(q live.ItemQuery) ([]erp.Item, bool, bool) {
	if !m.Serves(DataItems) {
		return nil, false, false
	}
	today, err := civil.ParseDate(q.Today)
	if err != nil {
		today = m.today()
	}
	var match func(erp.Item) bool
	if t := strings.ToLower(q.Search); t != "" {
		match = func(it erp.Item) bool {
			return strings.Contains(strings.ToLower(it.Code), t) || strings.Contains(strings.ToLower(it.Description), t)
		}
	}
	items, more := m.o.Index.Snapshot().ProductsAfterCode(q.AfterCode, q.ItemGroup, q.Limit, today, match)
	return items, more, true
}

// ItemGroups implements live.Mirror.
func (m *Mirror) ItemGroups() ([]erp.ItemGroup, bool) {
	if !m.Serves(DataItemGroups) {
		return nil, false
	}
	return m.o.Index.Snapshot().ItemGroups(), true
}

// Warehouses implements live.Mirror.
func (m *Mirror) Warehouses() ([]erp.Warehouse, bool) {
	if !m.Serves(DataWarehouses) {
		return nil, false
	}
	return m.o.Index.Snapshot().Warehouses(), true
}

// ShippingMethods implements live.Mirror: every method, active or not (the
// Reader keeps the active ones, as it does with Exact's list).
func (m *Mirror) ShippingMethods() ([]erp.ShippingMethod, bool) {
	if !m.Serves(DataShippingMethods) {
		return nil, false
	}
	s := m.o.Index.Snapshot()
	// Snapshot.ShippingMethods lists the active ones only, which is what
	// the Reader keeps.
	return s.ShippingMethods(), true
}

// Accounts implements live.Mirror.
func (m *Mirror) Accounts(ids []string) ([]erp.Account, bool) {
	return lookup(m, DataAccounts, ids, (*index.Snapshot).Account)
}

// PriceLists implements live.Mirror.
func (m *Mirror) PriceLists(ids []string) ([]erp.SalesPriceList, bool) {
	return lookup(m, DataPriceLists, ids, (*index.Snapshot).PriceList)
}

// Contacts implements live.Mirror.
func (m *Mirror) Contacts(account string) ([]erp.Contact, bool) {
	if !m.Serves(DataContacts) {
		return nil, false
	}
	return m.o.Index.Snapshot().Contacts(account), true
}

// Addresses implements live.Mirror.
func (m *Mirror) Addresses(account string) ([]erp.Address, bool) {
	if !m.Serves(DataAddresses) {
		return nil, false
	}
	return m.o.Index.Snapshot().Addresses(account), true
}

// StockRows implements live.Mirror: per ID in order, the stock rows the
// feed delivered (a warehouse without a row has none, as at Exact), and the
// oldest read time among them. The rows of an item are built once per
// index state (index.Snapshot.Memo) and shared: callers only read them.
func (m *Mirror) StockRows(ids []string) ([][]erp.ItemWarehouse, time.Time, bool) {
	if !m.Serves(DataStock) {
		return nil, time.Time{}, false
	}
	s := m.o.Index.Snapshot()
	out := make([][]erp.ItemWarehouse, len(ids))
	var oldest time.Time
	for i, id := range ids {
		st := itemStock(s, id)
		out[i] = st.rows
		if !st.oldest.IsZero() && (oldest.IsZero() || st.oldest.Before(oldest)) {
			oldest = st.oldest
		}
	}
	if oldest.IsZero() {
		oldest = m.o.Now()
	}
	return out, oldest, true
}

// stockOf is one item's stock rows in ItemWarehouses form and the oldest
// read time among them (zero when it has none).
type stockOf struct {
	rows   []erp.ItemWarehouse
	oldest time.Time
}

// itemStock returns the item's stockOf, memoised on the snapshot.
func itemStock(s *index.Snapshot, id string) stockOf {
	id = strings.ToLower(strings.TrimSpace(id))
	return s.Memo(index.MemoKey{Kind: "catalog.stockRows", A: id}, func() any {
		st := stockOf{rows: []erp.ItemWarehouse{}}
		for _, l := range s.Stock(id, "") {
			if l.AsOf.IsZero() {
				continue // no row for this warehouse
			}
			if st.oldest.IsZero() || l.AsOf.Before(st.oldest) {
				st.oldest = l.AsOf
			}
			st.rows = append(st.rows, erp.ItemWarehouse{
				Item: id, Warehouse: l.Warehouse.ID, WarehouseCode: l.Warehouse.Code,
				CurrentStock: l.OnHand, PlannedStockIn: l.PlannedIn, PlannedStockOut: l.PlannedOut,
				ReservedStock: l.Reserved, ProjectedStock: l.OnHand.Add(l.PlannedIn).Sub(l.PlannedOut),
			})
		}
		return st
	}).(stockOf)
}

// Prices implements live.Mirror.
func (m *Mirror) Prices() bool { return m.Serves(DataPrices) }

// PriceData implements live.Mirror. An item the index does not hold (an
// item read from the fallback before the items feed completed) sends the
// whole call to the fallback.
func (m *Mirror) PriceData(b pricing.Terms, items []erp.Item) ([]pricing.Data, bool) {
	if !m.Serves(DataPrices) {
		return nil, false
	}
	s := m.o.Index.Snapshot()
	out := make([]pricing.Data, len(items))
	for i, it := range items {
		d, ok := s.PriceData(b, it.ID)
		if !ok {
			return nil, false
		}
		if !pricing.SameItem(it, d.Item) {
			// The caller's copy of the item (read before the mirror had
			// it) prices differently: no memoised answers for it.
			d.Memo = nil
		}
		d.Item = it
		out[i] = d
	}
	return out, true
}

// dataByName maps live's data names to kinds.
var dataByName = func() map[string]Data {
	m := make(map[string]Data, len(dataNames))
	for d, n := range dataNames {
		m[n] = d
	}
	return m
}()

// Lag implements live.Mirror: the longest time since a feed the named data
// needs last read Exact successfully (0 for an unknown name or no status).
func (m *Mirror) Lag(data string) time.Duration {
	d, ok := dataByName[data]
	if !ok || m.o.Status == nil {
		return 0
	}
	now := m.o.Now()
	var lag time.Duration
	for _, s := range m.o.Status() {
		for _, n := range Needs[d] {
			if s.Feed == n && !s.LastSuccess.IsZero() {
				lag = max(lag, now.Sub(s.LastSuccess))
			}
		}
	}
	return lag
}

// lookup answers keys from the index when the mirror serves kind k: the
// rows found, in key order, and true; false sends the caller to the
// fallback.
func lookup[T any](m *Mirror, k Data, keys []string, get func(*index.Snapshot, string) (T, bool)) ([]T, bool) {
	if !m.Serves(k) {
		return nil, false
	}
	s := m.o.Index.Snapshot()
	out := make([]T, 0, len(keys))
	for _, key := range keys {
		if v, ok := get(s, key); ok {
			out = append(out, v)
		}
	}
	return out, true
}
