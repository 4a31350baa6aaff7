package index

import (
	"cmp"
	"slices"
	"strings"

	"github.com/exactql/exactql/erp"
)

// sortByCode sorts rows by their trimmed code, then ID.
func sortByCode[T any](rows []T, key func(T) (code, id string)) {
	slices.SortFunc(rows, func(a, b T) int {
		ca, ia := key(a)
		cb, ib := key(b)
		return cmp.Or(strings.Compare(erp.Code(ca), erp.Code(cb)), strings.Compare(ia, ib))
	})
}
