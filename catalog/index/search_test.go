package index

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

func searchFixture(t *testing.T) *Index {
	t.Helper()
	x := New(Config{})
	mk := func(n int, code, desc, extra, barcode string) erp.Item {
		it := item(n, code, desc)
		it.ExtraDescription, it.Barcode = extra, barcode
		return it
	}
	mustApply(t, x, Batch{Items: []erp.Item{
		mk(1, "BT-M8", "Bout verzinkt M8", "Zeskant, DIN 933", "8712345000017"),
		mk(2, "BT-M10", "Bout verzinkt M10", "Zeskant", "8712345000024"),
		mk(3, "MO-M8", "Moer M8", "Crème de la crème", ""),
		mk(4, "RING", "Sluitring Ø8", "", "4000000000001"),
		mk(5, "M8", "Draadeind", "", ""),
		mk(6, "ZB-1", "Zeskantbout", "Übergröße", "m8"),
	}})
	return x
}

func TestSearchMatching(t *testing.T) {
	x := searchFixture(t)
	mustApply(t, x, Batch{Items: []erp.Item{item(7, "RING-2", "Ring groot"), item(8, "AA-1", "O-ring")}})
	s := x.Snapshot()
	for _, tc := range []struct {
		search string
		sort   Sort
		want   []string
	}{
		{"bout", SortCode, []string{"BT-M10", "BT-M8", "ZB-1"}},
		{"m8 bout", SortCode, []string{"BT-M8", "ZB-1"}}, // two words, any order, any field (ZB-1's barcode is m8)
		{"BOUT M8", SortCode, []string{"BT-M8", "ZB-1"}},
		{"creme", SortCode, []string{"MO-M8"}},     // accents folded in the data
		{"crème", SortCode, []string{"MO-M8"}},     // and in the query
		{"ubergrosse", SortCode, []string{"ZB-1"}}, // ß folds to ss
		{"ø8", SortCode, []string{"RING"}},
		{"8712345000024", SortCode, []string{"BT-M10"}}, // barcode
		{"933", SortCode, []string{"BT-M8"}},            // extra description
		{"verzinkt zeskant", SortCode, []string{"BT-M10", "BT-M8"}},
		{"m8zeskant", SortCode, nil},  // a word never spans two fields
		{"bout  nope", SortCode, nil}, // every word must match
		// Exact code and barcode hits first (M8's code, ZB-1's barcode).
		{"m8", SortCode, []string{"M8", "ZB-1", "BT-M8", "MO-M8"}},
		{"4000000000001", SortCode, []string{"RING"}},
		{"bout", SortDescription, []string{"BT-M10", "BT-M8", "ZB-1"}},
		{"m8", SortDescription, []string{"M8", "ZB-1", "BT-M8", "MO-M8"}},
		// RELEVANCE (the default with a search): exact hits, then codes
		// starting with the first word, then words in code or description.
		{"m8", SortDefault, []string{"M8", "ZB-1", "BT-M8", "MO-M8"}},
		{"ring", SortDefault, []string{"RING", "RING-2", "AA-1"}},
		{"ring", SortCode, []string{"RING", "AA-1", "RING-2"}},
		{"ring", SortDescription, []string{"RING", "AA-1", "RING-2"}},
		{"zeskant", SortDefault, []string{"ZB-1", "BT-M10", "BT-M8"}},
	} {
		p, err := s.Products(Query{Search: tc.search, Sort: tc.sort, First: 50, Today: today})
		if err != nil {
			t.Fatalf("%q: %v", tc.search, err)
		}
		if got := codes(p.Items); !cmp.Equal(got, tc.want, cmp.Comparer(func(a, b []string) bool {
			return strings.Join(a, ",") == strings.Join(b, ",")
		})) {
			t.Errorf("search %q sort %d = %v, want %v", tc.search, tc.sort, got, tc.want)
		}
		if p.TotalCount != len(tc.want) {
			t.Errorf("search %q totalCount = %d, want %d", tc.search, p.TotalCount, len(tc.want))
		}
	}
}

func TestProductsDefaultSortAndTotal(t *testing.T) {
	s := searchFixture(t).Snapshot()
	p, err := s.Products(Query{First: 2, Today: today})
	if err != nil {
		t.Fatal(err)
	}
	if got := codes(p.Items); !cmp.Equal(got, []string{"BT-M10", "BT-M8"}) || !p.HasNextPage || p.TotalCount != 6 {
		t.Errorf("first page = %v next=%v total=%d", got, p.HasNextPage, p.TotalCount)
	}
	if p.EndCursor != p.Cursors[1] {
		t.Error("EndCursor is not the last item's cursor")
	}
	p, _ = s.Products(Query{First: 2, Sort: SortDescription, Today: today})
	if got := codes(p.Items); !cmp.Equal(got, []string{"BT-M10", "BT-M8"}) {
		t.Errorf("by description = %v", got)
	}
}

