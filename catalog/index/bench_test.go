package index

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
)

// benchItems makes n items with wholesale-like descriptions from a fixed
// seed, so runs are comparable.
func benchItems(n int) []erp.Item {
	r := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"Bout", "Moer", "Sluitring", "Schroef", "Draadeind", "Plug", "Beugel", "Pen", "Klinknagel", "Anker"}
	finishes := []string{"verzinkt", "RVS A2", "RVS A4", "blank", "zwart", "thermisch verzinkt", "messing", "gegalvaniseerd"}
	sizes := []string{"M3", "M4", "M5", "M6", "M8", "M10", "M12", "M16", "M20", "M24"}
	extras := []string{"DIN 933", "DIN 934", "DIN 125", "ISO 7380", "Zeskant", "Inbus", "Kruiskop", "Torx", "Crème coating", "Übergröße"}
	items := make([]erp.Item, n)
	for i := range items {
		it := item(i+1, fmt.Sprintf("%s-%06d", strings.ToUpper(kinds[i%len(kinds)][:2]), i),
			fmt.Sprintf("%s %s %s x %d", kinds[r.IntN(len(kinds))], finishes[r.IntN(len(finishes))], sizes[r.IntN(len(sizes))], 10+r.IntN(190)))
		it.ExtraDescription = extras[r.IntN(len(extras))] + " " + extras[r.IntN(len(extras))]
		it.Barcode = fmt.Sprintf("87%011d", r.Int64N(1e11))
		items[i] = it
	}
	return items
}

func benchIndex(b *testing.B, n int) *Snapshot {
	b.Helper()
	x := New(Config{})
	items := benchItems(n)
	for i := 0; i < len(items); i += 1000 { // in feed-sized batches
		mustApply(b, x, Batch{Items: items[i:min(i+1000, len(items))]})
	}
	return x.Snapshot()
}

// BenchmarkProducts is the pair issue 12 asks for: a two-word search over
// 50,000 items against an unfiltered page of the same size (24, the
// default), both with totalCount. The ratio of their ns/op is the figure.
func BenchmarkProducts(b *testing.B) {
	s := benchIndex(b, 50_000)
	run := func(q Query) func(b *testing.B) {
		return func(b *testing.B) {
			q.First, q.Today = 24, today
			p, err := s.Products(q)
			if err != nil || len(p.Items) == 0 {
				b.Fatalf("page: %d items, %v", len(p.Items), err)
			}
			b.ReportMetric(float64(p.TotalCount), "matches")
			cpu0 := cpuTime()
			n := 0
			for b.Loop() {
				if _, err := s.Products(q); err != nil {
					b.Fatal(err)
				}
				n++
			}
			// CPU time per op beside wall time: on a shared machine the
			// wall clock also counts time spent waiting for a core.
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
		}
	}
	b.Run("unfiltered", run(Query{}))
	b.Run("two-words", run(Query{Search: "verzinkt m8"}))
	b.Run("two-words-by-code", run(Query{Search: "verzinkt m8", Sort: SortCode}))
	b.Run("accented", run(Query{Search: "creme bout"}))
}

// BenchmarkApplyItemsBatch measures one 1,000-row item batch on a
// 50,000-item index (the cost of a feed page).
func BenchmarkApplyItemsBatch(b *testing.B) {
	x := New(Config{})
	items := benchItems(50_000)
	mustApply(b, x, Batch{Items: items})
	batch := items[20_000:21_000]
	cpu0, n := cpuTime(), 0
	for b.Loop() {
		mustApply(b, x, Batch{Items: batch})
		n++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkApplyStockBatch measures one 1,000-row stock batch on an index
// of 50,000 items with 150,000 stock rows (three warehouses), the feed that
// runs most often.
func BenchmarkApplyStockBatch(b *testing.B) {
	x := New(Config{})
	items := benchItems(50_000)
	whs := []erp.Warehouse{{ID: gid(4, 1), Main: true}, {ID: gid(4, 2)}, {ID: gid(4, 3)}}
	var rows []StockRow
	for _, it := range items {
		for _, w := range whs {
			rows = append(rows, StockRow{ItemID: it.ID, Warehouse: w.ID, OnHand: dec("10")})
		}
	}
	mustApply(b, x, Batch{Items: items, Warehouses: whs, Stock: rows})
	batch := rows[30_000:31_000]
	cpu0, n := cpuTime(), 0
	for b.Loop() {
		mustApply(b, x, Batch{Stock: batch})
		n++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
}
