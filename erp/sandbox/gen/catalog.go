package gen

import (
	"fmt"
	"strings"
	"time"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

type itemGroup struct {
	id, code, desc string
}

type unit struct {
	code, desc, typ string
	fraction        bool
}

// padded returns the unit code as Exact sends it: right-padded to 8.
func (u *unit) padded() string { return fmt.Sprintf("%-8s", u.code) }

var units = []*unit{
	{"pc", "Piece", "O", false},
	{"box", "Box", "O", false},
	{"kg", "Kilogram", "W", true},
	{"m", "Meter", "L", true},
	{"set", "Set", "O", false},
}

// otherUnit returns a unit different from u (for rows that must be ignored).
func otherUnit(u *unit) *unit {
	if u == units[1] {
		return units[0]
	}
	return units[1]
}

type item struct {
	id, code, desc string
	group          *itemGroup
	unit           *unit
	sales, stock   bool
	webshop, ended bool
	std            float64 // StandardSalesPrice (division currency)
	general        float64 // the general Quantity-1 price in the division currency; 0 when none
	noGeneral      bool    // no general SalesItemPrices row at all
	stockTotal     float64
	// Boxed once and shared by every record about the item (fewer
	// allocations at 50,000 items).
	vID, vCode, vDesc, vUnit, vUnitDesc any
}

// catalogPage is the number of leading items (by Code, which is creation
// order) that are plain active webshop sales items with a general price:
// the first catalog page the demo buyers' rules are built on.
const catalogPage = 60

// Indices of items with forced edge roles (all >= catalogPage).
const (
	idxNonSales   = catalogPage
	idxEnded      = catalogPage + 1
	idxFutureEnd  = catalogPage + 2
	idxNoGeneral  = catalogPage + 3
	idxNotWebshop = catalogPage + 4
	idxSpecial    = catalogPage + 5 // first of specialCodes
	idxGeneralTie = catalogPage + 12
	idxNotStarted = catalogPage + 13 // a sales item whose StartDate is still to come
)

// specialCodes are item codes that need quoting or escaping in OData
// filters and URLs.
var specialCodes = []string{
	"O'NEIL 12",
	"BOX 'A' or 1 eq 1",
	`HX 5/8"`,
	"ZÜRICH-7",
	"M&M 50%",
	"PLUS+1#2",
}

var groupSpecs = []struct{ code, desc string }{
	{"BAKE", "Bakkerijbenodigdheden"},
	{"BEV", "Dranken"},
	{"CLEAN", "Schoonmaak"},
	{"DISP", "Disposables"},
	{"FIX", "Bevestigingsmaterialen"},
	{"FOOD", "Levensmiddelen"},
	{"HORECA", "Horeca-inventaris"},
	{"PACK", "Verpakking"},
	{"PAINT", "Verf & lak"},
	{"SAFE", "Veiligheid – PBM"},
	{"TOOLS", "Gereedschap"},
	{"TEXT", "Textiel"},
}

var adjectives = []string{
	"Premium", "Extra sterke", "Biologische", "Compacte", "Grote", "Kleine", "Professionele",
	"Duurzame", "Witte", "Zwarte", "Rode", "Transparante", "Gebrande", "Crème", "Müsli",
	"Smørrebrød", "Café", "Naturel", "Glutenvrije", "Hittebestendige",
}

var nouns = []string{
	"schroef", "bakplaat", "koffiebonen", "servet", "handschoen", "verfroller", "doos", "zak",
	"emmer", "bezem", "schort", "tape", "pan", "mok", "bord", "kabel", "moer", "spons", "fles",
	"deksel", "crêpes", "paté", "kaas", "thee",
}

var specs = []string{"", " 10 st.", " 500 g", " 1 l", " – 25 x 40 cm", " Ø 28 cm", " maat L", " 5/8\"", ""}

var unicodeDescs = []string{"茶杯 – porselein", "中文 verpakking 100 st.", "Smørrebrødplank – eiken"}

func (g *generator) genCatalog() {
	for _, s := range groupSpecs {
		c, m := g.stamps()
		ig := &itemGroup{id: g.guid(), code: s.code, desc: s.desc}
		g.groups = append(g.groups, ig)
		isDefault := int64(0)
		if s.code == "FOOD" {
			isDefault = 1
		}
		g.add(PathItemGroups, odata.Record{
			"ID": ig.id, "Code": ig.code, "Description": ig.desc, "IsDefault": isDefault,
			"Notes": nil, "Created": c, "Modified": m, "Division": g.divV,
		})
	}

	n := g.opts.Items
	g.items = make([]*item, 0, n)
	for i := range n {
		g.items = append(g.items, g.genItem(i))
	}
}

func (g *generator) pickUnit() *unit {
	x := g.r.Float64()
	switch {
	case x < 0.55:
		return units[0]
	case x < 0.75:
		return units[1]
	case x < 0.85:
		return units[2]
	case x < 0.93:
		return units[3]
	default:
		return units[4]
	}
}

func (g *generator) genItem(i int) *item {
	it := &item{
		id:      g.guid(),
		code:    fmt.Sprintf("ART-%06d", i+1),
		group:   pick(g, g.groups),
		unit:    g.pickUnit(),
		sales:   true,
		stock:   true,
		webshop: true,
	}
	if k := i - idxSpecial; k >= 0 && k < len(specialCodes) {
		it.code = specialCodes[k]
	}
	startDate := g.day(-100 - g.r.IntN(2000))
	var endDate time.Time
	if i >= catalogPage {
		switch {
		case i == idxNonSales:
			it.sales = false
		case i == idxEnded:
			it.ended = true
		case i == idxFutureEnd:
			endDate = g.day(20 + g.r.IntN(200))
		case i == idxNoGeneral:
			it.noGeneral = true
		case i == idxNotWebshop:
			it.webshop = false
		case i == idxNotStarted:
			startDate = g.day(7 + g.r.IntN(30))
		case i > idxGeneralTie:
			x := g.r.Float64()
			switch {
			case x < 0.05:
				it.sales = false
			case x < 0.08:
				it.ended = true
			case x < 0.10:
				endDate = g.day(20 + g.r.IntN(200))
			}
			if it.sales && g.chance(0.10) {
				it.noGeneral = true
			}
			if g.chance(0.10) {
				it.webshop = false
			}
		}
		if it.unit.code == "set" && g.chance(0.5) {
			it.stock = false // assembled on order: no stock administration
		}
	}
	if it.ended {
		endDate = g.day(-2 - g.r.IntN(300))
	}

	switch {
	case i%97 == 13:
		it.desc = pick(g, unicodeDescs)
	default:
		it.desc = pick(g, adjectives) + " " + pick(g, nouns) + pick(g, specs)
	}

	it.vID, it.vCode, it.vDesc, it.vUnit, it.vUnitDesc = it.id, it.code, it.desc, it.unit.padded(), it.unit.desc
	cost := round2(g.between(0.2, 150))
	if it.sales {
		it.std = round2(cost * g.between(1.3, 2.2))
	}
	var barcode any
	if g.chance(0.85) {
		barcode = ean13(fmt.Sprintf("8712%08d", i+1))
	}
	var extra any
	if g.chance(0.4) {
		extra = "Levering per " + it.unit.desc + "; " + it.group.desc + "."
	}
	var pic, thumb any
	if g.chance(0.7) {
		base := fmt.Sprintf("/docs/SysImage.aspx?Table=Items&ID=%s&ThumbSize=%%d&NoCache=1&_Division_=%d", it.id, g.div)
		pic = fmt.Sprintf(base, 500)
		thumb = fmt.Sprintf(base, 100)
	}
	webshop := int64(0)
	if it.webshop {
		webshop = 1
	}
	vat, vatDesc := "2  ", "BTW 21%"
	if it.group.code == "FOOD" || it.group.code == "BEV" {
		vat, vatDesc = "1  ", "BTW 9%"
	}
	weight := round3(g.between(0.05, 25))
	c, m := g.stamps()
	g.add(PathItems, odata.Record{
		"ID": it.vID, "Code": it.vCode, "Description": it.vDesc, "ExtraDescription": extra,
		"Barcode": barcode, "ItemGroup": it.group.id, "ItemGroupCode": it.group.code,
		"ItemGroupDescription": it.group.desc, "Unit": it.vUnit, "UnitDescription": it.vUnitDesc,
		"UnitType": it.unit.typ, "SalesVatCode": vat, "SalesVatCodeDescription": vatDesc,
		"IsSalesItem": it.sales, "IsPurchaseItem": g.chance(0.9), "IsStockItem": it.stock,
		"IsFractionAllowedItem": it.unit.fraction, "IsWebshopItem": webshop,
		"IsSerialItem": false, "IsBatchItem": int64(0),
		"StartDate": startDate, "EndDate": dateOrNil(endDate),
		"StandardSalesPrice": it.std, "CostPriceStandard": cost, "CostPriceCurrency": g.homeV,
		"AverageCost": round2(cost * g.between(0.95, 1.05)), "Stock": 0.0,
		"NetWeight": weight, "GrossWeight": round3(weight * 1.1),
		"PictureName": nil, "PictureUrl": pic, "PictureThumbnailUrl": thumb, "Notes": nil,
		"Created": c, "Modified": m, "Division": g.divV,
	})
	return it
}

// ean13 appends the EAN-13 check digit to 12 digits.
func ean13(d12 string) string {
	sum := 0
	for i := range 12 {
		v := int(d12[i] - '0')
		if i%2 == 1 {
			v *= 3
		}
		sum += v
	}
	return d12 + string(rune('0'+(10-sum%10)%10))
}

type warehouse struct {
	id, code, desc    string
	main              bool
	vID, vCode, vDesc any // boxed once
}

type shipMethod struct {
	id, code, desc string
	active         bool
}

var warehouseNames = []string{"Hoofdmagazijn Utrecht", "Magazijn Rotterdam", "Magazijn Eindhoven", "Magazijn Groningen", "Magazijn Zwolle"}

var shippingSpecs = []struct {
	code, desc string
	active     bool
	price      float64
}{
	{"POSTNL", "PostNL pakket", true, 6.95},
	{"DHL", "DHL Parcel", true, 7.5},
	{"PICKUP", "Afhalen", true, 0},
	{"OWN", "Eigen bezorging", true, 12.5},
	{"UPS", "UPS Express (vervallen)", false, 19.95},
}

func (g *generator) genWarehousesAndShipping() {
	for i := range g.opts.Warehouses {
		w := &warehouse{id: g.guid(), code: fmt.Sprint(i + 1), main: i == 0}
		if i < len(warehouseNames) {
			w.desc = warehouseNames[i]
		} else {
			w.desc = fmt.Sprintf("Magazijn %d", i+1)
		}
		w.vID, w.vCode, w.vDesc = w.id, w.code, w.desc
		g.warehouses = append(g.warehouses, w)
		mainFlag := int64(0)
		if w.main {
			mainFlag = 1
		}
		c, m := g.stamps()
		g.add(PathWarehouses, odata.Record{
			"ID": w.id, "Code": w.code, "Description": w.desc, "Main": mainFlag,
			"UseStorageLocations": int64(0), "DefaultStorageLocation": nil,
			"EMail":   fmt.Sprintf("magazijn%d@groothandel.example", i+1),
			"Created": c, "Modified": m, "Division": g.divV,
		})
	}
	for _, s := range shippingSpecs {
		sm := &shipMethod{id: g.guid(), code: s.code, desc: s.desc, active: s.active}
		g.ships = append(g.ships, sm)
		var tracking any
		if s.code == "POSTNL" || s.code == "DHL" {
			tracking = "https://track.example/" + strings.ToLower(s.code) + "?code={0}"
		}
		c, m := g.stamps()
		g.add(PathShippingMethods, odata.Record{
			"ID": sm.id, "Code": sm.code, "Description": sm.desc, "Active": sm.active,
			"Price": s.price, "TrackingURL": tracking, "Notes": nil,
			"Created": c, "Modified": m, "Division": g.divV,
		})
	}
}

// genStock writes inventory/ItemWarehouses: stock items have rows in some
// warehouses (the main one usually), never necessarily all, so zero-stock
// warehouses exist. Some rows have PlannedStockOut above CurrentStock.
func (g *generator) genStock() {
	items := g.sets[PathItems]
	for i, it := range g.items {
		if !it.stock {
			continue
		}
		rows := 0
		for wi, w := range g.warehouses {
			p := 0.5
			if w.main {
				p = 0.85
			}
			// The first item is in every warehouse but the last, so a
			// zero-stock warehouse exists even with few items.
			if i == 0 {
				p = 0
				if wi < len(g.warehouses)-1 || len(g.warehouses) == 1 {
					p = 1
				}
			}
			if !g.chance(p) && (rows > 0 || wi < len(g.warehouses)-1) {
				continue
			}
			rows++
			g.itemWarehouse(i, it, w)
		}
		items[i]["Stock"] = it.stockTotal
	}
}

func (g *generator) itemWarehouse(i int, it *item, w *warehouse) {
	q := func(lo, hi float64) float64 {
		v := g.between(lo, hi)
		if it.unit.fraction {
			return round3(v)
		}
		return float64(int(v))
	}
	cur := q(0, 500)
	if g.chance(0.08) {
		cur = 0
	}
	in, out, reserved := 0.0, 0.0, 0.0
	if g.chance(0.3) {
		in = q(1, 200)
	}
	if g.chance(0.4) {
		out = q(1, 100)
	}
	// About 5 % oversold: more planned out than on hand (available clamps
	// to 0). Item 1 always is, so the edge exists at any size.
	if i == 1 || g.chance(0.05) {
		out = cur + q(1, 50)
	}
	if g.chance(0.1) {
		reserved = q(0, min(cur, 20)+1)
	}
	it.stockTotal = round3(it.stockTotal + cur)
	c, m := g.stamps()
	g.add(PathItemWarehouses, odata.Record{
		"ID": g.guid(), "Item": it.vID, "ItemCode": it.vCode, "ItemDescription": it.vDesc,
		"ItemUnit": it.vUnit, "Warehouse": w.vID, "WarehouseCode": w.vCode,
		"WarehouseDescription": w.vDesc, "CurrentStock": cur, "PlannedStockIn": in,
		"PlannedStockOut": out, "ProjectedStock": round3(cur + in - out), "ReservedStock": reserved,
		"SafetyStock": 0.0, "ReorderPoint": q(0, 50), "ReorderQuantity": q(0, 200),
		"MaximumStock": 0.0, "DefaultStorageLocation": nil,
		"Created": c, "Modified": m, "Division": g.divV,
	})
}
