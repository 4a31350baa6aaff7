// Package pricing resolves a buyer's price for an item as pure functions over
// Exact Online records (ARCHITECTURE §4). It does no I/O and reads no clock:
// "today" and the division's currency come in a Context.
//
// Readings of the rules that §4 leaves open, chosen on the safe side:
//
//   - Currency codes compare case-insensitively after trimming. A row, a
//     price-list period or a buyer without a currency is in the division's
//     currency (Exact's default). A price-list period whose currency differs
//     from the buyer's is ignored, and so are its rows (volume-discount rows
//     carry no currency of their own).
//   - Unit codes compare case-insensitively after trimming Exact's padding; a
//     row with an empty Unit applies to the item's sales unit. The item's
//     sales unit is Items.Unit, or the price row's DefaultItemUnit when the
//     item has none. A volume-discount row whose SalesUnit is set and differs
//     is ignored like one whose Unit differs. A row whose
//     NumberOfItemsPerUnit is set and not 1 prices a pack of several units
//     (UNCONFIRMED how Exact converts it): it is ignored rather than
//     applied to one unit.
//   - A volume-discount row's base (EntryMethod 1) is BasePriceAmount only
//     when BasePrice is set (a GUID, "set base price"); with BasePrice null
//     ("standard sales price") it is the step-3 default price at the same
//     quantity, whatever BasePriceAmount says (Exact fills it with the latest
//     item sales price). A set base price without an amount yields no list
//     price, so step 3 decides.
//   - A volume-discount row is a group row when its Item is empty and its
//     ItemGroup is the item's group; a row for another item never counts.
//   - Periods of a Type other than Basic (1) or Special offer (2) are ignored.
//   - Ties that §4 does not break (same Quantity and same StartDate, or two
//     volume-discount rows of one period at the same Quantity) go to the
//     lowest resulting price, then to the lowest row ID, so the answer never
//     depends on the order Exact returned the rows in.
//   - Items.StandardSalesPrice of zero is Exact's "not set", not a free item:
//     it yields no price. An explicit SalesItemPrices row of 0 is a price.
//   - The base of a price-list discount and of the account discount is the
//     unrounded default price; only the resulting amounts are rounded.
//   - When a CUSTOMER_PRICE or PRICE_LIST applies but there is no step-3
//     default price, listPrice is the unit price (discountPercentage 0).
//   - A quantity that is not positive has no price.
package pricing

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// Source names the rule that produced a unit price; the values are the
// GraphQL PriceSource enum's.
type Source string

// The price sources of ARCHITECTURE §4.
const (
	SourceCustomerPrice   Source = "CUSTOMER_PRICE"
	SourcePriceList       Source = "PRICE_LIST"
	SourceAccountDiscount Source = "ACCOUNT_DISCOUNT"
	SourceDefaultPrice    Source = "DEFAULT_PRICE"
)

// Terms is the account side of a price. An anonymous caller with public
// prices is Terms{Currency: divisionCurrency}: no agreements, no price list,
// no discount.
type Terms struct {
	// AccountID is the crm/Accounts ID; empty for an anonymous caller.
	AccountID string
	// Currency is the account's SalesCurrency; empty means the division's.
	Currency string
	// PriceList is the account's sales price list ID, empty when none.
	PriceList string
	// DiscountSales is the account's default sales discount as a fraction.
	DiscountSales decimal.Decimal
}

// TermsFromAccount returns the Buyer for an Exact account. An account without
// a SalesCurrency buys in the division's currency.
func TermsFromAccount(a erp.Account, divisionCurrency string) Terms {
	cur := strings.TrimSpace(a.SalesCurrency)
	if cur == "" {
		cur = strings.TrimSpace(divisionCurrency)
	}
	return Terms{
		AccountID:     a.ID,
		Currency:      cur,
		PriceList:     a.PriceList,
		DiscountSales: a.DiscountSales,
	}
}

