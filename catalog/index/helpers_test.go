package index

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

var (
	today  = civil.Date{Year: 2026, Month: time.November, Day: 28}
	todayT = day(2026, time.November, 28)
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func decp(s string) *decimal.Decimal { v := dec(s); return &v }

// day is the Exact value of a date-only field: midnight UTC.
func day(y int, m time.Month, d int) erp.Time {
	return erp.NewTime(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// gid makes a GUID from a small number and a kind digit.
func gid(kind, n int) string { return fmt.Sprintf("%08d-0000-0000-0000-%012d", kind, n) }

// item is a sellable item with a code, description and group.
func item(n int, code, desc string) erp.Item {
	return erp.Item{ID: gid(1, n), Code: code, Description: desc, IsSalesItem: true, Unit: "pc      ",
		ItemGroup: gid(2, 1), StandardSalesPrice: dec("10")}
}

func mustApply(t testing.TB, x *Index, b Batch) {
	t.Helper()
	if err := x.Apply(b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// codes returns the codes of a page's items.
func codes(items []erp.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = erp.Code(it.Code)
	}
	return out
}
