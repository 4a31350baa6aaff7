package index

import (
	"math"
	"strings"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// itemEntry is an item with everything search and sellability need worked
// out once, when the row arrives, so a query does no folding or date
// parsing per item.
type itemEntry struct {
	item        erp.Item // ID and ItemGroup lower-case
	code        string   // trimmed, case as Exact has it
	codeKey     string   // lower-cased code: lookups by code
	foldCode    string
	foldBarcode string
	foldDesc    string
	// text is the folded code, description, extra description and barcode
	// separated by NUL, which no folded query word contains, so a word
	// never matches across two fields.
	text string
	mask bigramMask
	// groupOrd is the item group's number in the state's groupOrd.
	groupOrd uint32
	// start and end are StartDate and EndDate as day numbers, open ends as
	// the extremes.
	start, end int32
}

func newItemEntry(it erp.Item) *itemEntry {
	code := strings.TrimSpace(it.Code)
	e := &itemEntry{
		item:        it,
		code:        code,
		codeKey:     strings.ToLower(code),
		foldCode:    Fold(code),
		foldBarcode: Fold(strings.TrimSpace(it.Barcode)),
		foldDesc:    Fold(strings.TrimSpace(it.Description)),
		start:       math.MinInt32,
		end:         math.MaxInt32,
	}
	extra := Fold(strings.TrimSpace(it.ExtraDescription))
	e.text = e.foldCode + "\x00" + e.foldDesc + "\x00" + extra + "\x00" + e.foldBarcode
	for _, f := range []string{e.foldCode, e.foldDesc, extra, e.foldBarcode} {
		e.mask.add(f)
	}
	if it.StartDate.Valid() {
		e.start = dayOf(it.StartDate.Date().Unix())
	}
	if it.EndDate.Valid() {
		e.end = dayOf(it.EndDate.Date().Unix())
	}
	return e
}

func dayOf(unix int64) int32 { return int32(unix / 86400) }

// dayNum is today's calendar date as a day number.
func dayNum(d civil.Date) int32 { return dayOf(d.Time().Unix()) }

// sellable reports ARCHITECTURE §3's rule for a product on day today.
func (e *itemEntry) sellable(today int32, webshopOnly bool) bool {
	return e.item.IsSalesItem && e.start <= today && e.end >= today &&
		(!webshopOnly || bool(e.item.IsWebshopItem))
}

// bigramMask is a 512-bit set of hashed byte pairs of an item's folded
// fields. A word can only be a substring of a field whose mask holds every
// pair of the word, so most items are ruled out by a few AND operations
// (see maskCovers) before any substring search runs. 512 bits (one cache line) keep a
// two-letter word such as "m8", a single pair, selective: measured on the
// benchmark catalogue, 256 bits let 28 % of the items through for it,
// 512 bits only the 10 % that match.
type bigramMask [8]uint64

func bigramBit(a, b byte) uint32 { return (uint32(a)<<8 | uint32(b)) * 0x9E3779B1 >> 23 }

func (m *bigramMask) add(s string) {
	for i := 0; i+1 < len(s); i++ {
		bit := bigramBit(s[i], s[i+1])
		m[bit>>6] |= 1 << (bit & 63)
	}
}

// Snapshot is one consistent, read-only version of the index. All its
// methods are safe for concurrent use and never change it; the values they
// return are copies or must be treated as read-only.
type Snapshot struct {
	cfg *Config
	s   *state
}

// Item returns the item with this ID whether or not it is sellable.
func (s *Snapshot) Item(id string) (erp.Item, bool) {
	e, ok := s.s.items.get(normID(id))
	if !ok {
		return erp.Item{}, false
	}
	return e.item, true
}

// Sellable reports whether the item with this ID is a sellable product on
// today (IsSalesItem, StartDate, EndDate and, when Config.WebshopOnly,
// IsWebshopItem; ARCHITECTURE §3).
func (s *Snapshot) Sellable(id string, today civil.Date) bool {
	e, ok := s.s.items.get(normID(id))
	return ok && e.sellable(dayNum(today), s.cfg.WebshopOnly)
}

// Product returns the sellable product with this item ID.
func (s *Snapshot) Product(id string, today civil.Date) (erp.Item, bool) {
	e, ok := s.s.items.get(normID(id))
	if !ok || !e.sellable(dayNum(today), s.cfg.WebshopOnly) {
		return erp.Item{}, false
	}
	return e.item, true
}

// ProductByCode returns the sellable product with this item code. The code
// is trimmed and compared case-insensitively, as Exact compares Code in a
// filter. Should two items differ only in case, the first in code order wins.
func (s *Snapshot) ProductByCode(code string, today civil.Date) (erp.Item, bool) {
	return s.first(s.s.codes[strings.ToLower(strings.TrimSpace(code))], today)
}

// ProductsByBarcode returns the sellable products with this barcode, in
// code order. The barcode is trimmed and compared case- and
// accent-insensitively.
func (s *Snapshot) ProductsByBarcode(barcode string, today civil.Date) []erp.Item {
	var out []erp.Item
	t := dayNum(today)
	for _, e := range s.s.barcode[Fold(strings.TrimSpace(barcode))] {
		if e.sellable(t, s.cfg.WebshopOnly) {
			out = append(out, e.item)
		}
	}
	return out
}

func (s *Snapshot) first(es []*itemEntry, today civil.Date) (erp.Item, bool) {
	t := dayNum(today)
	for _, e := range es {
		if e.sellable(t, s.cfg.WebshopOnly) {
			return e.item, true
		}
	}
	return erp.Item{}, false
}

// ItemGroup returns one item group.
func (s *Snapshot) ItemGroup(id string) (erp.ItemGroup, bool) {
	return s.s.groups.get(normID(id))
}

// ItemGroups returns every item group by code.
func (s *Snapshot) ItemGroups() []erp.ItemGroup {
	out := make([]erp.ItemGroup, 0, len(s.s.groups.rows))
	for g := range s.s.groups.values() {
		out = append(out, g)
	}
	sortByCode(out, func(g erp.ItemGroup) (string, string) { return g.Code, g.ID })
	return out
}

// ShippingMethods returns the active shipping methods by code.
func (s *Snapshot) ShippingMethods() []erp.ShippingMethod {
	var out []erp.ShippingMethod
	for m := range s.s.shipping.values() {
		if m.Active {
			out = append(out, m)
		}
	}
	sortByCode(out, func(m erp.ShippingMethod) (string, string) { return m.Code, m.ID })
	return out
}

// ShippingMethod returns one shipping method, active or not.
func (s *Snapshot) ShippingMethod(id string) (erp.ShippingMethod, bool) {
	return s.s.shipping.get(normID(id))
}

// PriceList returns one sales price list.
func (s *Snapshot) PriceList(id string) (erp.SalesPriceList, bool) {
	return s.s.priceLists.get(normID(id))
}
