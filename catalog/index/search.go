package index

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// Sort is a product list's order (schema-v2 ProductSort).
type Sort int

// The product sorts. SortDefault is SortRelevance with a search, else
// SortCode (schema-v2: "Default: RELEVANCE with a search, else CODE").
const (
	SortDefault Sort = iota
	SortCode
	SortDescription
	SortRelevance
)

// Limits of a product query (ARCHITECTURE §3).
const (
	MaxFirst       = 100
	MinSearchRunes = 2
	MaxSearchRunes = 100
	maxCursorLen   = 1024
)

// Query asks for one page of sellable products.
type Query struct {
	// Search: every whitespace-separated word must be a substring, after
	// lower-casing and accent folding, of the code, description, extra
	// description or barcode. Empty means no search.
	Search string
	// ItemGroup limits the list to one item group; an unknown group has no
	// products.
	ItemGroup string
	// InStock keeps only products with available stock (available > 0) in
	// any warehouse, or in InWarehouse when that is set.
	InStock bool
	// InWarehouse names the warehouse whose stock counts. Set on its own it
	// filters like InStock in that warehouse: the safe reading of the
	// contract, which documents the pair together.
	InWarehouse string
	Sort        Sort
	// First is the page size, 1 to MaxFirst.
	First int
	// After is the EndCursor of an earlier page of the same query.
	After string
	// Today decides sellability.
	Today civil.Date
}

// Page is one page of products.
type Page struct {
	Items []erp.Item
	// Cursors holds each item's cursor, in the order of Items.
	Cursors     []string
	HasNextPage bool
	// EndCursor is the last item's cursor; empty on an empty page.
	EndCursor string
	// TotalCount is how many products match, over all pages.
	TotalCount int
}

// cursorData is the position after which the next page starts: the last
// item's sort key, never an offset, so rows added or removed before it do
// not shift the walk. Q ties it to one query.
type cursorData struct {
	Q string `json:"q"`
	T int    `json:"t"`           // tier: 0 exact code/barcode hit, then relevance tiers
	D string `json:"d,omitempty"` // folded description (DESCRIPTION sort)
	C string `json:"c"`           // folded code
	K string `json:"k"`           // code
	I string `json:"i"`           // item ID
}

