package civil

import (
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
)

func TestDate(t *testing.T) {
	got, ok := DateOf(erp.NewTime(time.Date(2026, time.November, 28, 23, 0, 0, 0, time.UTC)))
	if !ok || got != (Date{2026, time.November, 28}) {
		t.Errorf("DateOf = %v, %v; want 2026-11-28, true", got, ok)
	}
	if _, ok := DateOf(erp.Time{}); ok {
		t.Error("DateOf(null) ok = true, want false")
	}
	p, err := ParseDate("2026-02-03")
	if err != nil || p != (Date{2026, time.February, 3}) || p.String() != "2026-02-03" {
		t.Errorf("ParseDate = %v, %v", p, err)
	}
	if _, err := ParseDate("2026-02-30"); err == nil {
		t.Error("ParseDate(2026-02-30) err = nil, want error")
	}
	if !p.Time().Equal(time.Date(2026, time.February, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", p.Time())
	}
	order := []Date{{2025, 12, 31}, {2026, 1, 1}, {2026, 1, 2}, {2026, 2, 1}}
	for i := range order {
		for j := range order {
			if got, want := order[i].Compare(order[j]), cmpInt(i, j); got != want {
				t.Errorf("%v.Compare(%v) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	if !(Date{}).IsZero() || p.IsZero() {
		t.Error("IsZero wrong")
	}
}
