package gen

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Price-list codes. ListWholesale is the demo PRICE_LIST buyer's list.
const (
	ListWholesale = "WHOLESALE"
	ListGroups    = "GROUPS"
	ListHoreca    = "HORECA"
	ListExport    = "EXPORT"
)

type priceList struct {
	id, code, desc, currency string
	entity                   int64
}

type period struct {
	id         string
	list       *priceList
	start, end time.Time
	typ        int64
}

// base returns the item's default price at quantity 1 in the division's
// currency: its general row, else StandardSalesPrice.
func (it *item) base() float64 {
	if it.general > 0 {
		return it.general
	}
	return it.std
}

// priceRow writes a logistics/SalesItemPrices row. acc nil is a general
// price; u nil leaves Unit null (the item's own unit applies).
func (g *generator) priceRow(it *item, acc *account, price float64, cur string, qty float64, start, end time.Time, u *unit) {
	g.priceRowPer(it, acc, price, cur, qty, start, end, u, 1)
}

// priceRowPer is priceRow for a row whose unit holds perUnit of the item's
// units (NumberOfItemsPerUnit); anything but 1 is a pack price the gateway
// must ignore.
func (g *generator) priceRowPer(it *item, acc *account, price float64, cur string, qty float64, start, end time.Time, u *unit, perUnit float64) {
	var accID, accName, unitCode, unitDesc, curV any
	if acc != nil {
		accID, accName = acc.id, acc.name
	}
	switch u {
	case nil:
	case it.unit:
		unitCode, unitDesc = it.vUnit, it.vUnitDesc
	default:
		unitCode, unitDesc = u.padded(), u.desc
	}
	curV = cur
	if cur == g.opts.Currency {
		curV = g.homeV
	}
	c, m := g.stamps()
	g.add(PathSalesItemPrices, odata.Record{
		"ID": g.guid(), "Item": it.vID, "ItemCode": it.vCode, "ItemDescription": it.vDesc,
		"Account": accID, "AccountName": accName, "Price": round2(price), "Currency": curV,
		"Quantity": qty, "StartDate": dateOrNil(start), "EndDate": dateOrNil(end),
		"Unit": unitCode, "UnitDescription": unitDesc, "NumberOfItemsPerUnit": perUnit,
		"DefaultItemUnit": it.vUnit, "DefaultItemUnitDescription": it.vUnitDesc,
		"Project": nil, "Created": c, "Modified": m, "Division": g.divV,
	})
}

// genGeneralPrices writes the general (Account null) prices. Every sales
// item but ~10 % has a valid Quantity-1 row in the division's currency;
// some have tiers, expired or future rows, rows in another unit, rows in the
// foreign currency, or two valid rows of equal Quantity (tie: latest
// StartDate wins).
func (g *generator) genGeneralPrices() {
	home := g.opts.Currency
	for i, it := range g.items {
		if !it.sales || it.noGeneral {
			continue
		}
		price := it.std
		if g.chance(0.3) {
			price = round2(it.std * g.between(1.02, 1.1))
		}
		it.general = price
		start := g.day(-30 - g.r.IntN(700))
		var end time.Time
		if g.chance(0.3) {
			end = g.day(30 + g.r.IntN(335))
		}
		u := it.unit
		if g.chance(0.1) {
			u = nil
		}
		tie := i == idxGeneralTie || (i > idxGeneralTie && g.chance(0.01))
		if !tie && i >= catalogPage && g.chance(0.03) {
			start = time.Time{} // no start date: valid since ever
		}
		g.priceRow(it, nil, price, home, 1, start, end, u)
		if tie {
			g.priceRow(it, nil, price*1.03, home, 1, g.day(-10), end, u)
		}
		if (i < catalogPage && i%3 == 1) || (i >= catalogPage && g.chance(0.25)) {
			g.priceRow(it, nil, price*0.95, home, 10, start, end, u)
			g.priceRow(it, nil, price*0.9, home, 50, start, end, u)
			g.priceRow(it, nil, price*0.85, home, 100, start, end, u)
		}
		if i == 2 || g.chance(0.08) {
			g.priceRow(it, nil, price*0.8, home, 1, g.day(-900), g.day(-5-g.r.IntN(400)), u)
		}
		if i == 3 || g.chance(0.08) {
			g.priceRow(it, nil, price*1.1, home, 1, g.day(5+g.r.IntN(60)), time.Time{}, u)
		}
		if i == 4 || g.chance(0.05) {
			g.priceRow(it, nil, price*8, home, 1, start, end, otherUnit(it.unit))
		}
		if i < 10 || g.chance(0.1) {
			g.priceRow(it, nil, price*fxRate, g.foreign, 1, start, end, u)
		}
	}
}

