package index

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exactql/exactql/erp"
)

// state is one immutable version of the whole read model.
type state struct {
	items  table[*itemEntry] // grouped by item group, code order
	byCode scanList          // every item, code order
	byDesc scanList          // every item, description order
	// groupOrd numbers item groups for the scan rows; it only grows.
	groupOrd map[string]uint32
	codes    map[string][]*itemEntry
	barcode  map[string][]*itemEntry

	groups     table[erp.ItemGroup]
	prices     table[erp.SalesItemPrice] // grouped by item|account ("item|" for defaults)
	priceLists table[erp.SalesPriceList]
	periods    table[erp.SalesPriceListPeriod]         // grouped by price list
	discounts  table[erp.SalesPriceListVolumeDiscount] // grouped by period|item or period|group:G
	warehouses table[erp.Warehouse]
	whOrder    []erp.Warehouse   // main first, then by code
	stock      table[stockEntry] // grouped by item
	shipping   table[erp.ShippingMethod]
	accounts   table[erp.Account]
	contacts   table[erp.Contact]        // grouped by account
	addresses  table[erp.Address]        // grouped by account
	orders     table[erp.SalesOrder]     // grouped by OrderedBy, newest first
	lines      table[erp.SalesOrderLine] // grouped by order

	// avail caches, per warehouse ("" for any), the items with available
	// stock; each state gets its own, filled on first use.
	avail *availCache
	// memo holds the values readers derive from this state (price inputs,
	// stock per item); each state gets its own, filled on first use.
	memo *memo
}

// availCache is the lazily built stock filter of one state.
type availCache struct {
	mu   sync.Mutex
	byWH map[string]map[string]bool
}

// stockEntry is a stock row and when it was read.
type stockEntry struct {
	row  StockRow
	asOf time.Time
}

func emptyState() *state {
	return &state{
		items: newTable[*itemEntry](), groupOrd: map[string]uint32{}, codes: map[string][]*itemEntry{}, barcode: map[string][]*itemEntry{},
		groups: newTable[erp.ItemGroup](), prices: newTable[erp.SalesItemPrice](),
		priceLists: newTable[erp.SalesPriceList](), periods: newTable[erp.SalesPriceListPeriod](),
		discounts: newTable[erp.SalesPriceListVolumeDiscount](), warehouses: newTable[erp.Warehouse](),
		stock: newTable[stockEntry](), shipping: newTable[erp.ShippingMethod](),
		accounts: newTable[erp.Account](), contacts: newTable[erp.Contact](),
		addresses: newTable[erp.Address](), orders: newTable[erp.SalesOrder](),
		lines: newTable[erp.SalesOrderLine](), avail: &availCache{}, memo: newMemo(),
	}
}