// Data holds every Exact row the rules may consult for one item and one
// buyer. Rows may be a superset: Resolve filters by item, account, currency,
// unit, validity and period itself.
type Data struct {
	Item erp.Item
	// DefaultRows are the item's logistics/SalesItemPrices rows without an
	// Account (any currency or validity).
	DefaultRows []erp.SalesItemPrice
	// AccountRows are the item's logistics/SalesItemPrices rows for the
	// buyer's account.
	AccountRows []erp.SalesItemPrice
	// Periods are the sales/SalesPriceListPeriods of the buyer's price list
	// (any validity).
	Periods []erp.SalesPriceListPeriod
	// Discounts are the sales/SalesPriceListVolumeDiscounts rows of those
	// periods, for any items or item groups.
	Discounts []erp.SalesPriceListVolumeDiscount
	// Memo, when set, keeps Resolve's answers at quantity 1 for these rows.
	// Set it only on a Data whose rows never change and whose Memo no other
	// Data shares (the mirror sets one per index state, buyer scope and
	// item); nil prices every call afresh.
	Memo *Memo
}

// Context carries what the rules need besides the rows.
type Context struct {
	// Today is the calendar date in the division's time zone.
	Today civil.Date
	// DivisionCurrency is the currency of Items.StandardSalesPrice
	// (EXACTQL_CURRENCY).
	DivisionCurrency string
}

// Price is a resolved price. Every money amount is rounded half away from
// zero to 2 decimals.
type Price struct {
	UnitPrice          decimal.Decimal
	ListPrice          decimal.Decimal
	DiscountPercentage decimal.Decimal
	Quantity           decimal.Decimal
	Currency           string
	Source             Source
	// ValidUntil is the last day the producing rule is valid; nil when it
	// does not end.
	ValidUntil *civil.Date
}

// Break is one volume tier of a buyer's price for an item.
type Break struct {
	MinimumQuantity decimal.Decimal
	UnitPrice       decimal.Decimal
	Currency        string
}

var (
	one     = decimal.NewFromInt(1)
	hundred = decimal.NewFromInt(100)
)

