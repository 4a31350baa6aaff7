package pricing

import (
	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
)

// validOn reports whether a window given by two Exact date-only values
// contains today: StartDate <= today (or null) and EndDate >= today (or null).
func validOn(start, end erp.Time, today civil.Date) bool {
	if s, ok := civil.DateOf(start); ok && s.After(today) {
		return false
	}
	if e, ok := civil.DateOf(end); ok && e.Before(today) {
		return false
	}
	return true
}

// untilOf returns the date of an Exact EndDate, or nil when it is null.
func untilOf(end erp.Time) *civil.Date {
	d, ok := civil.DateOf(end)
	if !ok {
		return nil
	}
	return &d
}
