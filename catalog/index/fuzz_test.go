package index

import (
	"errors"
	"strings"
	"testing"

	"github.com/exactql/exactql/erp"
)

// FuzzProducts feeds arbitrary search text and cursors to Products: it
// never panics, a refused argument is always ErrInvalidArgument, and every
// listed item really matches every folded word.
func FuzzProducts(f *testing.F) {
	for _, s := range []string{"bout m8", "Crème", "ß", "m8  bout", "\x00\x00", "ab\xffcd", "ǅ ǆ", "  ", "İstanbul"} {
		f.Add(s, "")
	}
	f.Add("bout", "eyJxIjoiIiwidCI6MCwiYyI6IiIsImsiOiIiLCJpIjoiIn0")
	f.Fuzz(func(t *testing.T, search, after string) {
		x := New(Config{})
		items := []erp.Item{item(1, "BT-M8", "Bout M8"), item(2, "Ø8", "Crème ß"), item(3, search, search)}
		items[2].Barcode = search
		if err := x.Apply(Batch{Items: items}); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		p, err := x.Snapshot().Products(Query{Search: search, After: after, First: 2, Today: today})
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error %v does not wrap ErrInvalidArgument", err)
			}
			return
		}
		words := strings.Fields(Fold(search))
		for _, it := range p.Items {
			e := newItemEntry(it)
			for _, w := range words {
				if !strings.Contains(e.text, w) {
					t.Fatalf("item %q listed for %q but lacks %q", it.Code, search, w)
				}
			}
		}
	})
}