func (g *generator) newList(code, desc, cur string, entity int64) *priceList {
	pl := &priceList{id: g.guid(), code: code, desc: desc, currency: cur, entity: entity}
	g.lists[code] = pl
	entDesc := "Item"
	if entity == 2 {
		entDesc = "Item group"
	}
	c, m := g.stamps()
	g.add(PathPriceLists, odata.Record{
		"ID": pl.id, "Code": pl.code, "Description": pl.desc, "Currency": cur,
		"Type": int64(1), "TypeDescription": "Customer", "Entity": entity, "EntityDescription": entDesc,
		"Notes": nil, "Created": c, "Modified": m, "Division": g.divV,
	})
	return pl
}

// Period types (SalesPriceListPeriods.Type).
const (
	periodBasic   = 1
	periodSpecial = 2
)

func (g *generator) newPeriod(pl *priceList, typ int64, start, end time.Time) *period {
	p := &period{id: g.guid(), list: pl, start: start, end: end, typ: typ}
	typDesc := "Basic"
	if typ == periodSpecial {
		typDesc = "Special offer"
	}
	c, m := g.stamps()
	g.add(PathPriceListPeriods, odata.Record{
		"ID": p.id, "PriceList": pl.id, "PriceListCode": pl.code, "PriceListDescription": pl.desc,
		"StartDate": dateOrNil(start), "EndDate": dateOrNil(end), "Type": typ, "TypeDescription": typDesc,
		"Currency": pl.currency, "Created": c, "Modified": m, "Division": g.divV,
	})
	return p
}

// Volume-discount entry methods.
const (
	entryDiscount = 1
	entryNewPrice = 2
)

// vd is one volume-discount row: for an item (it) or an item group (grp).
//
// BasePrice is an Edm.Guid (exact-online-api.md §5.2): null means "standard
// sales price", a GUID "set base price". Exact fills BasePriceAmount in both
// cases; with BasePrice null it holds the latest item sales price, which
// need not be the default price that applies, so the data has such rows
// (fill) to show a gateway that trusts the amount.
type vd struct {
	it       *item
	grp      *itemGroup
	qty      float64
	method   int64
	disc     float64
	newPrice float64
	base     any // a float64 > 0: set base price with this amount; nil or 0: standard sales price
	fill     any // BasePriceAmount with the standard sales price; nil: the item's StandardSalesPrice (group rows: null)
	unit     *unit
	sales    *unit   // SalesUnit when it differs from unit (nil: the same as unit)
	perUnit  float64 // NumberOfItemsPerUnit; 0 means 1
}