// Round2 rounds d half away from zero to 2 decimals (0.125 → 0.13,
// -0.125 → -0.13).
func Round2(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// LineAmount is round2(unitPrice × qty), computed with the unit price rounded
// to 2 decimals first as the buyer saw it.
func LineAmount(unitPrice, qty decimal.Decimal) decimal.Decimal {
	return Round2(Round2(unitPrice).Mul(qty))
}

// Resolve returns the buyer's price for d.Item at quantity q (ARCHITECTURE
// §4), and false when no rule yields a price.
func Resolve(c Context, b Terms, d Data, q decimal.Decimal) (Price, bool) {
	// Quantity 1 written as 1 (not 1.0: the answer carries the quantity as
	// given) is a product page's price: memoised when d allows.
	if d.Memo != nil && q.Exponent() == 0 && q.Equal(one) {
		return d.Memo.resolveOne(c, b, d)
	}
	return newResolver(c, b, d).resolve(q)
}

// SameItem reports whether the rules price a and b alike: the item fields
// they read (ID, Unit, ItemGroup, StandardSalesPrice) are equal. A Memo
// made for one copy of an item serves another copy only when they are.
func SameItem(a, b erp.Item) bool {
	return strings.EqualFold(a.ID, b.ID) && a.Unit == b.Unit && a.ItemGroup == b.ItemGroup &&
		a.StandardSalesPrice.Equal(b.StandardSalesPrice)
}

// maxMemoAnswers bounds one Memo: a new day, currency or discount adds an
// answer; past the bound answers are computed and not kept.
const maxMemoAnswers = 8

// Memo keeps the answers of Resolve at quantity 1 for one Data, per price
// context and buyer terms (see Data.Memo). Its zero value is ready to use.
type Memo struct {
	mu      sync.Mutex
	answers []memoAnswer
}

type memoAnswer struct {
	c     Context
	b     Terms
	price Price
	ok    bool
}

func (m *memoAnswer) matches(c Context, b Terms) bool {
	return m.c == c && m.b.AccountID == b.AccountID && m.b.Currency == b.Currency &&
		m.b.PriceList == b.PriceList && m.b.DiscountSales.Equal(b.DiscountSales)
}

// resolveOne is Resolve at quantity 1 through the memo.
func (m *Memo) resolveOne(c Context, b Terms, d Data) (Price, bool) {
	m.mu.Lock()
	for i := range m.answers {
		if a := &m.answers[i]; a.matches(c, b) {
			m.mu.Unlock()
			return a.price, a.ok
		}
	}
	m.mu.Unlock()
	p, ok := newResolver(c, b, d).resolve(one)
	m.mu.Lock()
	if len(m.answers) < maxMemoAnswers {
		m.answers = append(m.answers, memoAnswer{c: c, b: b, price: p, ok: ok})
	}
	m.mu.Unlock()
	return p, ok
}

// Breaks returns the buyer's price breaks for d.Item in ascending minimum
// quantity: threshold 1 and every Quantity above 1 of a candidate row, each
// kept when its unit price differs from the last kept one. A threshold at
// which there is no price is skipped, so an item without any price has no
// breaks, and an item priced at quantity 1 has at least one.
func Breaks(c Context, b Terms, d Data) []Break {
	r := newResolver(c, b, d)
	thresholds := []decimal.Decimal{one}
	add := func(q decimal.Decimal) {
		if q.GreaterThan(one) {
			thresholds = append(thresholds, q)
		}
	}
	for _, row := range r.account {
		add(row.Quantity)
	}
	for _, row := range r.listRows {
		add(row.Quantity)
	}
	for _, row := range r.defaults {
		add(row.Quantity)
	}
	sort.Slice(thresholds, func(i, j int) bool { return thresholds[i].LessThan(thresholds[j]) })

	var out []Break
	var last decimal.Decimal
	var prev decimal.Decimal
	for i, q := range thresholds {
		if i > 0 && q.Equal(prev) {
			continue
		}
		prev = q
		p, ok := r.resolve(q)
		if !ok {
			continue
		}
		if len(out) > 0 && p.UnitPrice.Equal(last) {
			continue
		}
		out = append(out, Break{MinimumQuantity: q, UnitPrice: p.UnitPrice, Currency: p.Currency})
		last = p.UnitPrice
	}
	return out
}

// resolver holds the rows of one item and buyer after the filters that do
// not depend on the quantity (item, account, currency, unit, validity, period
// choice), so Breaks can price many quantities cheaply.
type resolver struct {
	c          Context
	b          Terms
	currency   string
	standard   decimal.Decimal
	hasStd     bool
	account    []*erp.SalesItemPrice
	defaults   []*erp.SalesItemPrice
	period     *erp.SalesPriceListPeriod
	listRows   []*erp.SalesPriceListVolumeDiscount
	discounted bool
}

func normCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// sameCode reports normCode(a) == normCode(b) without allocating for ASCII
// codes (strings.ToUpper copies any code with a lower-case letter, and the
// rules compare every row's unit and currency).
func sameCode(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if !isASCII(a) || !isASCII(b) {
		// Upper-casing, not strings.EqualFold: Unicode folding also
		// matches the Kelvin sign with K and differs on dotless i, and the
		// rules must agree with normCode exactly (TestSameCode).
		return normCode(a) == normCode(b)
	}
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if upperASCII(a[i]) != upperASCII(b[i]) {
			return false
		}
	}
	return true
}

