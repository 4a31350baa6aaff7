package index

import (
	"cmp"
	"sort"
	"strings"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// ProductsAfterCode returns up to n sellable products in CODE order whose
// code sorts after the code after ("" = from the start), limited to item
// group group ("" = any) and to items match accepts (nil = all); more
// reports whether another product follows. It serves the wave-1 product
// list, whose cursors name the last code shown, from the mirror, so a walk
// keeps working when the mirror takes over from the fallback.
func (s *Snapshot) ProductsAfterCode(after, group string, n int, today civil.Date, match func(erp.Item) bool) (items []erp.Item, more bool) {
	if n <= 0 {
		return nil, false
	}
	entries := s.s.byCode.entries
	after = strings.TrimSpace(after)
	start := 0
	if after != "" {
		fa := Fold(after)
		start = sort.Search(len(entries), func(i int) bool {
			e := entries[i]
			return cmp.Or(strings.Compare(e.foldCode, fa), strings.Compare(e.code, after)) > 0
		})
	}
	group = normID(group)
	day := dayNum(today)
	for _, e := range entries[start:] {
		if !e.sellable(day, s.cfg.WebshopOnly) {
			continue
		}
		if group != "" && normID(e.item.ItemGroup) != group {
			continue
		}
		if match != nil && !match(e.item) {
			continue
		}
		if len(items) == n {
			return items, true
		}
		items = append(items, e.item)
	}
	return items, false
}

// ItemByCode returns the item with this code whether or not it is
// sellable (the order service tells an unknown code from an unsellable
// one). The code is trimmed and compared case-insensitively; should two
// items differ only in case, the first in code order wins.
func (s *Snapshot) ItemByCode(code string) (erp.Item, bool) {
	es := s.s.codes[strings.ToLower(strings.TrimSpace(code))]
	if len(es) == 0 {
		return erp.Item{}, false
	}
	return es[0].item, true
}
