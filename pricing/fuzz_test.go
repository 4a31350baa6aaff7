package pricing

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
)

// fuzzData builds a Data set for the test item from arbitrary bytes, so the
// fuzzer explores quantities, prices, dates, currencies, units and periods.
func fuzzData(raw []byte) (Terms, Data) {
	next := func() int {
		if len(raw) == 0 {
			return 0
		}
		v := int(raw[0])
		raw = raw[1:]
		return v
	}
	amount := func() decimal.Decimal { return decimal.New(int64(next()*7-300), -int32(next()%5)) }
	date := func() erp.Time {
		v := next()
		if v%4 == 0 {
			return erp.Time{}
		}
		return erp.NewTime(time.Date(2026, time.November, 28+v%9-4, 0, 0, 0, 0, time.UTC))
	}
	currencies := []string{"EUR", "USD", "", "eur"}
	units := []string{"", "pc", "box", "pc      "}
	b := Terms{AccountID: acctID, Currency: currencies[next()%4], DiscountSales: decimal.New(int64(next()%120), -2)}
	if next()%2 == 0 {
		b.PriceList = plID
	}
	d := Data{Item: testItem()}
	d.Item.StandardSalesPrice = amount()
	for i, n := 0, next()%6; i < n; i++ {
		r := erp.SalesItemPrice{ID: fmt.Sprint("d", i), Item: itemID, Price: amount(), Quantity: amount().Abs(),
			Currency: currencies[next()%4], Unit: units[next()%4], StartDate: date(), EndDate: date(),
			NumberOfItemsPerUnit: decimal.NewFromInt(int64(next() % 3)), DefaultItemUnit: units[next()%4]}
		d.DefaultRows = append(d.DefaultRows, r)
	}
	for i, n := 0, next()%4; i < n; i++ {
		r := erp.SalesItemPrice{ID: fmt.Sprint("a", i), Item: itemID, Account: acctID, Price: amount(), Quantity: amount().Abs(),
			Currency: currencies[next()%4], Unit: units[next()%4], StartDate: date(), EndDate: date()}
		d.AccountRows = append(d.AccountRows, r)
	}
	for i, n := 0, next()%4; i < n; i++ {
		p := erp.SalesPriceListPeriod{ID: fmt.Sprint("p", i), PriceList: plID, Type: next() % 4, StartDate: date(), EndDate: date(),
			Currency: currencies[next()%4]}
		d.Periods = append(d.Periods, p)
	}
	for i, n := 0, next()%8; i < n; i++ {
		r := erp.SalesPriceListVolumeDiscount{ID: fmt.Sprint("v", i), PriceListPeriod: fmt.Sprint("p", next()%4),
			Quantity: amount().Abs(), Discount: decimal.New(int64(next()), -2), NewPrice: amount(),
			EntryMethod: next() % 3, Unit: units[next()%4]}
		switch next() % 3 {
		case 0:
			r.Item = itemID
		case 1:
			r.ItemGroup = groupID
		default:
			r.Item, r.ItemGroup = "other", groupID
		}
		// BasePrice null or a GUID; BasePriceAmount null, 0 or an amount,
		// in every combination (Exact fills the amount in both cases).
		if v := next(); v%3 != 0 {
			base := decimal.New(int64(v), -1)
			if v%3 == 2 {
				base = decimal.Zero
			}
			r.BasePriceAmount = &base
		}
		if next()%2 == 1 {
			r.BasePrice = "55555555-5555-5555-5555-555555555555"
		}
		r.SalesUnit = units[next()%4]
		r.NumberOfItemsPerUnit = decimal.NewFromInt(int64(next() % 3))
		d.Discounts = append(d.Discounts, r)
	}
	return b, d
}

func hasAtMost2Decimals(d decimal.Decimal) bool { return d.Equal(d.Round(2)) }

