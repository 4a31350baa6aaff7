package index

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
)

// BenchmarkMemoFull fills one state's memo to MaxMemoEntries with price
// inputs and quantity-1 answers (2,000 items, one default row each, 50
// buyer scopes) and reports the heap it holds:
//
//	go test -run '^$' -bench MemoFull -benchtime 1x ./catalog/index/
func BenchmarkMemoFull(b *testing.B) {
	const items = 2000
	x := New(Config{Shop: validate.Shop{Currency: "EUR"}})
	var batch Batch
	for i := range items {
		it := item(i+1, fmt.Sprintf("I-%d", i), "x")
		batch.Items = append(batch.Items, it)
		batch.ItemPrices = append(batch.ItemPrices, erp.SalesItemPrice{ID: gid(9, i+1), Item: it.ID,
			Quantity: dec("1"), Price: dec("10"), Currency: "EUR"})
	}
	mustApply(b, x, batch)
	pc := pricing.Context{Today: today, DivisionCurrency: "EUR"}
	for b.Loop() {
		s := x.Snapshot()
		mustApply(b, x, Batch{}) // the next round starts on a fresh state
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		n := 0
		for a := 0; n < MaxMemoEntries; a++ {
			terms := pricing.Terms{AccountID: gid(5, a+1), Currency: "EUR"}
			for _, it := range batch.Items {
				d, _ := s.PriceData(terms, it.ID)
				if _, ok := pricing.Resolve(pc, terms, d, dec("1")); !ok {
					b.Fatal("no price")
				}
				n++
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		held := float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
		b.ReportMetric(held/1e6, "MB-held")
		b.ReportMetric(held/float64(n), "B/entry")
		runtime.KeepAlive(s)
	}
}