// blankCode reports normCode(s) == "".
func blankCode(s string) bool { return strings.TrimSpace(s) == "" }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func newResolver(c Context, b Terms, d Data) *resolver {
	div := normCode(c.DivisionCurrency)
	cur := normCode(b.Currency)
	if cur == "" {
		cur = div
	}
	r := &resolver{c: c, b: b, currency: cur, discounted: b.DiscountSales.IsPositive()}
	sameCurrency := func(rowCur string) bool {
		if blankCode(rowCur) {
			return div == cur
		}
		return sameCode(rowCur, cur)
	}
	itemUnit := d.Item.Unit
	noItemUnit := blankCode(itemUnit)
	sameUnit := func(u string) bool {
		return blankCode(u) || sameCode(u, itemUnit)
	}
	itemID := d.Item.ID
	usable := func(row *erp.SalesItemPrice) bool {
		unitOK := sameUnit(row.Unit)
		if noItemUnit {
			// The item did not say its unit: the row's DefaultItemUnit is it.
			unitOK = blankCode(row.Unit) || blankCode(row.DefaultItemUnit) || sameCode(row.Unit, row.DefaultItemUnit)
		}
		return strings.EqualFold(row.Item, itemID) && sameCurrency(row.Currency) &&
			unitOK && singleUnit(row.NumberOfItemsPerUnit) && validOn(row.StartDate, row.EndDate, c.Today)
	}

	if b.AccountID != "" {
		for i := range d.AccountRows {
			if row := &d.AccountRows[i]; strings.EqualFold(row.Account, b.AccountID) && usable(row) {
				r.account = append(r.account, row)
			}
		}
	}
	for i := range d.DefaultRows {
		if row := &d.DefaultRows[i]; row.Account == "" && usable(row) {
			r.defaults = append(r.defaults, row)
		}
	}
	if cur == div && !d.Item.StandardSalesPrice.IsZero() {
		r.standard, r.hasStd = d.Item.StandardSalesPrice, true
	}
	if b.PriceList != "" {
		r.choosePeriod(d, sameCurrency, sameUnit)
	}
	return r
}

// choosePeriod picks the price-list period step 2 uses and its rows for the
// item (or, when no period has any, for the item's group). The choice does
// not depend on the quantity.
func (r *resolver) choosePeriod(d Data, sameCurrency, sameUnit func(string) bool) {
	// Pointers into d.Periods (read only), not copies of the rows.
	periods := make([]*erp.SalesPriceListPeriod, 0, len(d.Periods))
	for i := range d.Periods {
		p := &d.Periods[i]
		if p.PriceList != "" && !strings.EqualFold(p.PriceList, r.b.PriceList) {
			continue
		}
		if p.Type != erp.PeriodBasic && p.Type != erp.PeriodSpecialOffer {
			continue
		}
		if !sameCurrency(p.Currency) || !validOn(p.StartDate, p.EndDate, r.c.Today) {
			continue
		}
		periods = append(periods, p)
	}
	slices.SortStableFunc(periods, func(a, b *erp.SalesPriceListPeriod) int {
		if a.Type != b.Type {
			if a.Type == erp.PeriodSpecialOffer {
				return -1
			}
			if b.Type == erp.PeriodSpecialOffer {
				return 1
			}
			return 0
		}
		if c := compareStart(a.StartDate, b.StartDate); c != 0 {
			return -c
		}
		return strings.Compare(a.ID, b.ID)
	})

	item := d.Item
	var itemRows, groupRows []*erp.SalesPriceListVolumeDiscount
	for i := range d.Discounts {
		row := &d.Discounts[i]
		if !sameUnit(row.Unit) || !sameUnit(row.SalesUnit) || !singleUnit(row.NumberOfItemsPerUnit) {
			continue
		}
		switch {
		case row.Item != "" && strings.EqualFold(row.Item, item.ID):
			itemRows = append(itemRows, row)
		case row.Item == "" && item.ItemGroup != "" && strings.EqualFold(row.ItemGroup, item.ItemGroup):
			groupRows = append(groupRows, row)
		}
	}
	for _, rows := range [][]*erp.SalesPriceListVolumeDiscount{itemRows, groupRows} {
		for i := range periods {
			var found []*erp.SalesPriceListVolumeDiscount
			for _, row := range rows {
				if strings.EqualFold(row.PriceListPeriod, periods[i].ID) {
					found = append(found, row)
				}
			}
			if len(found) > 0 {
				r.period, r.listRows = periods[i], found
				return
			}
		}
	}
}

// singleUnit reports whether NumberOfItemsPerUnit n (0 when null) means
// one of the item's units.
func singleUnit(n decimal.Decimal) bool { return n.IsZero() || n.Equal(one) }

// compareStart compares two StartDates as calendar dates; null is earliest.
func compareStart(a, b erp.Time) int {
	da, oka := civil.DateOf(a)
	db, okb := civil.DateOf(b)
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return -1
	case !okb:
		return 1
	}
	return da.Compare(db)
}