// FuzzResolve checks that Resolve and Breaks never panic, that every money
// amount has at most 2 decimals, and that the breaks agree with Resolve.
func FuzzResolve(f *testing.F) {
	f.Add([]byte{}, "1")
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, "10")
	f.Add([]byte{0, 0, 1, 5, 200, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 5, 7, 2, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52}, "2.5")
	f.Add([]byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 255, 254, 253, 252, 251, 250, 249, 248, 247, 246, 245, 244, 243}, "0.001")
	// A price list with discount rows on a set base price and on the
	// standard price with a differing BasePriceAmount, in and out of unit.
	f.Add([]byte{0, 0, 0, 0, 60, 2, 3, 1, 1, 0, 0, 1, 0, 1, 1, 1, 2, 2, 0, 5, 10, 1, 0, 1, 0, 4, 1, 1, 3, 0, 1, 10, 20, 1, 0, 7, 0, 1, 2, 1}, "1")
	f.Add([]byte{0, 0, 0, 0, 60, 2, 3, 1, 1, 0, 0, 1, 0, 1, 1, 1, 2, 2, 0, 5, 10, 1, 0, 1, 0, 4, 1, 1, 3, 0, 1, 10, 20, 1, 0, 7, 0, 0, 1, 2}, "25")
	f.Fuzz(func(t *testing.T, raw []byte, qs string) {
		q, err := decimal.NewFromString(qs)
		if err != nil || q.Abs().GreaterThan(decimal.New(1, 12)) || q.Exponent() < -20 {
			return
		}
		b, d := fuzzData(raw)
		c := Context{Today: today, DivisionCurrency: "EUR"}
		p, ok := Resolve(c, b, d, q)
		if ok {
			if !hasAtMost2Decimals(p.UnitPrice) || !hasAtMost2Decimals(p.ListPrice) || !hasAtMost2Decimals(p.DiscountPercentage) {
				t.Fatalf("more than 2 decimals: %+v", p)
			}
			if !p.Quantity.Equal(q) || !q.IsPositive() {
				t.Fatalf("quantity %s priced as %+v", q, p)
			}
		}
		breaks := Breaks(c, b, d)
		if p1, ok1 := Resolve(c, b, d, one); ok1 {
			if len(breaks) == 0 || !breaks[0].MinimumQuantity.Equal(one) || !breaks[0].UnitPrice.Equal(p1.UnitPrice) {
				t.Fatalf("price at 1 is %s but breaks are %v", p1.UnitPrice, breaks)
			}
		}
		for i, br := range breaks {
			pb, okb := Resolve(c, b, d, br.MinimumQuantity)
			if !okb || !pb.UnitPrice.Equal(br.UnitPrice) {
				t.Fatalf("break %v disagrees with Resolve: %+v %v", br, pb, okb)
			}
			if i > 0 && (!breaks[i-1].MinimumQuantity.LessThan(br.MinimumQuantity) || breaks[i-1].UnitPrice.Equal(br.UnitPrice)) {
				t.Fatalf("breaks not ascending and distinct: %v", breaks)
			}
		}
	})
}

func benchData() (Terms, Data) {
	d := Data{Item: testItem()}
	for i := range 20 {
		d.DefaultRows = append(d.DefaultRows, row(fmt.Sprint(i*5), fmt.Sprintf("%d.%02d", 20-i/2, i)))
	}
	for i := range 10 {
		d.AccountRows = append(d.AccountRows, acctRow(fmt.Sprint(10+i*10), fmt.Sprintf("%d.50", 15-i)))
	}
	for i := range 5 {
		id := fmt.Sprint("p", i)
		d.Periods = append(d.Periods, period(id, 1+i%2, day(2026, time.Month(1+i), 1), nextYear))
		for j := range 40 {
			r := discount(id, fmt.Sprint(j*3), "0.05", nil)
			r.ID = fmt.Sprint(id, "-", j)
			if j%2 == 0 {
				r.Item = fmt.Sprint("other-", j)
			}
			d.Discounts = append(d.Discounts, r)
		}
	}
	return Terms{AccountID: acctID, Currency: "EUR", PriceList: plID, DiscountSales: dec("0.03")}, d
}

func BenchmarkResolve(b *testing.B) {
	buyer, d := benchData()
	q := dec("7")
	for b.Loop() {
		if _, ok := Resolve(ctx, buyer, d, q); !ok {
			b.Fatal("no price")
		}
	}
}

func BenchmarkBreaks(b *testing.B) {
	buyer, d := benchData()
	for b.Loop() {
		if len(Breaks(ctx, buyer, d)) == 0 {
			b.Fatal("no breaks")
		}
	}
}
