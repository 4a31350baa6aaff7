package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func gql(f func(w *bytes.Buffer)) string {
	var b bytes.Buffer
	f(&b)
	return b.String()
}

func TestDecimalUnmarshalGQL(t *testing.T) {
	tests := []struct {
		name    string
		in      any
		want    string // JSON output; "" when an error is expected
		wantErr string // substring of the error
	}{
		{name: "string", in: "12.5", want: `"12.5"`},
		{name: "trailing zeros dropped", in: "12.50", want: `"12.5"`},
		{name: "integer string", in: "12", want: `"12"`},
		{name: "negative", in: "-0.25", want: `"-0.25"`},
		{name: "leading zeros", in: "007", want: `"7"`},
		{name: "zero with decimals", in: "0.000", want: `"0"`},
		{name: "json number", in: json.Number("2.5"), want: `"2.5"`},
		{name: "json number with exponent", in: json.Number("1.5e2"), want: `"150"`},
		{name: "int", in: 3, want: `"3"`},
		{name: "int64", in: int64(-40), want: `"-40"`},
		{name: "float", in: 0.1, want: `"0.1"`},
		{name: "float integral", in: 2.0, want: `"2"`},
		{name: "empty", in: "", wantErr: "not a decimal number"},
		{name: "garbage", in: "abc", wantErr: "not a decimal number"},
		{name: "exponent in string", in: "1e3", wantErr: "not a decimal number"},
		{name: "plus sign", in: "+1", wantErr: "not a decimal number"},
		{name: "spaces", in: " 1", wantErr: "not a decimal number"},
		{name: "trailing point", in: "1.", wantErr: "not a decimal number"},
		{name: "leading point", in: ".5", wantErr: "not a decimal number"},
		{name: "comma", in: "1,5", wantErr: "not a decimal number"},
		{name: "NaN string", in: "NaN", wantErr: "not a decimal number"},
		{name: "NaN float", in: math.NaN(), wantErr: "NaN"},
		{name: "Inf float", in: math.Inf(1), wantErr: "NaN"},
		{name: "too long", in: strings.Repeat("1", 65), wantErr: "longer than"},
		{name: "too many integer digits", in: strings.Repeat("9", 21), wantErr: "before the decimal point"},
		{name: "too many fraction digits", in: "0." + strings.Repeat("1", 13), wantErr: "after the decimal point"},
		{name: "huge exponent", in: json.Number("1e999999999"), wantErr: "out of range"},
		{name: "exponent too large for limits", in: json.Number("1e30"), wantErr: "before the decimal point"},
		{name: "bool", in: true, wantErr: "expected a string"},
		{name: "null", in: nil, wantErr: "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decimal
			err := d.UnmarshalGQL(tt.in)
			if tt.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("UnmarshalGQL(%v) error = %v, want *InputError containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalGQL(%v): %v", tt.in, err)
			}
			if got := gql(func(w *bytes.Buffer) { d.MarshalGQL(w) }); got != tt.want {
				t.Errorf("MarshalGQL = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMoneyAmount(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"12.5", `"12.50"`},
		{"12", `"12.00"`},
		{"1.005", `"1.01"`},   // half away from zero
		{"-1.005", `"-1.01"`}, // half away from zero, negative
		{"1.004", `"1.00"`},
		{"0", `"0.00"`},
		{"1234567.891", `"1234567.89"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a := MoneyAmount(decimal.RequireFromString(tt.in))
			if got := gql(func(w *bytes.Buffer) { a.MarshalGQL(w) }); got != tt.want {
				t.Errorf("MoneyAmount(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	m := NewMoney(decimal.RequireFromString("3.456"), "EUR")
	if diff := cmp.Diff("3.46 EUR", m.Amount.String()+" "+m.CurrencyCode); diff != "" {
		t.Errorf("NewMoney (-want +got):\n%s", diff)
	}
}

func TestDate(t *testing.T) {
	tests := []struct {
		in      any
		want    string
		wantErr bool
	}{
		{in: "2026-11-28", want: `"2026-11-28"`},
		{in: "2028-02-29", want: `"2028-02-29"`},
		{in: "2026-02-29", wantErr: true},
		{in: "2026-13-01", wantErr: true},
		{in: "2026-1-05", wantErr: true},
		{in: "2026-11-28T00:00:00Z", wantErr: true},
		{in: " 2026-11-28", wantErr: true},
		{in: "28-11-2026", wantErr: true},
		{in: "", wantErr: true},
		{in: 20261128, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(func() string { s, _ := tt.in.(string); return s }(), "/", "_"), func(t *testing.T) {
			var d Date
			err := d.UnmarshalGQL(tt.in)
			if tt.wantErr {
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("UnmarshalGQL(%v) error = %v, want *InputError", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("UnmarshalGQL(%v): %v", tt.in, err)
			}
			if got := gql(func(w *bytes.Buffer) { d.MarshalGQL(w) }); got != tt.want {
				t.Errorf("MarshalGQL = %s, want %s", got, tt.want)
			}
		})
	}

	// DateOf takes the calendar date in t's own location.
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	instant := time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC)
	if diff := cmp.Diff([]string{"2026-11-28", "2026-11-29"}, []string{DateOf(instant).String(), DateOf(instant.In(ams)).String()}); diff != "" {
		t.Errorf("DateOf (-want +got):\n%s", diff)
	}
	if !DateOf(instant).Before(DateOf(instant.In(ams))) {
		t.Error("Before: 28th is not before 29th")
	}
}

func TestDateTime(t *testing.T) {
	var dt DateTime
	if err := dt.UnmarshalGQL("2026-11-28T10:15:00+01:00"); err != nil {
		t.Fatal(err)
	}
	if got, want := gql(func(w *bytes.Buffer) { dt.MarshalGQL(w) }), `"2026-11-28T09:15:00Z"`; got != want {
		t.Errorf("MarshalGQL = %s, want %s", got, want)
	}
	for _, bad := range []any{"2026-11-28", "yesterday", 5, strings.Repeat("9", 100)} {
		var ie *InputError
		if err := new(DateTime).UnmarshalGQL(bad); !errors.As(err, &ie) {
			t.Errorf("UnmarshalGQL(%v) error = %v, want *InputError", bad, err)
		}
	}
}

// FuzzDecimal: parsing never panics; an accepted value prints in a form that
// parses back to the same value and prints the same again.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"12.5", "-0", "0.000", "99999999999999999999.999999999999", "1e3", "NaN", "", "-", "1.", "00.10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, in := range []any{s, json.Number(s)} {
			var d Decimal
			if err := d.UnmarshalGQL(in); err != nil {
				var ie *InputError
				if !errors.As(err, &ie) {
					t.Fatalf("UnmarshalGQL(%q) error %v is not an *InputError", s, err)
				}
				continue
			}
			out := d.String()
			d2, err := ParseDecimal(out)
			if err != nil {
				t.Fatalf("ParseDecimal(%q) (printed from %q): %v", out, s, err)
			}
			if !d2.Equal(d.Decimal) || d2.String() != out {
				t.Fatalf("round trip %q -> %q -> %q", s, out, d2.String())
			}
			if a := MoneyAmount(d.Decimal).String(); !strings.Contains(a, ".") || len(a)-strings.IndexByte(a, '.') != 3 {
				t.Fatalf("MoneyAmount(%q) = %q, want two decimals", out, a)
			}
		}
	})
}

// FuzzDate: parsing never panics; an accepted date prints as its input.
func FuzzDate(f *testing.F) {
	for _, s := range []string{"2026-11-28", "2024-02-29", "2026-02-29", "0000-01-01", "9999-12-31", "2026-11-28Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseDate(%q) error %v is not an *InputError", s, err)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDate(%q).String() = %q", s, d.String())
		}
	})
}