// Specs: identity, grouping and order of every kind.
var (
	itemSpec = spec[*itemEntry]{
		id:    func(e *itemEntry) string { return e.item.ID },
		group: func(e *itemEntry) string { return e.item.ItemGroup },
		cmp:   cmpCode,
	}
	groupSpec = spec[erp.ItemGroup]{id: func(g erp.ItemGroup) string { return g.ID }}
	priceSpec = spec[erp.SalesItemPrice]{
		id:    func(p erp.SalesItemPrice) string { return p.ID },
		group: func(p erp.SalesItemPrice) string { return p.Item + "|" + p.Account },
		cmp:   func(a, b erp.SalesItemPrice) int { return strings.Compare(a.ID, b.ID) },
	}
	priceListSpec = spec[erp.SalesPriceList]{id: func(p erp.SalesPriceList) string { return p.ID }}
	periodSpec    = spec[erp.SalesPriceListPeriod]{
		id:    func(p erp.SalesPriceListPeriod) string { return p.ID },
		group: func(p erp.SalesPriceListPeriod) string { return p.PriceList },
		cmp:   func(a, b erp.SalesPriceListPeriod) int { return strings.Compare(a.ID, b.ID) },
	}
	discountSpec = spec[erp.SalesPriceListVolumeDiscount]{
		id:    func(d erp.SalesPriceListVolumeDiscount) string { return d.ID },
		group: discountKey,
		cmp:   func(a, b erp.SalesPriceListVolumeDiscount) int { return strings.Compare(a.ID, b.ID) },
	}
	warehouseSpec = spec[erp.Warehouse]{id: func(w erp.Warehouse) string { return w.ID }}
	stockSpec     = spec[stockEntry]{
		id:    func(e stockEntry) string { return e.row.ItemID + "|" + e.row.Warehouse },
		group: func(e stockEntry) string { return e.row.ItemID },
		cmp:   func(a, b stockEntry) int { return strings.Compare(a.row.Warehouse, b.row.Warehouse) },
	}
	shippingSpec = spec[erp.ShippingMethod]{id: func(m erp.ShippingMethod) string { return m.ID }}
	accountSpec  = spec[erp.Account]{id: func(a erp.Account) string { return a.ID }}
	contactSpec  = spec[erp.Contact]{
		id:    func(c erp.Contact) string { return c.ID },
		group: func(c erp.Contact) string { return c.Account },
		cmp: func(a, b erp.Contact) int {
			if a.IsMainContact != b.IsMainContact {
				if a.IsMainContact {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(a.FullName, b.FullName), strings.Compare(a.ID, b.ID))
		},
	}
	addressSpec = spec[erp.Address]{
		id:    func(a erp.Address) string { return a.ID },
		group: func(a erp.Address) string { return a.Account },
		cmp: func(a, b erp.Address) int {
			if a.Main != b.Main {
				if a.Main {
					return -1
				}
				return 1
			}
			return cmp.Or(cmp.Compare(a.Type, b.Type), strings.Compare(a.ID, b.ID))
		},
	}
	orderSpec = spec[erp.SalesOrder]{
		id:    func(o erp.SalesOrder) string { return o.OrderID },
		group: func(o erp.SalesOrder) string { return o.OrderedBy },
		cmp:   cmpNewest,
	}
	lineSpec = spec[erp.SalesOrderLine]{
		id:    func(l erp.SalesOrderLine) string { return l.ID },
		group: func(l erp.SalesOrderLine) string { return l.OrderID },
		cmp: func(a, b erp.SalesOrderLine) int {
			return cmp.Or(cmp.Compare(a.LineNumber, b.LineNumber), strings.Compare(a.ID, b.ID))
		},
	}
)

// discountKey groups a volume-discount row by its period and its item, or,
// for a row without an item, by its period and item group.
func discountKey(d erp.SalesPriceListVolumeDiscount) string {
	if d.Item != "" {
		return d.PriceListPeriod + "|" + d.Item
	}
	if d.ItemGroup != "" {
		return d.PriceListPeriod + "|group:" + d.ItemGroup
	}
	return ""
}

// cmpNewest orders orders newest first: by Created, then OrderID, both
// descending (the order service lists its own orders the same way).
func cmpNewest(a, b erp.SalesOrder) int {
	return cmp.Or(-a.Created.Time.Compare(b.Created.Time), -strings.Compare(a.OrderID, b.OrderID))
}

// cmpCode is the CODE sort: folded code, then the code as Exact has it,
// then the ID, so the order is total.
func cmpCode(a, b *itemEntry) int {
	return cmp.Or(strings.Compare(a.foldCode, b.foldCode), strings.Compare(a.code, b.code),
		strings.Compare(a.item.ID, b.item.ID))
}

// cmpDesc is the DESCRIPTION sort: folded description, then the CODE sort.
func cmpDesc(a, b *itemEntry) int {
	return cmp.Or(strings.Compare(a.foldDesc, b.foldDesc), cmpCode(a, b))
}

// normBatch is a validated batch with every key normalised.
type normBatch struct {
	items      []*itemEntry
	groups     []erp.ItemGroup
	prices     []erp.SalesItemPrice
	priceLists []erp.SalesPriceList
	periods    []erp.SalesPriceListPeriod
	discounts  []erp.SalesPriceListVolumeDiscount
	warehouses []erp.Warehouse
	stock      []stockEntry
	shipping   []erp.ShippingMethod
	accounts   []erp.Account
	contacts   []erp.Contact
	addresses  []erp.Address
	orders     []erp.SalesOrder
	lines      []erp.SalesOrderLine
	dels       map[Kind][]string
	replace    map[Kind]bool
}

// normalise validates b and returns a copy with lower-case keys, so the
// caller's slices are never retained or changed.
func normalise(b Batch) (*normBatch, error) {
	nb := &normBatch{dels: map[Kind][]string{}, replace: map[Kind]bool{}}
	bad := func(k Kind, i int, why string) error { return &BatchError{Kind: k, Index: i, Reason: why} }
	for i, k := range b.Replace {
		if _, ok := kindNames[k]; !ok {
			return nil, bad(k, i, "unknown kind in Replace")
		}
		nb.replace[k] = true
	}
	for i, d := range b.Deletes {
		if _, ok := kindNames[d.Kind]; !ok {
			return nil, bad(d.Kind, i, "unknown kind in Deletes")
		}
		id := normID(d.ID)
		if d.Kind == KindStock {
			it, wh, ok := strings.Cut(id, "|")
			if !ok || it == "" || wh == "" {
				return nil, bad(KindStock, i, "a stock deletion needs StockKey(item, warehouse)")
			}
		}
		if id == "" {
			return nil, bad(d.Kind, i, "deletion without an ID")
		}
		nb.dels[d.Kind] = append(nb.dels[d.Kind], id)
	}
	for i, it := range b.Items {
		it.ID, it.ItemGroup = normID(it.ID), normID(it.ItemGroup)
		if it.ID == "" {
			return nil, bad(KindItem, i, "empty ID")
		}
		nb.items = append(nb.items, newItemEntry(it))
	}
	for i, g := range b.ItemGroups {
		if g.ID = normID(g.ID); g.ID == "" {
			return nil, bad(KindItemGroup, i, "empty ID")
		}
		nb.groups = append(nb.groups, g)
	}
	for i, p := range b.ItemPrices {
		p.ID, p.Item, p.Account = normID(p.ID), normID(p.Item), normID(p.Account)
		if p.ID == "" || p.Item == "" {
			return nil, bad(KindItemPrice, i, "empty ID or Item")
		}
		nb.prices = append(nb.prices, p)
	}
	for i, p := range b.PriceLists {
		if p.ID = normID(p.ID); p.ID == "" {
			return nil, bad(KindPriceList, i, "empty ID")
		}
		nb.priceLists = append(nb.priceLists, p)
	}
	for i, p := range b.Periods {
		p.ID, p.PriceList = normID(p.ID), normID(p.PriceList)
		if p.ID == "" || p.PriceList == "" {
			return nil, bad(KindPriceListPeriod, i, "empty ID or PriceList")
		}
		nb.periods = append(nb.periods, p)
	}
	for i, d := range b.VolumeDiscounts {
		d.ID, d.PriceListPeriod, d.Item, d.ItemGroup = normID(d.ID), normID(d.PriceListPeriod), normID(d.Item), normID(d.ItemGroup)
		if d.ID == "" || d.PriceListPeriod == "" {
			return nil, bad(KindVolumeDiscount, i, "empty ID or PriceListPeriod")
		}
		nb.discounts = append(nb.discounts, d)
	}
	for i, w := range b.Warehouses {
		if w.ID = normID(w.ID); w.ID == "" {
			return nil, bad(KindWarehouse, i, "empty ID")
		}
		nb.warehouses = append(nb.warehouses, w)
	}
	for i, r := range b.Stock {
		r.ItemID, r.Warehouse = normID(r.ItemID), normID(r.Warehouse)
		if r.ItemID == "" || r.Warehouse == "" {
			return nil, bad(KindStock, i, "empty ItemID or Warehouse")
		}
		nb.stock = append(nb.stock, stockEntry{row: r, asOf: b.ReadAt})
	}
	for i, m := range b.ShippingMethods {
		if m.ID = normID(m.ID); m.ID == "" {
			return nil, bad(KindShippingMethod, i, "empty ID")
		}
		nb.shipping = append(nb.shipping, m)
	}
	for i, a := range b.Accounts {
		a.ID, a.PriceList, a.ShippingMethod = normID(a.ID), normID(a.PriceList), normID(a.ShippingMethod)
		a.InvoiceAccount, a.MainContact = normID(a.InvoiceAccount), normID(a.MainContact)
		if a.ID == "" {
			return nil, bad(KindAccount, i, "empty ID")
		}
		nb.accounts = append(nb.accounts, a)
	}
	for i, c := range b.Contacts {
		c.ID, c.Account = normID(c.ID), normID(c.Account)
		if c.ID == "" {
			return nil, bad(KindContact, i, "empty ID")
		}
		nb.contacts = append(nb.contacts, c)
	}
	for i, a := range b.Addresses {
		a.ID, a.Account, a.Contact = normID(a.ID), normID(a.Account), normID(a.Contact)
		if a.ID == "" {
			return nil, bad(KindAddress, i, "empty ID")
		}
		nb.addresses = append(nb.addresses, a)
	}
	addLine := func(i int, l erp.SalesOrderLine) error {
		l.ID, l.OrderID, l.Item = normID(l.ID), normID(l.OrderID), normID(l.Item)
		if l.ID == "" || l.OrderID == "" {
			return bad(KindOrderLine, i, "empty ID or OrderID")
		}
		nb.lines = append(nb.lines, l)
		return nil
	}
	for i, o := range b.Orders {
		o.OrderID, o.OrderedBy = normID(o.OrderID), normID(o.OrderedBy)
		if o.OrderID == "" {
			return nil, bad(KindOrder, i, "empty OrderID")
		}
		for _, l := range o.SalesOrderLines {
			if strings.TrimSpace(l.OrderID) == "" {
				l.OrderID = o.OrderID
			}
			if err := addLine(i, l); err != nil {
				return nil, &BatchError{Kind: KindOrder, Index: i, Reason: "an inline line has an empty ID"}
			}
		}
		o.SalesOrderLines = nil // lines live in their own table
		nb.orders = append(nb.orders, o)
	}
	for i, l := range b.OrderLines {
		if err := addLine(i, l); err != nil {
			return nil, err
		}
	}
	return nb, nil
}

// apply returns the state after nb, or an error and no state.
func (s *state) apply(nb *normBatch, limit int) (*state, error) {
	n := *s
	n.avail = &availCache{}
	n.memo = newMemo()
	rep, dels := nb.replace, nb.dels
	n.groups = s.groups.apply(groupSpec, nb.groups, dels[KindItemGroup], rep[KindItemGroup])
	n.prices = s.prices.apply(priceSpec, nb.prices, dels[KindItemPrice], rep[KindItemPrice])
	n.priceLists = s.priceLists.apply(priceListSpec, nb.priceLists, dels[KindPriceList], rep[KindPriceList])
	n.periods = s.periods.apply(periodSpec, nb.periods, dels[KindPriceListPeriod], rep[KindPriceListPeriod])
	n.discounts = s.discounts.apply(discountSpec, nb.discounts, dels[KindVolumeDiscount], rep[KindVolumeDiscount])
	n.warehouses = s.warehouses.apply(warehouseSpec, nb.warehouses, dels[KindWarehouse], rep[KindWarehouse])
	n.stock = s.stock.apply(stockSpec, nb.stock, dels[KindStock], rep[KindStock])
	n.shipping = s.shipping.apply(shippingSpec, nb.shipping, dels[KindShippingMethod], rep[KindShippingMethod])
	n.accounts = s.accounts.apply(accountSpec, nb.accounts, dels[KindAccount], rep[KindAccount])
	n.contacts = s.contacts.apply(contactSpec, nb.contacts, dels[KindContact], rep[KindContact])
	n.addresses = s.addresses.apply(addressSpec, nb.addresses, dels[KindAddress], rep[KindAddress])
	n.orders = s.orders.apply(orderSpec, nb.orders, dels[KindOrder], rep[KindOrder])

	// Deleting an order (or replacing all orders) takes its lines along.
	lineDels := slices.Clone(dels[KindOrderLine])
	for _, oid := range dels[KindOrder] {
		for _, l := range s.lines.in(oid) {
			lineDels = append(lineDels, l.ID)
		}
	}
	n.lines = s.lines.apply(lineSpec, nb.lines, lineDels, rep[KindOrderLine] || rep[KindOrder])

	if rep[KindWarehouse] || len(nb.warehouses) > 0 || len(dels[KindWarehouse]) > 0 {
		n.whOrder = slices.SortedFunc(n.warehouses.values(), func(a, b erp.Warehouse) int {
			if a.Main != b.Main {
				if a.Main {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(erp.Code(a.Code), erp.Code(b.Code)), strings.Compare(a.ID, b.ID))
		})
	}
	if rep[KindItem] || len(nb.items) > 0 || len(dels[KindItem]) > 0 {
		n.applyItems(s, nb.items, dels[KindItem], rep[KindItem])
	}
	for k, c := range n.counts() {
		if c > limit && c > s.counts()[k] {
			return nil, &LimitError{Kind: k, Rows: c, Limit: limit}
		}
	}
	return &n, nil
}

func (s *state) counts() map[Kind]int {
	return (&Snapshot{s: s}).Counts()
}

// applyItems updates the item table and the indexes derived from it.
func (n *state) applyItems(old *state, ups []*itemEntry, dels []string, replace bool) {
	n.items = old.items.apply(itemSpec, ups, dels, replace)
	// Fresh entries are not shared yet, so they can still be numbered.
	cloned := false
	for _, e := range ups {
		g := e.item.ItemGroup
		if g == "" {
			continue
		}
		ord, ok := n.groupOrd[g]
		if !ok {
			if !cloned {
				n.groupOrd, cloned = maps.Clone(n.groupOrd), true
			}
			ord = uint32(len(n.groupOrd) + 1)
			n.groupOrd[g] = ord
		}
		e.groupOrd = ord
	}
	if replace {
		all := slices.Collect(n.items.values())
		n.byCode = newScanList(slices.SortedFunc(slices.Values(all), cmpCode))
		n.byDesc = newScanList(slices.SortedFunc(slices.Values(all), cmpDesc))
		n.codes, n.barcode = map[string][]*itemEntry{}, map[string][]*itemEntry{}
		for _, e := range n.byCode.entries {
			addKey(n.codes, e.codeKey, e)
			addKey(n.barcode, e.foldBarcode, e)
		}
		return
	}
	// Every ID this batch touched leaves the sorted lists and lookup maps;
	// the entries it now holds come back in.
	touched := map[string]bool{}
	for _, id := range dels {
		touched[id] = true
	}
	for _, e := range ups {
		touched[e.item.ID] = true
	}
	var fresh, removed []*itemEntry
	for id := range touched {
		if e, ok := n.items.get(id); ok {
			fresh = append(fresh, e)
		}
		if e, ok := old.items.get(id); ok {
			removed = append(removed, e)
		}
	}
	n.codes, n.barcode = maps.Clone(old.codes), maps.Clone(old.barcode)
	for _, e := range removed {
		removeKey(n.codes, e.codeKey, e.item.ID)
		removeKey(n.barcode, e.foldBarcode, e.item.ID)
	}
	for _, e := range fresh {
		addKey(n.codes, e.codeKey, e)
		addKey(n.barcode, e.foldBarcode, e)
	}
	n.byCode = old.byCode.merge(removed, fresh, cmpCode)
	n.byDesc = old.byDesc.merge(removed, fresh, cmpDesc)
}

// scanList is the items in one sort order with what a query tests on every
// item laid out contiguously, so a scan over 50,000 items reads a few
// megabytes in order instead of chasing 50,000 pointers.
type scanList struct {
	entries []*itemEntry
	rows    []scanRow
	// masks holds the items' bigram masks column by column (word w of
	// every item's mask in masks[w]), so a query first tests the one word
	// where it has the most bits, reading 8 bytes per item instead of 64.
	masks [len(bigramMask{})][]uint64
	texts []string // each entry's text
}

// scanRow is the part of an item that sellability and filters read.
type scanRow struct {
	start, end int32
	group      uint32
	// codeEnd and descEnd are where the code and the description end in
	// the item's text; barcodeLen is the folded barcode's length.
	codeEnd, descEnd, barcodeLen int32
	sales                        bool
	webshop                      bool
}

func newScanList(entries []*itemEntry) scanList {
	l := scanList{entries: entries, rows: make([]scanRow, len(entries)), texts: make([]string, len(entries))}
	for w := range l.masks {
		l.masks[w] = make([]uint64, len(entries))
	}
	for i, e := range entries {
		l.rows[i] = scanRow{start: e.start, end: e.end, group: e.groupOrd, sales: e.item.IsSalesItem,
			webshop: bool(e.item.IsWebshopItem), codeEnd: int32(len(e.foldCode)),
			descEnd: int32(len(e.foldCode) + 1 + len(e.foldDesc)), barcodeLen: int32(len(e.foldBarcode))}
		for w, bits := range e.mask {
			l.masks[w][i] = bits
		}
		l.texts[i] = e.text
	}
	return l
}

// merge returns the list without removed and with fresh, copying runs of
// the old arrays instead of rebuilding every row.
func (l scanList) merge(removed, fresh []*itemEntry, c func(a, b *itemEntry) int) scanList {
	ops, fresh := mergePlan(l.entries, removed, fresh, c)
	f := newScanList(fresh)
	out := scanList{
		entries: applyPlan(ops, l.entries, f.entries),
		rows:    applyPlan(ops, l.rows, f.rows),
		texts:   applyPlan(ops, l.texts, f.texts),
	}
	for w := range out.masks {
		out.masks[w] = applyPlan(ops, l.masks[w], f.masks[w])
	}
	return out
}

// sellable is itemEntry.sellable on the compact row.
func (r *scanRow) sellable(today int32, webshopOnly bool) bool {
	return r.sales && r.start <= today && r.end >= today && (!webshopOnly || r.webshop)
}

// addKey adds e under key (kept in code order); an empty key adds nothing.
func addKey(m map[string][]*itemEntry, key string, e *itemEntry) {
	if key == "" {
		return
	}
	l := append(slices.Clone(m[key]), e)
	slices.SortFunc(l, cmpCode)
	m[key] = l
}

// removeKey removes the entry with id from key, copying the list.
func removeKey(m map[string][]*itemEntry, key, id string) {
	if key == "" {
		return
	}
	l := slices.DeleteFunc(slices.Clone(m[key]), func(e *itemEntry) bool { return e.item.ID == id })
	if len(l) == 0 {
		delete(m, key)
		return
	}
	m[key] = l
}