func TestStockFilters(t *testing.T) {
	x := searchFixture(t)
	w1, w2 := gid(4, 1), gid(4, 2)
	mustApply(t, x, Batch{
		Warehouses: []erp.Warehouse{{ID: w1, Code: "W1", Main: true}, {ID: w2, Code: "W2"}},
		Stock: []StockRow{
			{ItemID: gid(1, 1), Warehouse: w1, OnHand: dec("5"), PlannedOut: dec("2")}, // 3 available
			{ItemID: gid(1, 2), Warehouse: w2, OnHand: dec("5")},                       // 5 in W2
			{ItemID: gid(1, 3), Warehouse: w1, OnHand: dec("5"), PlannedOut: dec("5")}, // 0 available
			{ItemID: gid(1, 4), Warehouse: w1, OnHand: dec("1"), PlannedOut: dec("9")}, // negative → 0
			{ItemID: gid(1, 5), Warehouse: gid(4, 9), OnHand: dec("9")},                // unknown warehouse
		},
	})
	s := x.Snapshot()
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"in stock anywhere", Query{InStock: true}, []string{"BT-M10", "BT-M8"}},
		{"in stock in W1", Query{InStock: true, InWarehouse: w1}, []string{"BT-M8"}},
		{"warehouse alone filters like inStock there", Query{InWarehouse: strings.ToUpper(w2)}, []string{"BT-M10"}},
		{"with a search", Query{InStock: true, Search: "m8"}, []string{"BT-M8"}},
	} {
		tc.q.First, tc.q.Today = 10, today
		p, err := s.Products(tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := codes(p.Items); !cmp.Equal(got, tc.want) || p.TotalCount != len(tc.want) {
			t.Errorf("%s = %v (total %d), want %v", tc.name, got, p.TotalCount, tc.want)
		}
	}
	if _, err := s.Products(Query{InWarehouse: gid(4, 9), First: 10, Today: today}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("unknown warehouse: %v, want ErrInvalidArgument", err)
	}
	// The filter follows stock changes (each state has its own cache).
	mustApply(t, x, Batch{Stock: []StockRow{{ItemID: gid(1, 4), Warehouse: w1, OnHand: dec("20"), PlannedOut: dec("9")}}})
	p, err := x.Snapshot().Products(Query{InStock: true, First: 10, Today: today})
	if err != nil || !cmp.Equal(codes(p.Items), []string{"BT-M10", "BT-M8", "RING"}) {
		t.Errorf("after a stock change: %v %v", codes(p.Items), err)
	}
	if p, _ := s.Products(Query{InStock: true, First: 10, Today: today}); p.TotalCount != 2 {
		t.Errorf("the earlier snapshot's filter changed: %d", p.TotalCount)
	}
	if p, err := New(Config{}).Snapshot().Products(Query{InStock: true, First: 10, Today: today}); err != nil || p.TotalCount != 0 {
		t.Errorf("empty index: %+v %v", p, err)
	}
}

func TestProductsRefusesBadArguments(t *testing.T) {
	s := searchFixture(t).Snapshot()
	good, _ := s.Products(Query{First: 1, Today: today})
	other, _ := s.Products(Query{First: 1, Search: "bout", Today: today})
	for _, tc := range []struct {
		name string
		q    Query
	}{
		{"first 0", Query{First: 0}},
		{"first 101", Query{First: 101}},
		{"one-letter search", Query{First: 1, Search: " b "}},
		{"long search", Query{First: 1, Search: strings.Repeat("x", 101)}},
		{"invalid UTF-8", Query{First: 1, Search: "ab\xff"}},
		{"unknown sort", Query{First: 1, Sort: 9}},
		{"no today", Query{First: 1, Today: civil.Date{}}},
		{"garbage cursor", Query{First: 1, After: "!!!"}},
		{"not JSON", Query{First: 1, After: "bm90IGpzb24"}},
		{"huge cursor", Query{First: 1, After: strings.Repeat("A", 2000)}},
		{"cursor of another search", Query{First: 1, After: other.EndCursor}},
		{"cursor of another sort", Query{First: 1, Sort: SortDescription, After: good.EndCursor}},
	} {
		if tc.name != "no today" {
			tc.q.Today = today
		}
		if _, err := s.Products(tc.q); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tc.name, err)
		}
	}
	if _, err := s.Products(Query{First: 1, After: good.EndCursor, Today: today}); err != nil {
		t.Errorf("own cursor refused: %v", err)
	}
}

// TestCursorWalkStableUnderChanges walks a listing page by page while items
// are added before and after the cursor and others change: every item that
// existed from the start and did not change is seen exactly once.
func TestCursorWalkStableUnderChanges(t *testing.T) {
	for _, sort := range []Sort{SortCode, SortDescription, SortRelevance} {
		t.Run(fmt.Sprint(sort), func(t *testing.T) {
			x := New(Config{})
			var items []erp.Item
			for n := 1; n <= 30; n++ {
				items = append(items, item(n, fmt.Sprintf("P%03d", n*10), fmt.Sprintf("part %03d", 1000-n)))
			}
			// An exact hit and its barcode twin so the tiers are in play.
			items[14].Code = "part"
			mustApply(t, x, Batch{Items: items})
			stable := map[string]bool{}
			for _, it := range items {
				stable[it.ID] = true
			}
			seen := map[string]int{}
			after := ""
			for page := 0; page < 100; page++ {
				p, err := x.Snapshot().Products(Query{Search: "part", Sort: sort, First: 4, After: after, Today: today})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range p.Items {
					seen[it.ID]++
				}
				// Churn: new items everywhere in the order, one removed and
				// one re-added unchanged, after every page.
				n := 100 + page*3
				mustApply(t, x, Batch{
					Items: []erp.Item{
						item(n, fmt.Sprintf("P%03d", page), fmt.Sprintf("part %03d", page)),
						item(n+1, fmt.Sprintf("P%03d5", page*7%300), fmt.Sprintf("part %03d5", 990-page)),
						items[page%30],
					},
					Deletes: []Deletion{{Kind: KindItem, ID: gid(1, n-2)}},
				})
				if !p.HasNextPage {
					break
				}
				after = p.EndCursor
			}
			for id := range stable {
				if seen[id] != 1 {
					t.Errorf("item %s seen %d times", id, seen[id])
				}
			}
		})
	}
}
