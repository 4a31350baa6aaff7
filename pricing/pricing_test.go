package pricing

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Amsterdam and America/New_York without a system zoneinfo

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func decp(s string) *decimal.Decimal { v := dec(s); return &v }

// day returns the Exact value of a date-only field: midnight UTC.
func day(y int, m time.Month, d int) erp.Time {
	return erp.NewTime(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

func datep(y int, m time.Month, d int) *civil.Date { return &civil.Date{Year: y, Month: m, Day: d} }

var (
	today     = civil.Date{Year: 2026, Month: time.November, Day: 28}
	yesterday = day(2026, time.November, 27)
	todayT    = day(2026, time.November, 28)
	tomorrow  = day(2026, time.November, 29)
	lastYear  = day(2025, time.January, 1)
	nextYear  = day(2027, time.December, 31)
	ctx       = Context{Today: today, DivisionCurrency: "EUR"}
)

const (
	itemID  = "11111111-1111-1111-1111-111111111111"
	groupID = "22222222-2222-2222-2222-222222222222"
	acctID  = "33333333-3333-3333-3333-333333333333"
	plID    = "44444444-4444-4444-4444-444444444444"
)

func testItem() erp.Item {
	return erp.Item{ID: itemID, Code: "A100", Unit: "pc      ", ItemGroup: groupID, StandardSalesPrice: dec("9.99")}
}

// row is a general (Account == "") SalesItemPrices row in EUR.
func row(qty, price string) erp.SalesItemPrice {
	return erp.SalesItemPrice{ID: "row-" + qty + "-" + price, Item: itemID, Price: dec(price), Currency: "EUR", Quantity: dec(qty)}
}

// acctRow is a price agreement of acctID in EUR.
func acctRow(qty, price string) erp.SalesItemPrice {
	r := row(qty, price)
	r.Account = acctID
	r.ID = "acct-" + qty + "-" + price
	return r
}

func with(r erp.SalesItemPrice, f func(*erp.SalesItemPrice)) erp.SalesItemPrice { f(&r); return r }

func period(id string, typ int, start, end erp.Time) erp.SalesPriceListPeriod {
	return erp.SalesPriceListPeriod{ID: id, PriceList: plID, Type: typ, StartDate: start, EndDate: end, Currency: "EUR"}
}

// newPrice is a volume-discount row for the item with EntryMethod 2.
func newPrice(periodID, qty, price string) erp.SalesPriceListVolumeDiscount {
	return erp.SalesPriceListVolumeDiscount{ID: periodID + "-np-" + qty, PriceListPeriod: periodID, Item: itemID, ItemGroup: groupID,
		Quantity: dec(qty), NewPrice: dec(price), EntryMethod: erp.EntryNewPrice}
}

// basePriceID is the GUID of a set base price.
const basePriceID = "55555555-5555-5555-5555-555555555555"

// discount is a volume-discount row for the item with EntryMethod 1 on a
// set base price (BasePrice a GUID) of amount base, or, when base is nil, on
// the standard sales price (BasePrice null).
func discount(periodID, qty, frac string, base *decimal.Decimal) erp.SalesPriceListVolumeDiscount {
	r := erp.SalesPriceListVolumeDiscount{ID: periodID + "-d-" + qty, PriceListPeriod: periodID, Item: itemID, ItemGroup: groupID,
		Quantity: dec(qty), Discount: dec(frac), EntryMethod: erp.EntryDiscount, BasePriceAmount: base}
	if base != nil {
		r.BasePrice = basePriceID
	}
	return r
}

// stdDiscount is a discount row on the standard sales price (BasePrice
// null) whose BasePriceAmount Exact filled with amount (nil: null).
func stdDiscount(periodID, qty, frac string, amount *decimal.Decimal) erp.SalesPriceListVolumeDiscount {
	r := discount(periodID, qty, frac, nil)
	r.BasePriceAmount = amount
	return r
}

// groupDiscount is a volume-discount row for the item's group.
func groupDiscount(periodID, qty, frac string) erp.SalesPriceListVolumeDiscount {
	return erp.SalesPriceListVolumeDiscount{ID: periodID + "-g-" + qty, PriceListPeriod: periodID, ItemGroup: groupID,
		Quantity: dec(qty), Discount: dec(frac), EntryMethod: erp.EntryDiscount}
}

var (
	eurBuyer = Terms{AccountID: acctID, Currency: "EUR"}
	plBuyer  = Terms{AccountID: acctID, Currency: "EUR", PriceList: plID}
	usdBuyer = Terms{AccountID: acctID, Currency: "USD", PriceList: plID}
	anon     = Terms{Currency: "EUR"}
)

func price(unit, list, pct, qty string, src Source, until *civil.Date) Price {
	return Price{UnitPrice: dec(unit), ListPrice: dec(list), DiscountPercentage: dec(pct), Quantity: dec(qty),
		Currency: "EUR", Source: src, ValidUntil: until}
}

func TestResolve(t *testing.T) {
	item := testItem()
	noStd := item
	noStd.StandardSalesPrice = decimal.Zero
	tiers := []erp.SalesItemPrice{row("1", "10"), row("10", "9"), row("100", "8")}

	tests := []struct {
		name  string
		c     Context
		b     Terms
		d     Data
		q     string
		want  Price
		noneW bool
	}{
		// Step 3: default price and its fallbacks.
		{name: "standard sales price fallback", b: eurBuyer, d: Data{Item: item}, q: "1",
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "standard sales price zero is no price", b: eurBuyer, d: Data{Item: noStd}, q: "1", noneW: true},
		{name: "anonymous default price", b: anon, d: Data{Item: item, DefaultRows: tiers}, q: "10",
			want: price("9", "9", "0", "10", SourceDefaultPrice, nil)},
		{name: "default tier just below", b: eurBuyer, d: Data{Item: item, DefaultRows: tiers}, q: "9",
			want: price("10", "10", "0", "9", SourceDefaultPrice, nil)},
		{name: "default tier exactly at", b: eurBuyer, d: Data{Item: item, DefaultRows: tiers}, q: "10",
			want: price("9", "9", "0", "10", SourceDefaultPrice, nil)},
		{name: "default tier fractional below", b: eurBuyer, d: Data{Item: item, DefaultRows: tiers}, q: "9.999",
			want: price("10", "10", "0", "9.999", SourceDefaultPrice, nil)},
		{name: "default tier highest", b: eurBuyer, d: Data{Item: item, DefaultRows: tiers}, q: "250",
			want: price("8", "8", "0", "250", SourceDefaultPrice, nil)},
		{name: "fraction below the lowest tier falls back to standard price", b: eurBuyer, d: Data{Item: item, DefaultRows: tiers}, q: "0.5",
			want: price("9.99", "9.99", "0", "0.5", SourceDefaultPrice, nil)},
		{name: "quantity zero has no price", b: eurBuyer, d: Data{Item: item, DefaultRows: tiers}, q: "0", noneW: true},
		{name: "negative quantity has no price", b: eurBuyer, d: Data{Item: item, DefaultRows: tiers}, q: "-1", noneW: true},
		{name: "default row EndDate is validUntil", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) { r.EndDate = nextYear })}},
			want: price("10", "10", "0", "1", SourceDefaultPrice, datep(2027, time.December, 31))},
		{name: "tie on quantity: latest StartDate wins", b: eurBuyer, q: "1",
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{
				with(row("1", "10"), func(r *erp.SalesItemPrice) { r.StartDate = day(2026, time.June, 1) }),
				with(row("1", "11"), func(r *erp.SalesItemPrice) { r.StartDate = day(2026, time.October, 1) }),
				with(row("1", "12"), func(r *erp.SalesItemPrice) { r.StartDate = lastYear }),
			}},
			want: price("11", "11", "0", "1", SourceDefaultPrice, nil)},
		{name: "tie on quantity: a StartDate beats a null one", b: eurBuyer, q: "1",
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{
				row("1", "10"),
				with(row("1", "11"), func(r *erp.SalesItemPrice) { r.StartDate = lastYear }),
			}},
			want: price("11", "11", "0", "1", SourceDefaultPrice, nil)},
		{name: "full tie: lowest price", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "11"), row("1", "10.5")}},
			want: price("10.5", "10.5", "0", "1", SourceDefaultPrice, nil)},

		// Validity windows.
		{name: "starts today is valid", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) { r.StartDate = todayT })}},
			want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "ends today is valid", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) { r.EndDate = todayT })}},
			want: price("10", "10", "0", "1", SourceDefaultPrice, &today)},
		{name: "ended yesterday is ignored", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) { r.EndDate = yesterday })}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "starts tomorrow is ignored", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) { r.StartDate = tomorrow })}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "window around today with both dates", b: eurBuyer, q: "1",
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) {
				r.StartDate, r.EndDate = lastYear, tomorrow
			})}},
			want: price("10", "10", "0", "1", SourceDefaultPrice, datep(2026, time.November, 29))},
		{name: "EndDate late in the UTC day still counts as that day", b: eurBuyer, q: "1",
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) {
				r.EndDate = erp.NewTime(time.Date(2026, time.November, 28, 23, 30, 0, 0, time.UTC))
			})}},
			want: price("10", "10", "0", "1", SourceDefaultPrice, &today)},

		// Currency and unit filtering.
		{name: "USD buyer ignores EUR rows and the standard price", b: usdBuyer, q: "1",
			d: Data{Item: item, DefaultRows: tiers, AccountRows: []erp.SalesItemPrice{acctRow("1", "5")},
				Periods: []erp.SalesPriceListPeriod{period("p1", erp.PeriodBasic, lastYear, erp.Time{})}, Discounts: []erp.SalesPriceListVolumeDiscount{newPrice("p1", "1", "4")}},
			noneW: true},
		{name: "USD buyer gets USD default row", b: usdBuyer, q: "1",
			d: Data{Item: item, DefaultRows: append([]erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Currency = "USD" })}, tiers...)},
			want: Price{UnitPrice: dec("12"), ListPrice: dec("12"), DiscountPercentage: dec("0"), Quantity: dec("1"),
				Currency: "USD", Source: SourceDefaultPrice}},
		{name: "EUR buyer ignores USD rows", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Currency = "USD" })}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "row without currency is in the division currency", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Currency = "" })}},
			want: price("12", "12", "0", "1", SourceDefaultPrice, nil)},
		{name: "buyer without currency is in the division currency", b: Terms{AccountID: acctID}, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Currency = "eur " })}},
			want: price("12", "12", "0", "1", SourceDefaultPrice, nil)},
		{name: "row in another unit is ignored", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Unit = "box     " })}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "row in the sales unit without padding applies", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Unit = "pc" })}},
			want: price("12", "12", "0", "1", SourceDefaultPrice, nil)},
		{name: "row for a pack of 12 (NumberOfItemsPerUnit) is ignored", b: eurBuyer, q: "1",
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) {
				r.NumberOfItemsPerUnit, r.DefaultItemUnit = dec("12"), "pc      "
			})}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "row with NumberOfItemsPerUnit 1 applies", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.NumberOfItemsPerUnit = dec("1") })}},
			want: price("12", "12", "0", "1", SourceDefaultPrice, nil)},
		{name: "pack agreement ignored: default decides", b: eurBuyer, q: "1",
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "12")},
				AccountRows: []erp.SalesItemPrice{with(acctRow("1", "30"), func(r *erp.SalesItemPrice) { r.NumberOfItemsPerUnit = dec("6") })}},
			want: price("12", "12", "0", "1", SourceDefaultPrice, nil)},
		{name: "item without a unit: DefaultItemUnit decides (other unit ignored)", b: eurBuyer, q: "1",
			d: Data{Item: func() erp.Item { it := testItem(); it.Unit = ""; return it }(), DefaultRows: []erp.SalesItemPrice{
				with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Unit, r.DefaultItemUnit = "box     ", "pc      " }),
				with(row("1", "11"), func(r *erp.SalesItemPrice) { r.Unit, r.DefaultItemUnit, r.ID = "pc      ", "pc      ", "row-pc" }),
			}},
			want: price("11", "11", "0", "1", SourceDefaultPrice, nil)},
		{name: "row of another item is ignored", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{with(row("1", "12"), func(r *erp.SalesItemPrice) { r.Item = "other" })}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},

		// Account discount.
		{name: "account discount on default row", b: Terms{AccountID: acctID, Currency: "EUR", DiscountSales: dec("0.1")}, q: "1",
			d:    Data{Item: item, DefaultRows: tiers},
			want: price("9", "10", "10", "1", SourceAccountDiscount, nil)},
		{name: "account discount on standard price rounds", b: Terms{AccountID: acctID, Currency: "EUR", DiscountSales: dec("0.1")}, q: "1",
			d:    Data{Item: item},
			want: price("8.99", "9.99", "10.01", "1", SourceAccountDiscount, nil)},
		{name: "account discount not applied on top of a customer price", b: Terms{AccountID: acctID, Currency: "EUR", DiscountSales: dec("0.1")}, q: "1",
			d:    Data{Item: item, DefaultRows: tiers, AccountRows: []erp.SalesItemPrice{acctRow("1", "8")}},
			want: price("8", "10", "20", "1", SourceCustomerPrice, nil)},
		{name: "account discount not applied on top of a price list", b: Terms{AccountID: acctID, Currency: "EUR", PriceList: plID, DiscountSales: dec("0.1")}, q: "1",
			d: Data{Item: item, DefaultRows: tiers, Periods: []erp.SalesPriceListPeriod{period("p1", erp.PeriodBasic, lastYear, erp.Time{})},
				Discounts: []erp.SalesPriceListVolumeDiscount{newPrice("p1", "1", "7")}},
			want: price("7", "10", "30", "1", SourcePriceList, nil)},

		// Step 1: customer price.
		{name: "customer price tiers just below", b: eurBuyer, q: "19.5",
			d:    Data{Item: item, DefaultRows: tiers, AccountRows: []erp.SalesItemPrice{acctRow("1", "9.5"), acctRow("20", "7")}},
			want: price("9.5", "9", "-5.56", "19.5", SourceCustomerPrice, nil)},
		{name: "customer price tier exactly at", b: eurBuyer, q: "20",
			d:    Data{Item: item, DefaultRows: tiers, AccountRows: []erp.SalesItemPrice{acctRow("1", "9.5"), acctRow("20", "7")}},
			want: price("7", "9", "22.22", "20", SourceCustomerPrice, nil)},
		{name: "customer price above q does not apply", b: eurBuyer, q: "5",
			d:    Data{Item: item, DefaultRows: tiers, AccountRows: []erp.SalesItemPrice{acctRow("20", "7")}},
			want: price("10", "10", "0", "5", SourceDefaultPrice, nil)},
		{name: "customer price tie: latest StartDate, validUntil from its EndDate", b: eurBuyer, q: "1",
			d: Data{Item: item, AccountRows: []erp.SalesItemPrice{
				with(acctRow("1", "6"), func(r *erp.SalesItemPrice) { r.StartDate, r.EndDate = lastYear, nextYear }),
				with(acctRow("1", "7"), func(r *erp.SalesItemPrice) { r.StartDate, r.EndDate = day(2026, time.March, 1), tomorrow }),
			}},
			want: price("7", "9.99", "29.93", "1", SourceCustomerPrice, datep(2026, time.November, 29))},
		{name: "expired customer price is ignored", b: eurBuyer, q: "1",
			d:    Data{Item: item, AccountRows: []erp.SalesItemPrice{with(acctRow("1", "6"), func(r *erp.SalesItemPrice) { r.EndDate = yesterday })}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "another account's agreement is ignored", b: eurBuyer, q: "1",
			d:    Data{Item: item, AccountRows: []erp.SalesItemPrice{with(acctRow("1", "6"), func(r *erp.SalesItemPrice) { r.Account = "other" })}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "anonymous buyer never gets an agreement", b: anon, q: "1",
			d:    Data{Item: item, AccountRows: []erp.SalesItemPrice{row("1", "6")}},
			want: price("9.99", "9.99", "0", "1", SourceDefaultPrice, nil)},
		{name: "customer price without any default: list is unit", b: eurBuyer, q: "1",
			d:    Data{Item: noStd, AccountRows: []erp.SalesItemPrice{acctRow("1", "6.5")}},
			want: price("6.5", "6.5", "0", "1", SourceCustomerPrice, nil)},
		{name: "list price zero: discountPercentage 0", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "0")}, AccountRows: []erp.SalesItemPrice{acctRow("1", "5")}},
			want: price("5", "0", "0", "1", SourceCustomerPrice, nil)},
		{name: "USD agreement for a USD buyer", b: Terms{AccountID: acctID, Currency: "USD"}, q: "1",
			d: Data{Item: item, DefaultRows: tiers, AccountRows: []erp.SalesItemPrice{acctRow("1", "5"), with(acctRow("1", "6"), func(r *erp.SalesItemPrice) { r.Currency = "USD" })}},
			want: Price{UnitPrice: dec("6"), ListPrice: dec("6"), DiscountPercentage: dec("0"), Quantity: dec("1"),
				Currency: "USD", Source: SourceCustomerPrice}},

		// Rounding.
		{name: "unit price rounds half away from zero", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10.125")}},
			want: price("10.13", "10.13", "0", "1", SourceDefaultPrice, nil)},
		{name: "agreement rounds separately from list", b: eurBuyer, q: "1",
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10.135")}, AccountRows: []erp.SalesItemPrice{acctRow("1", "3.3333")}},
			want: price("3.33", "10.14", "67.16", "1", SourceCustomerPrice, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if c == (Context{}) {
				c = ctx
			}
			got, ok := Resolve(c, tt.b, tt.d, dec(tt.q))
			if ok == tt.noneW {
				t.Fatalf("Resolve ok = %v, want %v (price %+v)", ok, !tt.noneW, got)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
				t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolvePriceList(t *testing.T) {
	item := testItem()
	defaults := []erp.SalesItemPrice{row("1", "10"), row("10", "9")}
	basic := period("basic", erp.PeriodBasic, lastYear, erp.Time{})
	basicLater := period("basic-later", erp.PeriodBasic, day(2026, time.October, 1), nextYear)
	special := period("special", erp.PeriodSpecialOffer, day(2026, time.March, 1), day(2026, time.December, 31))
	expired := period("expired", erp.PeriodSpecialOffer, lastYear, yesterday)
	future := period("future", erp.PeriodSpecialOffer, tomorrow, nextYear)
	pl := func(unit, list, pct, qty string, until *civil.Date) Price {
		return price(unit, list, pct, qty, SourcePriceList, until)
	}

	tests := []struct {
		name    string
		b       Terms
		periods []erp.SalesPriceListPeriod
		rows    []erp.SalesPriceListVolumeDiscount
		item    *erp.Item
		q       string
		want    Price
		noneW   bool
	}{
		{name: "new price", periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "7.5")},
			q: "1", want: pl("7.5", "10", "25", "1", nil)},
		{name: "validUntil is the period's EndDate", periods: []erp.SalesPriceListPeriod{basicLater}, rows: []erp.SalesPriceListVolumeDiscount{newPrice("basic-later", "1", "7.5")},
			q: "1", want: pl("7.5", "10", "25", "1", datep(2027, time.December, 31))},
		{name: "buyer without price list ignores periods", b: eurBuyer, periods: []erp.SalesPriceListPeriod{basic},
			rows: []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "7.5")},
			q:    "1", want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "period of another price list is ignored",
			periods: []erp.SalesPriceListPeriod{func() erp.SalesPriceListPeriod { p := basic; p.PriceList = "other"; return p }()},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "7.5")},
			q:       "1", want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "special offer before basic even when basic started later",
			periods: []erp.SalesPriceListPeriod{basicLater, special},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("basic-later", "1", "7"), newPrice("special", "1", "8")},
			q:       "1", want: pl("8", "10", "20", "1", datep(2026, time.December, 31))},
		{name: "within a type the latest start first",
			periods: []erp.SalesPriceListPeriod{basic, basicLater},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "7"), newPrice("basic-later", "1", "8")},
			q:       "1", want: pl("8", "10", "20", "1", datep(2027, time.December, 31))},
		{name: "expired and future periods are ignored",
			periods: []erp.SalesPriceListPeriod{expired, future, basic},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("expired", "1", "5"), newPrice("future", "1", "6"), newPrice("basic", "1", "7")},
			q:       "1", want: pl("7", "10", "30", "1", nil)},
		{name: "period in another currency is ignored",
			periods: []erp.SalesPriceListPeriod{func() erp.SalesPriceListPeriod { p := special; p.Currency = "USD"; return p }(), basic},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("special", "1", "5"), newPrice("basic", "1", "7")},
			q:       "1", want: pl("7", "10", "30", "1", nil)},
		{name: "period without currency is in the division currency",
			periods: []erp.SalesPriceListPeriod{func() erp.SalesPriceListPeriod { p := basic; p.Currency = ""; return p }()},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "7")},
			q:       "1", want: pl("7", "10", "30", "1", nil)},
		{name: "fall through to a later period when the first has no row for the item",
			periods: []erp.SalesPriceListPeriod{special, basic},
			rows: []erp.SalesPriceListVolumeDiscount{
				func() erp.SalesPriceListVolumeDiscount {
					r := newPrice("special", "1", "5")
					r.Item = "other"
					r.ItemGroup = "other-group"
					return r
				}(),
				newPrice("basic", "1", "7"),
			},
			q: "1", want: pl("7", "10", "30", "1", nil)},
		{name: "group row applies when no period has an item row",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{groupDiscount("basic", "1", "0.25")},
			q: "1", want: pl("7.5", "10", "25", "1", nil)},
		{name: "a row for another item of the group is not a group row",
			periods: []erp.SalesPriceListPeriod{basic},
			rows: []erp.SalesPriceListVolumeDiscount{
				func() erp.SalesPriceListVolumeDiscount { r := newPrice("basic", "1", "5"); r.Item = "other"; return r }(),
			},
			q: "1", want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "item rows win over group rows in the same period",
			periods: []erp.SalesPriceListPeriod{basic},
			rows:    []erp.SalesPriceListVolumeDiscount{groupDiscount("basic", "1", "0.5"), newPrice("basic", "1", "8")},
			q:       "1", want: pl("8", "10", "20", "1", nil)},
		{name: "item row in a later period beats a group row in an earlier one",
			periods: []erp.SalesPriceListPeriod{special, basic},
			rows:    []erp.SalesPriceListVolumeDiscount{groupDiscount("special", "1", "0.5"), newPrice("basic", "1", "8")},
			q:       "1", want: pl("8", "10", "20", "1", nil)},
		{name: "no item row at this quantity: step 3 decides, group rows do not",
			periods: []erp.SalesPriceListPeriod{basic},
			rows:    []erp.SalesPriceListVolumeDiscount{groupDiscount("basic", "1", "0.5"), newPrice("basic", "10", "8")},
			q:       "5", want: price("10", "10", "0", "5", SourceDefaultPrice, nil)},
		{name: "volume tier exactly at",
			periods: []erp.SalesPriceListPeriod{basic},
			rows:    []erp.SalesPriceListVolumeDiscount{groupDiscount("basic", "1", "0.5"), newPrice("basic", "10", "8"), newPrice("basic", "50", "6")},
			q:       "10", want: pl("8", "9", "11.11", "10", nil)},
		{name: "volume tier fractional just below",
			periods: []erp.SalesPriceListPeriod{basic},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("basic", "10", "8"), newPrice("basic", "50", "6")},
			q:       "49.99", want: pl("8", "9", "11.11", "49.99", nil)},
		{name: "discount on a set base price uses BasePriceAmount",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{discount("basic", "1", "0.25", decp("20"))},
			q: "1", want: pl("15", "10", "-50", "1", nil)},
		{name: "discount on a set base price of 0 is 0",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{discount("basic", "1", "0.25", decp("0"))},
			q: "1", want: pl("0", "10", "100", "1", nil)},
		{name: "set base price without an amount: step 3 decides",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{func() erp.SalesPriceListVolumeDiscount {
				r := discount("basic", "1", "0.25", decp("20"))
				r.BasePriceAmount = nil
				return r
			}()},
			q: "1", want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "standard price ignores a differing BasePriceAmount",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{stdDiscount("basic", "1", "0.25", decp("20"))},
			q: "1", want: pl("7.5", "10", "25", "1", nil)},
		{name: "standard price with BasePriceAmount 0 uses the default price",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{stdDiscount("basic", "1", "0.25", decp("0"))},
			q: "1", want: pl("7.5", "10", "25", "1", nil)},
		{name: "standard price uses the default tier at q, not the amount",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{stdDiscount("basic", "1", "0.1", decp("10"))},
			q: "10", want: pl("8.1", "9", "10", "10", nil)},
		{name: "standard price with null BasePriceAmount uses the default price at q",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{stdDiscount("basic", "1", "0.1", nil)},
			q: "5", want: pl("9", "10", "10", "5", nil)},
		{name: "volume row in another SalesUnit is ignored",
			periods: []erp.SalesPriceListPeriod{basic},
			rows: []erp.SalesPriceListVolumeDiscount{func() erp.SalesPriceListVolumeDiscount {
				r := newPrice("basic", "1", "6")
				r.SalesUnit = "box     "
				return r
			}()},
			q: "1", want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "volume row in the item's SalesUnit applies",
			periods: []erp.SalesPriceListPeriod{basic},
			rows: []erp.SalesPriceListVolumeDiscount{func() erp.SalesPriceListVolumeDiscount {
				r := newPrice("basic", "1", "6")
				r.Unit, r.SalesUnit, r.NumberOfItemsPerUnit = "PC", "pc      ", dec("1")
				return r
			}()},
			q: "1", want: pl("6", "10", "40", "1", nil)},
		{name: "volume row for a pack of 6 is ignored",
			periods: []erp.SalesPriceListPeriod{basic},
			rows: []erp.SalesPriceListVolumeDiscount{func() erp.SalesPriceListVolumeDiscount {
				r := newPrice("basic", "1", "6")
				r.NumberOfItemsPerUnit = dec("6")
				return r
			}()},
			q: "1", want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "discount base is the standard price when there is no default row", item: &erp.Item{ID: itemID, Unit: "pc", ItemGroup: groupID, StandardSalesPrice: dec("9.99")},
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{discount("basic", "1", "0.15", nil)},
			q: "1", want: pl("8.49", "9.99", "15.02", "1", nil)},
		{name: "new price ignores BasePriceAmount and Discount",
			periods: []erp.SalesPriceListPeriod{basic},
			rows: []erp.SalesPriceListVolumeDiscount{func() erp.SalesPriceListVolumeDiscount {
				r := newPrice("basic", "1", "6")
				r.Discount, r.BasePriceAmount = dec("0.5"), decp("100")
				return r
			}()},
			q: "1", want: pl("6", "10", "40", "1", nil)},
		{name: "volume row in another unit is ignored",
			periods: []erp.SalesPriceListPeriod{basic},
			rows:    []erp.SalesPriceListVolumeDiscount{func() erp.SalesPriceListVolumeDiscount { r := newPrice("basic", "1", "6"); r.Unit = "box"; return r }()},
			q:       "1", want: price("10", "10", "0", "1", SourceDefaultPrice, nil)},
		{name: "discount without any base yields no price for a USD buyer", b: usdBuyer,
			periods: []erp.SalesPriceListPeriod{func() erp.SalesPriceListPeriod { p := basic; p.Currency = "USD"; return p }()},
			rows:    []erp.SalesPriceListVolumeDiscount{discount("basic", "1", "0.1", nil)},
			q:       "1", noneW: true},
		{name: "USD period new price for a USD buyer", b: usdBuyer,
			periods: []erp.SalesPriceListPeriod{func() erp.SalesPriceListPeriod { p := basic; p.Currency = "USD"; return p }()},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "11")},
			q:       "1", want: Price{UnitPrice: dec("11"), ListPrice: dec("11"), DiscountPercentage: dec("0"), Quantity: dec("1"), Currency: "USD", Source: SourcePriceList}},
		{name: "customer price beats the price list",
			periods: []erp.SalesPriceListPeriod{basic}, rows: []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "7")},
			q: "1", want: price("9", "10", "10", "1", SourceCustomerPrice, nil)},
		{name: "rows at the same quantity in one period: lowest price",
			periods: []erp.SalesPriceListPeriod{basic},
			rows:    []erp.SalesPriceListVolumeDiscount{newPrice("basic", "1", "7"), discount("basic", "1", "0.4", nil)},
			q:       "1", want: pl("6", "10", "40", "1", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			if b == (Terms{}) {
				b = plBuyer
			}
			it := item
			if tt.item != nil {
				it = *tt.item
			}
			d := Data{Item: it, DefaultRows: defaults, Periods: tt.periods, Discounts: tt.rows}
			if tt.name == "customer price beats the price list" {
				d.AccountRows = []erp.SalesItemPrice{acctRow("1", "9")}
			}
			if tt.item != nil {
				d.DefaultRows = nil
			}
			got, ok := Resolve(ctx, b, d, dec(tt.q))
			if ok == tt.noneW {
				t.Fatalf("Resolve ok = %v, want %v (price %+v)", ok, !tt.noneW, got)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
				t.Errorf("Resolve mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestToday(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	lateUTC := time.Date(2026, time.November, 28, 23, 30, 0, 0, time.UTC) // 00:30 on the 29th in Amsterdam
	earlyUTC := time.Date(2026, time.November, 29, 2, 0, 0, 0, time.UTC)  // 21:00 on the 28th in New York
	tests := []struct {
		name string
		now  time.Time
		loc  *time.Location
		want civil.Date
	}{
		{"already tomorrow in Amsterdam", lateUTC, ams, civil.Date{Year: 2026, Month: time.November, Day: 29}},
		{"still today in UTC", lateUTC, time.UTC, civil.Date{Year: 2026, Month: time.November, Day: 28}},
		{"nil location is UTC", lateUTC, nil, civil.Date{Year: 2026, Month: time.November, Day: 28}},
		{"already tomorrow in UTC", earlyUTC, time.UTC, civil.Date{Year: 2026, Month: time.November, Day: 29}},
		{"still today in New York", earlyUTC, ny, civil.Date{Year: 2026, Month: time.November, Day: 28}},
		{"summer time in Amsterdam", time.Date(2026, time.June, 30, 22, 0, 0, 0, time.UTC), ams, civil.Date{Year: 2026, Month: time.July, Day: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, civil.Today(tt.now, tt.loc)); diff != "" {
				t.Errorf("Today mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// A price ending on the 28th no longer applies once it is the 29th in
	// Amsterdam, although it is still the 28th in UTC.
	d := Data{Item: testItem(), DefaultRows: []erp.SalesItemPrice{with(row("1", "10"), func(r *erp.SalesItemPrice) { r.EndDate = todayT })}}
	for _, tc := range []struct {
		loc  *time.Location
		want string
	}{{ams, "9.99"}, {time.UTC, "10"}} {
		p, ok := Resolve(Context{Today: civil.Today(lateUTC, tc.loc), DivisionCurrency: "EUR"}, eurBuyer, d, dec("1"))
		if !ok || !p.UnitPrice.Equal(dec(tc.want)) {
			t.Errorf("Resolve in %v = %v, %v; want %s", tc.loc, p.UnitPrice, ok, tc.want)
		}
	}
}

func TestRound2(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.125", "0.13"},
		{"0.135", "0.14"},
		{"0.145", "0.15"},
		{"0.005", "0.01"},
		{"0.004999", "0"},
		{"1.994", "1.99"},
		{"1.995", "2"},
		{"-0.125", "-0.13"},
		{"-0.124", "-0.12"},
		{"7", "7"},
		{"12345678901234567890.555", "12345678901234567890.56"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := Round2(dec(tt.in))
			if !got.Equal(dec(tt.want)) || got.Exponent() < -2 {
				t.Errorf("Round2(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestLineAmount(t *testing.T) {
	tests := []struct{ unit, qty, want string }{
		{"10", "3", "30"},
		{"0.33", "3.333", "1.1"}, // 1.09989
		{"1.005", "3", "3.03"},   // unit rounded to 1.01 first, not 3.015 → 3.02
		{"2.675", "1", "2.68"},   // half away from zero
		{"19.99", "0.5", "10"},   // 9.995
		{"-1.25", "1", "-1.25"},  // negative stays defined
		{"4.444", "100", "444"},  // 4.44 × 100
		{"0.01", "0.4", "0"},     // 0.004
		{"0.01", "0.5", "0.01"},  // 0.005
		{"123.45", "1000000", "123450000"},
	}
	for _, tt := range tests {
		t.Run(tt.unit+"x"+tt.qty, func(t *testing.T) {
			if got := LineAmount(dec(tt.unit), dec(tt.qty)); !got.Equal(dec(tt.want)) {
				t.Errorf("LineAmount(%s, %s) = %s, want %s", tt.unit, tt.qty, got, tt.want)
			}
		})
	}
}

func TestBuyerFromAccount(t *testing.T) {
	tests := []struct {
		name string
		a    erp.Account
		want Terms
	}{
		{"currency from the account", erp.Account{ID: acctID, SalesCurrency: "USD", PriceList: plID, DiscountSales: dec("0.05")},
			Terms{AccountID: acctID, Currency: "USD", PriceList: plID, DiscountSales: dec("0.05")}},
		{"empty currency is the division's", erp.Account{ID: acctID},
			Terms{AccountID: acctID, Currency: "EUR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, TermsFromAccount(tt.a, "EUR"), decimalEqual); diff != "" {
				t.Errorf("BuyerFromAccount mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func brk(q, p string) Break {
	return Break{MinimumQuantity: dec(q), UnitPrice: dec(p), Currency: "EUR"}
}

func TestBreaks(t *testing.T) {
	item := testItem()
	noStd := item
	noStd.StandardSalesPrice = decimal.Zero
	basic := period("basic", erp.PeriodBasic, lastYear, erp.Time{})
	other := period("other", erp.PeriodBasic, day(2026, time.October, 1), erp.Time{}) // preferred (later start) but only has another item's rows

	tests := []struct {
		name string
		b    Terms
		d    Data
		want []Break
	}{
		{name: "standard price only: one break", b: eurBuyer, d: Data{Item: item}, want: []Break{brk("1", "9.99")}},
		{name: "no price: no breaks", b: usdBuyer, d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10")}}, want: nil},
		{name: "equal prices are deduplicated", b: eurBuyer,
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10"), row("5", "10"), row("10", "9"), row("20", "9"), row("50", "10")}},
			want: []Break{brk("1", "10"), brk("10", "9"), brk("50", "10")}},
		{name: "duplicate thresholds give one break", b: eurBuyer,
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("0", "10"), row("10", "9"),
				with(row("10", "8.5"), func(r *erp.SalesItemPrice) { r.StartDate = lastYear })}},
			want: []Break{brk("1", "10"), brk("10", "8.5")}},
		{name: "quantities up to 1 are not thresholds", b: eurBuyer,
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("0", "10"), row("0.5", "9.5")}},
			want: []Break{brk("1", "9.5")}},
		{name: "fractional threshold above 1", b: eurBuyer,
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10"), row("2.5", "9.25")}},
			want: []Break{brk("1", "10"), brk("2.5", "9.25")}},
		{name: "thresholds from customer rows", b: eurBuyer,
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10")}, AccountRows: []erp.SalesItemPrice{acctRow("20", "8")}},
			want: []Break{brk("1", "10"), brk("20", "8")}},
		{name: "thresholds from the chosen period's item rows", b: plBuyer,
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10")}, Periods: []erp.SalesPriceListPeriod{basic},
				Discounts: []erp.SalesPriceListVolumeDiscount{newPrice("basic", "50", "7")}},
			want: []Break{brk("1", "10"), brk("50", "7")}},
		{name: "thresholds from the chosen period's group rows", b: plBuyer,
			d: Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10")}, Periods: []erp.SalesPriceListPeriod{other, basic},
				Discounts: []erp.SalesPriceListVolumeDiscount{
					func() erp.SalesPriceListVolumeDiscount {
						r := newPrice("other", "5", "1")
						r.Item = "x"
						r.ItemGroup = "y"
						return r
					}(),
					groupDiscount("basic", "25", "0.2"),
				}},
			want: []Break{brk("1", "10"), brk("25", "8")}},
		{name: "thresholds from all three steps", b: Terms{AccountID: acctID, Currency: "EUR", PriceList: plID, DiscountSales: dec("0.05")},
			d: Data{Item: item,
				DefaultRows: []erp.SalesItemPrice{row("1", "10"), row("10", "9")},
				AccountRows: []erp.SalesItemPrice{acctRow("100", "6")},
				Periods:     []erp.SalesPriceListPeriod{basic},
				Discounts:   []erp.SalesPriceListVolumeDiscount{discount("basic", "50", "0.2", nil)}},
			want: []Break{brk("1", "9.5"), brk("10", "8.55"), brk("50", "7.2"), brk("100", "6")}},
		{name: "no price at 1: breaks start at the first priced threshold", b: eurBuyer,
			d:    Data{Item: noStd, AccountRows: []erp.SalesItemPrice{acctRow("12", "4")}},
			want: []Break{brk("12", "4")}},
		{name: "expired rows add no breaks", b: eurBuyer,
			d:    Data{Item: item, DefaultRows: []erp.SalesItemPrice{row("1", "10"), with(row("10", "9"), func(r *erp.SalesItemPrice) { r.EndDate = yesterday })}},
			want: []Break{brk("1", "10")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Breaks(ctx, tt.b, tt.d)
			if diff := cmp.Diff(tt.want, got, decimalEqual); diff != "" {
				t.Errorf("Breaks mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSameCode: the allocation-free comparison agrees with comparing
// normCode's results, ASCII or not.
func TestSameCode(t *testing.T) {
	codes := []string{"", " ", "pc", "PC", " pc  ", "Pc", "pcs", "eur", "EUR", "EUR ", "ß", "SS", "ǆ", "ǅ", "Ǆ", "k", "K", "\u212a", "é", "É", "ı", "I", "i", "\t", "p\u00a0"}
	for _, a := range codes {
		for _, b := range codes {
			if got, want := sameCode(a, b), normCode(a) == normCode(b); got != want {
				t.Errorf("sameCode(%q, %q) = %v, normCode compares %v", a, b, got, want)
			}
		}
		if got, want := blankCode(a), normCode(a) == ""; got != want {
			t.Errorf("blankCode(%q) = %v, want %v", a, got, want)
		}
	}
}
