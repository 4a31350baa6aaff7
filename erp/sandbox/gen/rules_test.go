package gen

import (
	"sort"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

// refPricer is a small float64 reference of ARCHITECTURE §4, only to prove
// the demo buyers' data leads to their rule. The gateway's own (decimal)
// implementation is tested elsewhere.
type refPricer struct {
	x        *index
	currency string
	prices   map[string][]odata.Record // item ID -> SalesItemPrices rows
	vds      map[string][]odata.Record // period ID -> volume-discount rows
	periods  map[string][]odata.Record // list ID -> periods
}

func newRefPricer(x *index) *refPricer {
	p := &refPricer{x: x, currency: "EUR", prices: map[string][]odata.Record{}, vds: map[string][]odata.Record{}, periods: map[string][]odata.Record{}}
	for _, r := range x.d.Sets[PathSalesItemPrices] {
		p.prices[r["Item"].(string)] = append(p.prices[r["Item"].(string)], r)
	}
	for _, r := range x.d.Sets[PathVolumeDiscounts] {
		p.vds[r["PriceListPeriod"].(string)] = append(p.vds[r["PriceListPeriod"].(string)], r)
	}
	for _, r := range x.d.Sets[PathPriceListPeriods] {
		p.periods[r["PriceList"].(string)] = append(p.periods[r["PriceList"].(string)], r)
	}
	return p
}

// unitOK: a row in another unit (Unit or SalesUnit), or for a pack of
// several of the item's units, does not apply.
func unitOK(r, item odata.Record) bool {
	if n, ok := r["NumberOfItemsPerUnit"].(float64); ok && n != 1 {
		return false
	}
	for _, f := range []string{"Unit", "SalesUnit"} {
		if u, ok := r[f].(string); ok && u != item["Unit"] {
			return false
		}
	}
	return true
}

func startOf(r odata.Record) time.Time { t, _ := r["StartDate"].(time.Time); return t }

// best returns the row with the highest Quantity <= q, ties to the latest StartDate.
func best(rows []odata.Record, q float64) odata.Record {
	var b odata.Record
	for _, r := range rows {
		rq := r["Quantity"].(float64)
		if rq > q {
			continue
		}
		if b == nil || rq > b["Quantity"].(float64) || (rq == b["Quantity"].(float64) && startOf(r).After(startOf(b))) {
			b = r
		}
	}
	return b
}

func (p *refPricer) salesRows(item odata.Record, account any, cur string) []odata.Record {
	var out []odata.Record
	for _, r := range p.prices[item["ID"].(string)] {
		if r["Account"] == account && r["Currency"] == cur && p.x.valid(r) && unitOK(r, item) {
			out = append(out, r)
		}
	}
	return out
}

func (p *refPricer) defaultPrice(item odata.Record, cur string, q float64) (float64, bool) {
	if r := best(p.salesRows(item, nil, cur), q); r != nil {
		return r["Price"].(float64), true
	}
	if cur == p.currency {
		return item["StandardSalesPrice"].(float64), true
	}
	return 0, false
}

// price returns the unit price and its source for account acc, item, q.
func (p *refPricer) price(acc, item odata.Record, q float64) (float64, string) {
	cur := acc["SalesCurrency"].(string)
	if r := best(p.salesRows(item, acc["ID"], cur), q); r != nil {
		return r["Price"].(float64), RuleCustomerPrice
	}
	def, hasDef := p.defaultPrice(item, cur, q)
	if pl, ok := acc["PriceList"].(string); ok {
		var ps []odata.Record
		for _, per := range p.periods[pl] {
			if p.x.valid(per) && per["Currency"] == cur {
				ps = append(ps, per)
			}
		}
		sort.SliceStable(ps, func(i, j int) bool {
			if ps[i]["Type"] != ps[j]["Type"] {
				return ps[i]["Type"].(int64) > ps[j]["Type"].(int64)
			}
			return startOf(ps[i]).After(startOf(ps[j]))
		})
		rowsFor := func(match func(odata.Record) bool) []odata.Record {
			for _, per := range ps {
				var rows []odata.Record
				for _, r := range p.vds[per["ID"].(string)] {
					if match(r) && unitOK(r, item) {
						rows = append(rows, r)
					}
				}
				if len(rows) > 0 {
					return rows
				}
			}
			return nil
		}
		rows := rowsFor(func(r odata.Record) bool { return r["Item"] == item["ID"] })
		if rows == nil {
			rows = rowsFor(func(r odata.Record) bool { return r["ItemGroup"] == item["ItemGroup"] })
		}
		if r := best(rows, q); r != nil {
			if r["EntryMethod"] == int64(2) {
				return r["NewPrice"].(float64), RulePriceList
			}
			// BasePrice (a GUID) set: the amount; null: the default price.
			base, setBase := def, false
			if _, ok := r["BasePrice"].(string); ok {
				base, setBase = r["BasePriceAmount"].(float64), true
			}
			if setBase || hasDef {
				return round2((1 - r["Discount"].(float64)) * base), RulePriceList
			}
		}
	}
	if !hasDef {
		return 0, ""
	}
	if d := acc["DiscountSales"].(float64); d > 0 {
		return round2(def * (1 - d)), RuleAccountDiscount
	}
	return def, RuleDefaultPrice
}

func TestDemoBuyersResolveToTheirRule(t *testing.T) {
	for _, n := range sizes {
		x := newIndex(dataset(t, n))
		p := newRefPricer(x)
		page := catalogFirstPage(x, 20)
		for _, b := range x.d.DemoBuyers {
			acc := x.byID[PathAccounts][b.AccountID]
			sources := map[string]int{}
			for _, it := range page {
				_, src := p.price(acc, it, 1)
				sources[src]++
			}
			switch b.Rule {
			case RuleCustomerPrice, RulePriceList:
				if sources[b.Rule] < len(page)/3 {
					t.Errorf("%d items: %s buyer: first page sources %v", n, b.Rule, sources)
				}
				if src := sources[RuleDefaultPrice]; src == 0 {
					t.Errorf("%d items: %s buyer: no first-page item falls through to the default (%v)", n, b.Rule, sources)
				}
			case RuleAccountDiscount, RuleDefaultPrice:
				if sources[b.Rule] != len(page) {
					t.Errorf("%d items: %s buyer: first page sources %v", n, b.Rule, sources)
				}
			case RuleOtherCurrency:
				if sources[RuleDefaultPrice] == 0 || sources[""] == 0 {
					t.Errorf("%d items: %s buyer: want some priced and some unpriced items, got %v", n, b.Rule, sources)
				}
			}
		}

		// Specific edges of the CUSTOMER_PRICE and PRICE_LIST buyers.
		cp := x.byID[PathAccounts][x.d.DemoBuyers[0].AccountID]
		pl := x.byID[PathAccounts][x.d.DemoBuyers[1].AccountID]
		base := func(k int) float64 { v, _ := p.defaultPrice(page[k], "EUR", 1); return v }
		defAt := func(k int, q float64) float64 { v, _ := p.defaultPrice(page[k], "EUR", q); return v }
		tests := []struct {
			name    string
			acc     odata.Record
			k       int
			q       float64
			want    float64
			wantSrc string
		}{
			{"agreement tie takes latest StartDate", cp, 2, 1, round2(base(2) * 0.88), RuleCustomerPrice},
			{"agreement tier 10", cp, 1, 12, round2(base(1) * 0.85), RuleCustomerPrice},
			{"expired agreement ignored", cp, 3, 1, base(3), RuleDefaultPrice},
			{"future agreement ignored", cp, 4, 1, base(4), RuleDefaultPrice},
			{"other-unit agreement ignored", cp, 5, 1, base(5), RuleDefaultPrice},
			{"other-currency agreement ignored", cp, 6, 1, base(6), RuleDefaultPrice},
			{"agreement from 10 only, q 1", cp, 8, 1, base(8), RuleDefaultPrice},
			{"special offer beats basic", pl, 0, 1, round2(base(0) * 0.7), RulePriceList},
			{"latest basic wins", pl, 2, 1, round2(base(2) * 0.82), RulePriceList},
			{"list from 10 only, q 1", pl, 4, 1, base(4), RuleDefaultPrice},
			{"list from 10 only, q 10", pl, 4, 10, round2(base(4) * 0.8), RulePriceList},
			{"discount on set base price", pl, 6, 1, round2(round2(base(6)*1.2) * 0.95), RulePriceList},
			{"standard price ignores a differing BasePriceAmount", pl, 12, 1, round2(base(12) * 0.92), RulePriceList},
			{"standard price at tier 10 uses the default tier", pl, 10, 10, round2(defAt(10, 10) * 0.85), RulePriceList},
			{"sales-unit row ignored, q 1", pl, 9, 1, base(9), RuleDefaultPrice},
			{"pack-of-6 row ignored", pl, 10, 1, round2(base(10) * 0.9), RulePriceList},
			{"pack-of-12 agreement ignored", cp, 10, 1, round2(base(10) * 0.9), RuleCustomerPrice},
		}
		for _, tt := range tests {
			got, src := p.price(tt.acc, page[tt.k], tt.q)
			if got != tt.want || src != tt.wantSrc {
				t.Errorf("%d items: %s: price %v (%s), want %v (%s)", n, tt.name, got, src, tt.want, tt.wantSrc)
			}
		}
	}
}
