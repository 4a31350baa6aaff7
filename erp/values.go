package erp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is an Exact Online date or date-time value. Exact sends these as
// "/Date(1641034800000)/" (milliseconds since the Unix epoch, UTC), sometimes
// JSON-escaped as "\/Date(…)\/", and null when unset. The zero Time means null.
//
// Date-only fields (StartDate, EndDate, DeliveryDate, OrderDate) are calendar
// dates: use Date to read them as the calendar date of the instant in UTC
// (ARCHITECTURE §3 "Dates").
type Time struct {
	time.Time
}

// NewTime returns t as an Exact Time.
func NewTime(t time.Time) Time { return Time{Time: t.UTC()} }

// Valid reports whether the value was set (not null).
func (t Time) Valid() bool { return !t.Time.IsZero() }

// Date returns the calendar date of the value read in UTC, as midnight UTC.
func (t Time) Date() time.Time {
	if !t.Valid() {
		return time.Time{}
	}
	u := t.Time.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
}

// UnmarshalJSON accepts null, "/Date(ms)/", "/Date(ms+hhmm)/" and RFC 3339 or
// Exact's zone-less ISO form ("2019-02-17T20:45:34").
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("erp: date: %w", err)
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTime parses an Exact date value in any of the forms UnmarshalJSON accepts.
// The empty string is the null value.
func ParseTime(s string) (Time, error) {
	if s == "" {
		return Time{}, nil
	}
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		inner := s[len("/Date(") : len(s)-len(")/")]
		// An offset suffix (+hhmm or -hhmm) after the digits does not change
		// the instant: the milliseconds are already UTC.
		end := len(inner)
		for i := 1; i < len(inner); i++ {
			if inner[i] == '+' || inner[i] == '-' {
				end = i
				break
			}
		}
		ms, err := strconv.ParseInt(inner[:end], 10, 64)
		if err != nil {
			return Time{}, fmt.Errorf("erp: bad date value %q", s)
		}
		return Time{Time: time.UnixMilli(ms).UTC()}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return Time{Time: v.UTC()}, nil
		}
	}
	return Time{}, fmt.Errorf("erp: bad date value %q", s)
}

// MarshalJSON writes null for the zero value and otherwise the ISO form
// Exact accepts on POST ("2006-01-02T15:04:05", UTC).
func (t Time) MarshalJSON() ([]byte, error) {
	if !t.Valid() {
		return []byte("null"), nil
	}
	return json.Marshal(t.Time.UTC().Format("2006-01-02T15:04:05"))
}

// ODataDate formats t the way Exact itself sends it: "/Date(ms)/".
func (t Time) ODataDate() string {
	if !t.Valid() {
		return ""
	}
	return "/Date(" + strconv.FormatInt(t.Time.UnixMilli(), 10) + ")/"
}

// Int64 is an Edm.Int64 value, which Exact sends as a JSON string (for
// example sync Timestamps). A plain JSON number is accepted too.
type Int64 int64

// UnmarshalJSON accepts "123", 123 and null.
func (n *Int64) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("erp: bad Int64 value %q", s)
	}
	*n = Int64(v)
	return nil
}

// MarshalJSON writes the value as a JSON string, as Exact does.
func (n Int64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

// Flag is a boolean that Exact sends either as a JSON boolean or as an
// Edm.Byte (0 or 1), depending on the field (IsWebshopItem, Warehouse Main).
type Flag bool

// UnmarshalJSON accepts true, false, 0, 1 (and any non-zero number), "0", "1" and null.
func (f *Flag) UnmarshalJSON(b []byte) error {
	switch s := string(bytes.Trim(b, `"`)); s {
	case "true":
		*f = true
	case "false", "null", "0", "":
		*f = false
	default:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("erp: bad flag value %q", s)
		}
		*f = n != 0
	}
	return nil
}

// Code trims Exact's fixed-width padding from a code field (Account Code
// left-padded to 18, Unit and Country codes right-padded). Use it when
// presenting a code; never on a value written back into a filter.
func Code(s string) string { return strings.TrimSpace(s) }

// PadAccountCode left-pads an account code with spaces to Exact's 18
// characters, as filters on crm/Accounts Code require.
func PadAccountCode(code string) string {
	code = strings.TrimSpace(code)
	if len(code) >= 18 {
		return code
	}
	return strings.Repeat(" ", 18-len(code)) + code
}