// basePriceID derives the GUID of a row's set base price from the row's own
// ID, so it draws nothing from the random stream.
func basePriceID(rowID string) string {
	h := sha256.Sum256([]byte("baseprice:" + rowID))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

func (g *generator) addVD(p *period, r vd) {
	var itID, itCode, itDesc, grpID, grpCode, grpDesc, unitCode, unitDesc any
	if r.it != nil {
		itID, itCode, itDesc = r.it.id, r.it.code, r.it.desc
	}
	if r.grp != nil {
		grpID, grpCode, grpDesc = r.grp.id, r.grp.code, r.grp.desc
	}
	salesCode, salesDesc := unitCode, unitDesc
	if r.unit != nil {
		unitCode, unitDesc = r.unit.padded(), r.unit.desc
		salesCode, salesDesc = unitCode, unitDesc
	}
	if r.sales != nil {
		salesCode, salesDesc = r.sales.padded(), r.sales.desc
	}
	perUnit := r.perUnit
	if perUnit == 0 {
		perUnit = 1
	}
	id := g.guid()
	var basePrice, amount any
	if b, ok := r.base.(float64); ok && b > 0 {
		basePrice, amount = basePriceID(id), b
	} else {
		amount = r.fill
		if amount == nil && r.it != nil && r.it.std > 0 {
			amount = r.it.std
		}
	}
	c, m := g.stamps()
	g.add(PathVolumeDiscounts, odata.Record{
		"ID": id, "PriceListPeriod": p.id, "PriceListCode": p.list.code, "PriceListDescription": p.list.desc,
		"Item": itID, "ItemCode": itCode, "ItemDescription": itDesc,
		"ItemGroup": grpID, "ItemGroupCode": grpCode, "ItemGroupDescription": grpDesc,
		"Quantity": r.qty, "Discount": r.disc, "NewPrice": round2(r.newPrice), "EntryMethod": r.method,
		"BasePrice": basePrice, "BasePriceAmount": amount, "Unit": unitCode, "UnitDescription": unitDesc,
		"SalesUnit": salesCode, "SalesUnitDescription": salesDesc,
		"NumberOfItemsPerUnit": perUnit, "Created": c, "Modified": m, "Division": g.divV,
	})
}

// itemUnit returns the item's unit or, on ~30 % of rows, nil (unit not set).
func (g *generator) itemUnit(it *item) *unit {
	if g.chance(0.3) {
		return nil
	}
	return it.unit
}

// randomItemRows writes a random mix of item rows for it in period p, in
// the period's currency.
func (g *generator) randomItemRows(p *period, it *item) {
	base := it.base()
	if p.list.currency != g.opts.Currency {
		base *= fxRate
	}
	u := g.itemUnit(it)
	if g.chance(0.03) {
		u = otherUnit(it.unit)
	}
	if g.chance(0.5) {
		np := base * g.between(0.7, 0.95)
		g.addVD(p, vd{it: it, qty: 1, method: entryNewPrice, newPrice: np, unit: u})
		if g.chance(0.3) {
			g.addVD(p, vd{it: it, qty: 10, method: entryNewPrice, newPrice: np * 0.95, unit: u})
		}
		return
	}
	disc := pick(g, []float64{0.05, 0.1, 0.15, 0.2})
	var b, fill any
	switch x := g.r.IntN(3); x {
	case 1: // standard price; the amount Exact shows is a stale sales price
		fill = round2(base * 1.04)
	case 2:
		b = round2(base * 1.1)
	}
	g.addVD(p, vd{it: it, qty: 1, method: entryDiscount, disc: disc, base: b, fill: fill, unit: u})
	if g.chance(0.3) {
		g.addVD(p, vd{it: it, qty: 25, method: entryDiscount, disc: disc + 0.05, base: b, fill: fill, unit: u})
	}
}

func (g *generator) genPriceLists() {
	home := g.opts.Currency
	cat := g.items[:catalogPage]

	// WHOLESALE: the demo PRICE_LIST buyer's list. Its periods cover the
	// first catalog page by item and by group and carry every edge.
	wl := g.newList(ListWholesale, "Groothandel – staffelprijzen", home, 1)
	expired := g.newPeriod(wl, periodBasic, g.day(-500), g.day(-201))
	b1 := g.newPeriod(wl, periodBasic, g.day(-200), time.Time{})
	b2 := g.newPeriod(wl, periodBasic, g.day(-30), g.day(90))
	special := g.newPeriod(wl, periodSpecial, g.day(-3), g.day(10))
	future := g.newPeriod(wl, periodSpecial, g.day(15), g.day(30))
	for k, it := range cat[:40] {
		// Expired: absurd prices that must never be used. Every fourth
		// item has item rows only here, so the valid periods price it by
		// its group (or not at all when its group has no row).
		g.addVD(expired, vd{it: it, qty: 1, method: entryNewPrice, newPrice: it.base() * 0.5, unit: it.unit})
		if k%4 == 3 {
			continue
		}
		base := it.base()
		switch k % 5 {
		case 0: // discount on the default price, tiers
			g.addVD(b1, vd{it: it, qty: 1, method: entryDiscount, disc: 0.1, unit: it.unit})
			g.addVD(b1, vd{it: it, qty: 10, method: entryDiscount, disc: 0.15, unit: it.unit})
			g.addVD(b1, vd{it: it, qty: 25, method: entryDiscount, disc: 0.2})
		case 1: // discount on a set base price
			g.addVD(b1, vd{it: it, qty: 1, method: entryDiscount, disc: 0.05, base: round2(base * 1.2), unit: it.unit})
		case 2: // standard sales price, BasePriceAmount far from it: the amount must not be used
			g.addVD(b1, vd{it: it, qty: 1, method: entryDiscount, disc: 0.08, fill: round2(base * 1.25)})
		case 3: // new price with tiers
			g.addVD(b1, vd{it: it, qty: 1, method: entryNewPrice, newPrice: base * 0.85, unit: it.unit})
			g.addVD(b1, vd{it: it, qty: 10, method: entryNewPrice, newPrice: base * 0.8, unit: it.unit})
			g.addVD(b1, vd{it: it, qty: 25, method: entryNewPrice, newPrice: base * 0.75})
		case 4: // only from 10 up: below that the list does not apply
			g.addVD(b1, vd{it: it, qty: 10, method: entryNewPrice, newPrice: base * 0.8, unit: it.unit})
		}
		if k == 6 { // another unit: ignored
			g.addVD(b1, vd{it: it, qty: 1, method: entryNewPrice, newPrice: base * 6, unit: otherUnit(it.unit)})
		}
		if k == 9 { // Unit not set but another SalesUnit: ignored
			g.addVD(b1, vd{it: it, qty: 1, method: entryNewPrice, newPrice: base * 0.3, sales: otherUnit(it.unit)})
		}
		if k == 10 { // a pack of 6 of the item's unit: ignored
			g.addVD(b1, vd{it: it, qty: 1, method: entryNewPrice, newPrice: base * 0.3, perUnit: 6})
		}
		if k < 10 {
			g.addVD(future, vd{it: it, qty: 1, method: entryNewPrice, newPrice: base * 0.4})
		}
	}
	// Item-group rows in the Basic period for all groups but the last two.
	for gi, grp := range g.groups {
		if gi >= len(g.groups)-2 {
			break
		}
		g.addVD(b1, vd{grp: grp, qty: 1, method: entryDiscount, disc: 0.07})
		g.addVD(b1, vd{grp: grp, qty: 25, method: entryDiscount, disc: 0.12})
	}
	// A newer Basic period for a few items: within one type the latest
	// StartDate wins.
	for _, it := range cat[:3] {
		g.addVD(b2, vd{it: it, qty: 1, method: entryNewPrice, newPrice: it.base() * 0.82, unit: it.unit})
	}
	// Special offer for only two items; other items fall through to Basic.
	for _, it := range cat[:2] {
		g.addVD(special, vd{it: it, qty: 1, method: entryNewPrice, newPrice: it.base() * 0.7, unit: it.unit})
	}
	// A special-offer group row for item 10's group: item 10 keeps its
	// Basic item row (item rows win over group rows), its group mates
	// without item rows get the special offer.
	g.addVD(special, vd{grp: cat[10].group, qty: 1, method: entryDiscount, disc: 0.2})

	// GROUPS: a list by item group only.
	gl := g.newList(ListGroups, "Groepskorting", home, 2)
	gb := g.newPeriod(gl, periodBasic, g.day(-365), time.Time{})
	ge := g.newPeriod(gl, periodBasic, g.day(-800), g.day(-366))
	gf := g.newPeriod(gl, periodBasic, g.day(30), time.Time{})
	for gi, grp := range g.groups {
		d := []float64{0.03, 0.05, 0.08}[gi%3]
		g.addVD(gb, vd{grp: grp, qty: 1, method: entryDiscount, disc: d})
		if gi%2 == 0 {
			g.addVD(gb, vd{grp: grp, qty: 25, method: entryDiscount, disc: d + 0.05})
		}
		g.addVD(ge, vd{grp: grp, qty: 1, method: entryDiscount, disc: 0.5})
		g.addVD(gf, vd{grp: grp, qty: 1, method: entryDiscount, disc: 0.02})
	}

	// HORECA: item rows for ~8 % of sales items, a short special offer on
	// ~1.5 % (some of them not in the Basic period).
	hl := g.newList(ListHoreca, "Horeca", home, 1)
	hb := g.newPeriod(hl, periodBasic, g.day(-400), g.day(200))
	hs := g.newPeriod(hl, periodSpecial, g.day(-5), g.day(9))
	for _, it := range g.items {
		if !it.sales {
			continue
		}
		if g.chance(0.08) {
			g.randomItemRows(hb, it)
		}
		if g.chance(0.015) {
			g.addVD(hs, vd{it: it, qty: 1, method: entryNewPrice, newPrice: it.base() * 0.8, unit: g.itemUnit(it)})
		}
	}

	// EXPORT: a list in the foreign currency.
	xl := g.newList(ListExport, "Export", g.foreign, 1)
	xb := g.newPeriod(xl, periodBasic, g.day(-100), time.Time{})
	for i, it := range g.items {
		if it.sales && (i < 5 || g.chance(0.05)) {
			g.randomItemRows(xb, it)
		}
	}
}

// assignPriceLists links ~40 % of the ordinary customers to a list in
// their currency, and the PRICE_LIST demo buyer to WHOLESALE.
func (g *generator) assignPriceLists() {
	homeLists := []*priceList{g.lists[ListWholesale], g.lists[ListGroups], g.lists[ListHoreca]}
	for _, a := range g.accounts {
		switch {
		case a.rule == RulePriceList:
			a.list = g.lists[ListWholesale]
		case a.rule != "":
		case g.chance(0.4):
			if a.currency == g.opts.Currency {
				a.list = pick(g, homeLists)
			} else {
				a.list = g.lists[ListExport]
			}
		}
		if a.list != nil {
			a.rec["PriceList"] = a.list.id
		}
	}
}

// genAgreements writes price agreements (SalesItemPrices rows with Account
// set): the CUSTOMER_PRICE demo buyer's on the first catalog items, with
// every edge, and random ones for ~25 % of the other customers.
func (g *generator) genAgreements() {
	home := g.opts.Currency
	for _, a := range g.accounts {
		if a.rule != RuleCustomerPrice {
			continue
		}
		for k, it := range g.items[:12] {
			b := it.base()
			switch k {
			case 1: // tiers
				g.priceRow(it, a, b*0.9, home, 1, g.day(-60), time.Time{}, it.unit)
				g.priceRow(it, a, b*0.85, home, 10, g.day(-60), time.Time{}, it.unit)
				g.priceRow(it, a, b*0.8, home, 50, g.day(-60), time.Time{}, it.unit)
			case 2: // tie on Quantity: the latest StartDate wins
				g.priceRow(it, a, b*0.92, home, 1, g.day(-100), time.Time{}, it.unit)
				g.priceRow(it, a, b*0.88, home, 1, g.day(-20), time.Time{}, it.unit)
			case 3: // expired only
				g.priceRow(it, a, b*0.5, home, 1, g.day(-300), g.day(-10), it.unit)
			case 4: // future only
				g.priceRow(it, a, b*0.5, home, 1, g.day(10), time.Time{}, it.unit)
			case 5: // another unit only: ignored
				g.priceRow(it, a, b*5, home, 1, g.day(-60), time.Time{}, otherUnit(it.unit))
			case 6: // foreign currency only: ignored
				g.priceRow(it, a, b*0.9*fxRate, g.foreign, 1, g.day(-60), time.Time{}, it.unit)
			case 7: // ends in 45 days (validUntil)
				g.priceRow(it, a, b*0.9, home, 1, g.day(-60), g.day(45), it.unit)
			case 8: // only from 10 up
				g.priceRow(it, a, b*0.85, home, 10, g.day(-60), time.Time{}, it.unit)
			default:
				g.priceRow(it, a, b*0.9, home, 1, g.day(-60), time.Time{}, nil)
				if k == 10 { // a price per box of 12: ignored
					g.priceRowPer(it, a, b*0.2, home, 1, g.day(-30), time.Time{}, nil, 12)
				}
			}
		}
	}
	for _, a := range g.accounts[len(demoSpecs):] {
		if !g.chance(0.25) {
			continue
		}
		rate := 1.0
		if a.currency != home {
			rate = fxRate
		}
		n := 3 + g.r.IntN(6)
		for range n {
			it := pick(g, g.items)
			if !it.sales {
				continue
			}
			p := it.base() * rate * g.between(0.8, 0.95)
			start := g.day(-10 - g.r.IntN(400))
			var end time.Time
			if g.chance(0.3) {
				end = g.day(20 + g.r.IntN(300))
			}
			x := g.r.Float64()
			switch {
			case x < 0.1: // expired
				g.priceRow(it, a, p*0.9, a.currency, 1, g.day(-600), g.day(-5-g.r.IntN(300)), it.unit)
			case x < 0.15: // future
				g.priceRow(it, a, p*0.9, a.currency, 1, g.day(5+g.r.IntN(100)), time.Time{}, it.unit)
			default:
				g.priceRow(it, a, p, a.currency, 1, start, end, it.unit)
				if g.chance(0.3) {
					g.priceRow(it, a, p*0.93, a.currency, 10, start, end, it.unit)
				}
			}
		}
	}
}