// compiled is a validated query.
type compiled struct {
	words  []string
	whole  string // the folded search as one string, for exact hits
	mask   bigramMask
	sort   Sort
	group  string
	stock  bool
	wh     string
	hash   string
	today  int32
	webOnl bool
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

func (s *Snapshot) compile(q Query) (*compiled, error) {
	if q.First < 1 || q.First > MaxFirst {
		return nil, invalid("first must be from 1 to %d", MaxFirst)
	}
	if q.Today.IsZero() {
		// Sellability depends on the date; a forgotten Today would list
		// items that have ended.
		return nil, invalid("today is required")
	}
	search := strings.TrimSpace(q.Search)
	if !utf8.ValidString(search) {
		return nil, invalid("search is not valid UTF-8")
	}
	if search != "" {
		n := utf8.RuneCountInString(search)
		if n < MinSearchRunes || n > MaxSearchRunes {
			return nil, invalid("search needs %d to %d characters", MinSearchRunes, MaxSearchRunes)
		}
	}
	c := &compiled{sort: q.Sort, group: normID(q.ItemGroup), stock: q.InStock || q.InWarehouse != "",
		wh: normID(q.InWarehouse), today: dayNum(q.Today), webOnl: s.cfg.WebshopOnly}
	if c.wh != "" {
		if _, ok := s.s.warehouses.get(c.wh); !ok {
			return nil, invalid("inWarehouse is not a known warehouse")
		}
	}
	folded := Fold(search)
	c.words = strings.Fields(folded)
	c.whole = strings.Join(c.words, " ")
	for _, w := range c.words {
		c.mask.add(w)
	}
	switch c.sort {
	case SortDefault:
		c.sort = SortCode
		if len(c.words) > 0 {
			c.sort = SortRelevance
		}
	case SortCode, SortDescription, SortRelevance:
	default:
		return nil, invalid("unknown sort %d", int(q.Sort))
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%q|%q|%t|%q|%d", c.whole, c.group, c.stock, c.wh, c.sort))
	c.hash = hex.EncodeToString(h[:8])
	return c, nil
}

// maskColumn is one 64-bit word of the query's bigram mask.
type maskColumn struct {
	w    int
	bits uint64
}

// maskColumns returns the query mask's non-zero words, those with the most
// bits first: the likeliest to rule an item out.
func (c *compiled) maskColumns() []maskColumn {
	var cols []maskColumn
	for w, m := range c.mask {
		if m != 0 {
			cols = append(cols, maskColumn{w, m})
		}
	}
	slices.SortStableFunc(cols, func(a, b maskColumn) int {
		return bits.OnesCount64(b.bits) - bits.OnesCount64(a.bits)
	})
	return cols
}

// maskCovers reports whether item i's mask holds every bit of the query's.
func maskCovers(l *scanList, i int, cols []maskColumn) bool {
	for _, c := range cols {
		if l.masks[c.w][i]&c.bits != c.bits {
			return false
		}
	}
	return true
}

// tiers is how many rank tiers a sort has.
func (c *compiled) tiers() int {
	if c.sort == SortRelevance {
		return 4
	}
	return 2
}

// match reports whether the item with this text and row matches the
// search, and its tier: 0 for an exact code or barcode hit; then, for
// RELEVANCE, 1 when the code starts with the first word, 2 when every word
// is in the code or description, 3 for the rest; for the other sorts 1 for
// every other match. The caller has already checked the item's bigram mask.
// Everything is read from the text alone (code, description, extra
// description and barcode joined by NUL), one string per item.
func (c *compiled) match(text string, r *scanRow) (int, bool) {
	if len(c.words) == 0 {
		return 1, true
	}
	n := len(c.whole)
	if (int(r.codeEnd) == n && text[:n] == c.whole) ||
		(int(r.barcodeLen) == n && n > 0 && text[len(text)-n:] == c.whole) {
		return 0, true
	}
	inCodeOrDesc := true
	for _, w := range c.words {
		// The first occurrence decides "in code or description": those
		// two fields come first in the text and no word spans a NUL.
		p := strings.Index(text, w)
		if p < 0 {
			return 0, false
		}
		if p+len(w) > int(r.descEnd) {
			inCodeOrDesc = false
		}
	}
	switch {
	case c.sort != SortRelevance:
		return 1, true
	case strings.HasPrefix(text, c.words[0]):
		return 1, true
	case inCodeOrDesc:
		return 2, true
	}
	return 3, true
}

// Products returns one page of sellable products for q: exact code or
// barcode hits first, then q's sort. Errors wrap ErrInvalidArgument.
func (s *Snapshot) Products(q Query) (Page, error) {
	c, err := s.compile(q)
	if err != nil {
		return Page{}, err
	}
	var cur *cursorData
	if q.After != "" {
		if cur, err = decodeCursor(q.After, c.hash); err != nil {
			return Page{}, err
		}
	}
	cmpFn, list := cmpCode, &s.s.byCode
	if c.sort == SortDescription {
		cmpFn, list = cmpDesc, &s.s.byDesc
	}
	var group uint32
	if c.group != "" {
		var ok bool
		if group, ok = s.s.groupOrd[c.group]; !ok {
			return Page{}, nil // an unknown group has no products
		}
	}
	// start is the first position in list after the cursor's key; in the
	// cursor's own tier only positions from there on are collected.
	start := 0
	if cur != nil {
		pivot := &itemEntry{foldDesc: cur.D, foldCode: cur.C, code: cur.K, item: erp.Item{ID: cur.I}}
		start = sort.Search(len(list.entries), func(i int) bool { return cmpFn(list.entries[i], pivot) > 0 })
	}
	want := q.First + 1
	buckets := make([][]*itemEntry, c.tiers())
	var avail map[string]bool
	if c.stock {
		avail = s.availableItems(c.wh)
	}
	total := 0
	searching := len(c.words) > 0
	cols := c.maskColumns()
	// The column with the most query bits is tested inline; it rules out
	// nearly every item that does not match. A search of one-letter words
	// has no pairs, so no mask test.
	maskTest := searching && len(cols) > 0
	var m0 []uint64
	var b0 uint64
	if maskTest {
		m0, b0, cols = list.masks[cols[0].w], cols[0].bits, cols[1:]
	}
	for i := range list.rows {
		r := &list.rows[i]
		if !r.sellable(c.today, c.webOnl) || (group != 0 && r.group != group) {
			continue
		}
		if maskTest && (m0[i]&b0 != b0 || !maskCovers(list, i, cols)) {
			// An exact code or barcode hit holds every word too, so
			// the mask never rules one out.
			continue
		}
		tier, ok := c.match(list.texts[i], r)
		if !ok {
			continue
		}
		e := list.entries[i]
		if avail != nil && !avail[e.item.ID] {
			continue
		}
		total++
		if cur != nil && (tier < cur.T || (tier == cur.T && i < start)) {
			continue
		}
		if len(buckets[tier]) < want {
			buckets[tier] = append(buckets[tier], e)
		}
	}
	page := Page{TotalCount: total}
	for tier, b := range buckets {
		for _, e := range b {
			if len(page.Items) == q.First {
				page.HasNextPage = true
				break
			}
			page.Items = append(page.Items, e.item)
			page.Cursors = append(page.Cursors, encodeCursor(c, tier, e))
		}
	}
	if n := len(page.Cursors); n > 0 {
		page.EndCursor = page.Cursors[n-1]
	}
	return page, nil
}

// availableItems returns the IDs of items with available stock in wh, or
// in any known warehouse when wh is empty.
func (s *Snapshot) availableItems(wh string) map[string]bool {
	c := s.s.avail
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := c.byWH[wh]; ok {
		return m
	}
	if c.byWH == nil {
		c.byWH = map[string]map[string]bool{}
	}
	out := map[string]bool{}
	c.byWH[wh] = out
	for se := range s.s.stock.values() {
		r := se.row
		if wh != "" && r.Warehouse != wh {
			continue
		}
		if !s.s.warehouses.has(r.Warehouse) {
			continue
		}
		if available(r).IsPositive() {
			out[r.ItemID] = true
		}
	}
	return out
}

func encodeCursor(c *compiled, tier int, e *itemEntry) string {
	d := cursorData{Q: c.hash, T: tier, C: e.foldCode, K: e.code, I: e.item.ID}
	if c.sort == SortDescription {
		d.D = e.foldDesc
	}
	b, _ := json.Marshal(d) // cannot fail: strings and an int
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor checks that s is a cursor of the query with this hash.
func decodeCursor(s, hash string) (*cursorData, error) {
	if len(s) > maxCursorLen {
		return nil, invalid("after is not a valid cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, invalid("after is not a valid cursor")
	}
	var d cursorData
	if err := json.Unmarshal(b, &d); err != nil || d.I == "" || d.T < 0 || d.T > 3 {
		return nil, invalid("after is not a valid cursor")
	}
	if d.Q != hash {
		return nil, invalid("after belongs to another query")
	}
	return &d, nil
}
