package pricing

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// TestMemoAnswersAsWithout: a Data with a Memo answers every buyer, day
// and quantity exactly as the same Data without one, however the calls
// interleave on the one memo; only quantity 1 written as "1" is kept.
func TestMemoAnswersAsWithout(t *testing.T) {
	t.Parallel()
	buyer, plain := benchData()
	memoised := plain
	memoised.Memo = &Memo{}
	later := ctx
	later.Today = civil.Date{Year: 2028, Month: time.March, Day: 1} // past the rows' end dates
	buyers := []Terms{
		buyer,
		anon,
		eurBuyer,
		{AccountID: buyer.AccountID, Currency: "EUR", PriceList: buyer.PriceList, DiscountSales: dec("0.10")},
		{AccountID: buyer.AccountID, Currency: "USD", PriceList: buyer.PriceList},
	}
	for round := range 2 { // the second round answers from the memo
		for _, c := range []Context{ctx, later, {Today: today, DivisionCurrency: "USD"}} {
			for i, b := range buyers {
				for _, qs := range []string{"1", "1.0", "7", "100"} {
					q := dec(qs)
					want, wantOK := Resolve(c, b, plain, q)
					got, gotOK := Resolve(c, b, memoised, q)
					if gotOK != wantOK {
						t.Fatalf("round %d, %s, buyer %d, q %s: ok %v, want %v", round, c.Today, i, qs, gotOK, wantOK)
					}
					if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
						t.Fatalf("round %d, %s, buyer %d, q %s: memoised answer differs (-want +got):\n%s", round, c.Today, i, qs, diff)
					}
					if gotOK && got.Quantity.String() != q.String() {
						t.Fatalf("q %s answered with quantity %s", qs, got.Quantity)
					}
				}
			}
		}
	}
	memoised.Memo.mu.Lock()
	kept := len(memoised.Memo.answers)
	memoised.Memo.mu.Unlock()
	if kept != maxMemoAnswers {
		t.Fatalf("memo keeps %d answers after 15 contexts and buyers, want its bound %d", kept, maxMemoAnswers)
	}
}

// TestMemoIsUsed: a memoised answer is the one computed first, so a Data
// whose rows changed behind its memo (which the mirror never does) shows
// the memo is consulted, and quantity "1.0" is not.
func TestMemoIsUsed(t *testing.T) {
	t.Parallel()
	d := Data{Item: testItem(), Memo: &Memo{}}
	first, ok := Resolve(ctx, anon, d, one)
	if !ok {
		t.Fatal("no price from the standard sales price")
	}
	d.DefaultRows = append(d.DefaultRows, row("1", "1.23"))
	if again, _ := Resolve(ctx, anon, d, one); !again.UnitPrice.Equal(first.UnitPrice) {
		t.Fatalf("second answer %s, want the memoised %s", again.UnitPrice, first.UnitPrice)
	}
	if fresh, _ := Resolve(ctx, anon, d, dec("1.0")); !fresh.UnitPrice.Equal(dec("1.23")) {
		t.Fatalf("quantity 1.0 answered %s, want a fresh 1.23", fresh.UnitPrice)
	}
}

func BenchmarkResolveMemoised(b *testing.B) {
	buyer, d := benchData()
	d.Memo = &Memo{}
	for b.Loop() {
		if _, ok := Resolve(ctx, buyer, d, one); !ok {
			b.Fatal("no price")
		}
	}
}

// TestSameItem: a copy of the item that differs in any field the rules
// read is not the same item for a memo; other fields do not matter.
func TestSameItem(t *testing.T) {
	t.Parallel()
	a := testItem()
	upper := a
	upper.ID = strings.ToUpper(a.ID)
	desc := a
	desc.Description = "another text"
	if !SameItem(a, upper) || !SameItem(a, desc) {
		t.Fatal("an ID in other case or another description made the item differ")
	}
	for name, change := range map[string]func(*erp.Item){
		"ID":                 func(it *erp.Item) { it.ID = "99999999-9999-9999-9999-999999999999" },
		"Unit":               func(it *erp.Item) { it.Unit = "box" },
		"ItemGroup":          func(it *erp.Item) { it.ItemGroup = "other" },
		"StandardSalesPrice": func(it *erp.Item) { it.StandardSalesPrice = it.StandardSalesPrice.Add(one) },
	} {
		b := a
		change(&b)
		if SameItem(a, b) {
			t.Errorf("items differing in %s are the same item", name)
		}
	}
}
