package model

import (
	"io"
	"strconv"
	"time"
)

const dateLayout = "2006-01-02"

// Date is the GraphQL Date scalar: a calendar date such as "2026-11-28", with
// no time of day and no zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's own location. Callers choose the
// location first: an Exact date-only field is read in UTC, "today" in the
// division's time zone.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses "YYYY-MM-DD" strictly: four-digit year, two-digit month and
// day, a day that exists in that month. Anything else is an *InputError.
func ParseDate(s string) (Date, error) {
	if len(s) != len(dateLayout) {
		return Date{}, inputErrorf("Date: %q is not a date such as \"2026-11-28\"", clip(s))
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil || t.Format(dateLayout) != s {
		return Date{}, inputErrorf("Date: %q is not a date such as \"2026-11-28\"", clip(s))
	}
	return DateOf(t), nil
}

// Time returns midnight at the start of d in loc.
func (d Date) Time(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Time(time.UTC).Before(o.Time(time.UTC)) }

// String returns the "YYYY-MM-DD" form.
func (d Date) String() string { return d.Time(time.UTC).Format(dateLayout) }

// MarshalGQL writes d as a JSON string "YYYY-MM-DD".
func (d Date) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(d.String()))
}

// UnmarshalGQL reads a Date from a JSON string "YYYY-MM-DD".
func (d *Date) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return inputErrorf("Date: expected a string such as \"2026-11-28\", got %T", v)
	}
	parsed, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

// DateTime is the GraphQL DateTime scalar: an instant, written in RFC 3339 in
// UTC ("2026-11-28T10:15:00Z").
type DateTime struct {
	time.Time
}

// NewDateTime wraps t.
func NewDateTime(t time.Time) DateTime { return DateTime{Time: t} }

// String returns t in RFC 3339, UTC, to the second.
func (t DateTime) String() string { return t.Time.UTC().Format(time.RFC3339) }

// MarshalGQL writes t as an RFC 3339 string in UTC.
func (t DateTime) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(t.String()))
}

// UnmarshalGQL reads an RFC 3339 string with an explicit offset.
func (t *DateTime) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || len(s) > 64 {
		return inputErrorf("DateTime: expected an RFC 3339 string such as \"2026-11-28T10:15:00Z\"")
	}
	parsed, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return inputErrorf("DateTime: %q is not an RFC 3339 date-time such as \"2026-11-28T10:15:00Z\"", clip(s))
	}
	t.Time = parsed.UTC()
	return nil
}