// pickItemPrice returns the SalesItemPrices row that applies at q: the
// highest Quantity <= q, then the latest StartDate, then the lowest Price,
// then the lowest ID.
func pickItemPrice(rows []*erp.SalesItemPrice, q decimal.Decimal) (*erp.SalesItemPrice, bool) {
	var best *erp.SalesItemPrice
	for _, row := range rows {
		if row.Quantity.GreaterThan(q) {
			continue
		}
		if best == nil || betterItemPrice(row, best) {
			best = row
		}
	}
	return best, best != nil
}

func betterItemPrice(a, b *erp.SalesItemPrice) bool {
	if c := a.Quantity.Cmp(b.Quantity); c != 0 {
		return c > 0
	}
	if c := compareStart(a.StartDate, b.StartDate); c != 0 {
		return c > 0
	}
	if c := a.Price.Cmp(b.Price); c != 0 {
		return c < 0
	}
	return a.ID < b.ID
}

// defaultPrice is step 3 without the account discount: the unrounded default
// price at q and its validUntil.
func (r *resolver) defaultPrice(q decimal.Decimal) (decimal.Decimal, *civil.Date, bool) {
	if row, ok := pickItemPrice(r.defaults, q); ok {
		return row.Price, untilOf(row.EndDate), true
	}
	if r.hasStd {
		return r.standard, nil, true
	}
	return decimal.Decimal{}, nil, false
}

// listPrice is step 2 at q: the unrounded unit price from the chosen period.
func (r *resolver) listPrice(q decimal.Decimal, def decimal.Decimal, hasDef bool) (decimal.Decimal, bool) {
	var top decimal.Decimal
	have := false
	for _, row := range r.listRows {
		if row.Quantity.LessThanOrEqual(q) && (!have || row.Quantity.GreaterThan(top)) {
			top, have = row.Quantity, true
		}
	}
	if !have {
		return decimal.Decimal{}, false
	}
	var best decimal.Decimal
	bestID := ""
	found := false
	for _, row := range r.listRows {
		if !row.Quantity.Equal(top) {
			continue
		}
		var p decimal.Decimal
		switch {
		case row.EntryMethod == erp.EntryNewPrice:
			p = row.NewPrice
		case row.HasSetBasePrice():
			// "Set base price": the amount is the base. Without one
			// there is nothing to discount.
			if row.BasePriceAmount == nil {
				continue
			}
			p = one.Sub(row.Discount).Mul(*row.BasePriceAmount)
		case hasDef:
			// "Standard sales price": the default price at q, never
			// BasePriceAmount (Exact fills it even here).
			p = one.Sub(row.Discount).Mul(def)
		default:
			continue
		}
		if !found || p.LessThan(best) || (p.Equal(best) && row.ID < bestID) {
			best, bestID, found = p, row.ID, true
		}
	}
	return best, found
}

func (r *resolver) resolve(q decimal.Decimal) (Price, bool) {
	if !q.IsPositive() {
		return Price{}, false
	}
	def, defUntil, hasDef := r.defaultPrice(q)

	var unit decimal.Decimal
	var src Source
	var until *civil.Date
	if row, ok := pickItemPrice(r.account, q); ok {
		unit, src, until = row.Price, SourceCustomerPrice, untilOf(row.EndDate)
	} else if p, ok := r.listPrice(q, def, hasDef); ok {
		unit, src, until = p, SourcePriceList, untilOf(r.period.EndDate)
	} else if hasDef {
		unit, src, until = def, SourceDefaultPrice, defUntil
		if r.discounted {
			unit, src = def.Mul(one.Sub(r.b.DiscountSales)), SourceAccountDiscount
		}
	} else {
		return Price{}, false
	}

	unit = Round2(unit)
	list := unit
	if hasDef {
		list = Round2(def)
	}
	pct := decimal.Zero
	if !list.IsZero() {
		pct = Round2(list.Sub(unit).Mul(hundred).Div(list))
	}
	return Price{
		UnitPrice:          unit,
		ListPrice:          list,
		DiscountPercentage: pct,
		Quantity:           q,
		Currency:           r.currency,
		Source:             src,
		ValidUntil:         until,
	}, true
}
