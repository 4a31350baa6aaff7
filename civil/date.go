// Package civil is the project's calendar date: a day without a time of day
// or zone, used for price validity, delivery dates and the response cache's
// date rollover.
package civil

import (
	"fmt"
	"time"

	"github.com/exactql/exactql/erp"
)

// Date is a calendar date without a time of day or zone. Exact's date-only
// fields (StartDate, EndDate, DeliveryDate) are read as the calendar date of
// their instant in UTC; "today" is the calendar date in the division's zone
// (ARCHITECTURE §3 "Dates"). The zero Date means "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Today returns the calendar date of the instant now in loc. A nil loc means UTC.
func Today(now time.Time, loc *time.Location) Date {
	if loc == nil {
		loc = time.UTC
	}
	t := now.In(loc)
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}
}

// DateOf returns the calendar date of an Exact date-only value (its instant
// read in UTC) and whether the value was set.
func DateOf(t erp.Time) (Date, bool) {
	if !t.Valid() {
		return Date{}, false
	}
	u := t.Time.UTC()
	return Date{Year: u.Year(), Month: u.Month(), Day: u.Day()}, true
}

// ParseDate parses an ISO calendar date such as "2026-11-28".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("civil.ParseDate: %w", err)
	}
	return Date{Year: t.Year(), Month: t.Month(), Day: t.Day()}, nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns d as midnight UTC, the form erp.NewTime expects for a
// date-only field.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// String formats d as "2006-01-02".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return cmpInt(d.Year, o.Year)
	case d.Month != o.Month:
		return cmpInt(int(d.Month), int(o.Month))
	default:
		return cmpInt(d.Day, o.Day)
	}
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.Compare(o) > 0 }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
