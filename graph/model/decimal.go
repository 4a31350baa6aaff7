package model

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Limits on a Decimal read from a client. They are far beyond any quantity or
// price a wholesaler handles and keep absurd inputs (a million digits, 1e999999)
// from costing memory or time.
const (
	maxDecimalInput   = 64 // characters of a textual input
	maxIntegerDigits  = 20
	maxFractionDigits = 12
)

// InputError is a value a client sent that is not valid for its scalar type.
// The error presenter answers it as BAD_USER_INPUT with Message.
type InputError struct {
	Message string
}

// Error returns the message, which is safe to show to the client.
func (e *InputError) Error() string { return e.Message }

func inputErrorf(format string, args ...any) *InputError {
	return &InputError{Message: fmt.Sprintf(format, args...)}
}

// Decimal is the GraphQL Decimal scalar for quantities, percentages and other
// non-money values. It is written as a JSON string without trailing zeros
// ("12", "2.5"); money amounts use Amount instead.
type Decimal struct {
	decimal.Decimal
}

// NewDecimal wraps d.
func NewDecimal(d decimal.Decimal) Decimal { return Decimal{Decimal: d} }

// String returns the normalised text form: no exponent, no trailing zeros.
func (d Decimal) String() string { return d.Decimal.String() }

// MarshalGQL writes d as a JSON string without trailing zeros.
func (d Decimal) MarshalGQL(w io.Writer) {
	writeQuoted(w, d.Decimal.String())
}

// UnmarshalGQL reads a Decimal from a JSON string ("12.5") or, leniently, from
// a JSON number. NaN, infinities, exponents in strings, garbage and absurdly
// long values are refused with an *InputError.
func (d *Decimal) UnmarshalGQL(v any) error {
	// The schema's default quantity arrives as "1" for every product of a
	// list: skip the parser for it (a measurable share of a warm page).
	if s, ok := v.(string); ok && s == "1" {
		d.Decimal = decimalOne
		return nil
	}
	parsed, err := decimalFromAny(v)
	if err != nil {
		return err
	}
	d.Decimal = parsed
	return nil
}

var decimalOne = decimal.NewFromInt(1)

// ParseDecimal parses the textual form of a Decimal: an optional minus sign,
// digits, and optionally a point followed by digits ("12", "-0.5", "12.50").
// Signs other than a leading minus, exponents, spaces and more than 20 integer
// or 12 fraction digits are refused with an *InputError.
func ParseDecimal(s string) (decimal.Decimal, error) {
	if len(s) > maxDecimalInput {
		return decimal.Decimal{}, inputErrorf("Decimal: value is longer than %d characters", maxDecimalInput)
	}
	body := strings.TrimPrefix(s, "-")
	intPart, fracPart, hasPoint := strings.Cut(body, ".")
	if intPart == "" || (hasPoint && fracPart == "") || !allDigits(intPart) || !allDigits(fracPart) {
		return decimal.Decimal{}, inputErrorf("Decimal: %q is not a decimal number such as \"12.5\"", clip(s))
	}
	if n := len(strings.TrimLeft(intPart, "0")); n > maxIntegerDigits {
		return decimal.Decimal{}, inputErrorf("Decimal: more than %d digits before the decimal point", maxIntegerDigits)
	}
	if n := len(strings.TrimRight(fracPart, "0")); n > maxFractionDigits {
		return decimal.Decimal{}, inputErrorf("Decimal: more than %d digits after the decimal point", maxFractionDigits)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, inputErrorf("Decimal: %q is not a decimal number such as \"12.5\"", clip(s))
	}
	return d, nil
}

func decimalFromAny(v any) (decimal.Decimal, error) {
	switch v := v.(type) {
	case string:
		return ParseDecimal(v)
	case json.Number:
		return decimalFromNumber(string(v))
	case int:
		return decimal.NewFromInt(int64(v)), nil
	case int32:
		return decimal.NewFromInt(int64(v)), nil
	case int64:
		return decimal.NewFromInt(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return decimal.Decimal{}, inputErrorf("Decimal: NaN and infinities are not numbers")
		}
		// The shortest representation that reads back as v: 12.5, not
		// 12.5000000000000001.
		return decimalFromNumber(strconv.FormatFloat(v, 'f', -1, 64))
	case float32:
		return decimalFromAny(float64(v))
	case nil:
		return decimal.Decimal{}, inputErrorf("Decimal: null is not a decimal number")
	default:
		return decimal.Decimal{}, inputErrorf("Decimal: expected a string such as \"12.5\", got %T", v)
	}
}

// decimalFromNumber accepts a JSON number, which may carry an exponent; the
// value must still fit the digit limits.
func decimalFromNumber(s string) (decimal.Decimal, error) {
	if len(s) > maxDecimalInput {
		return decimal.Decimal{}, inputErrorf("Decimal: value is longer than %d characters", maxDecimalInput)
	}
	if !strings.ContainsAny(s, "eE") {
		return ParseDecimal(s)
	}
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	e, err := strconv.Atoi(strings.TrimPrefix(exp, "+"))
	if err != nil || e > maxIntegerDigits+maxDecimalInput || e < -(maxFractionDigits+maxDecimalInput) {
		return decimal.Decimal{}, inputErrorf("Decimal: %q is out of range", clip(s))
	}
	m, err := ParseDecimal(mant)
	if err != nil {
		return decimal.Decimal{}, err
	}
	d := m.Shift(int32(e))
	// Re-check the limits on the expanded value.
	return ParseDecimal(d.String())
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens client text quoted back in an error message.
func clip(s string) string {
	const n = 24
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Amount is a money amount: the GraphQL Decimal scalar written with exactly two
// decimals ("12.50"), rounded half away from zero. Build one with MoneyAmount.
type Amount struct {
	decimal.Decimal
}

// MoneyAmount rounds d half away from zero to two decimals for display as money.
func MoneyAmount(d decimal.Decimal) Amount { return Amount{Decimal: d.Round(2)} }

// String returns the amount with exactly two decimals.
func (a Amount) String() string { return a.Decimal.StringFixed(2) }

// MarshalGQL writes a as a JSON string with exactly two decimals.
func (a Amount) MarshalGQL(w io.Writer) {
	writeQuoted(w, a.String())
}

// UnmarshalGQL reads an amount like a Decimal and rounds it to two decimals.
// The schema never takes an amount as input; this exists because gqlgen wants
// both directions for a scalar's Go type.
func (a *Amount) UnmarshalGQL(v any) error {
	d, err := decimalFromAny(v)
	if err != nil {
		return err
	}
	*a = MoneyAmount(d)
	return nil
}

// Money is the GraphQL Money type.
type Money struct {
	Amount       Amount `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

// NewMoney builds a Money value, rounding amount to two decimals.
func NewMoney(amount decimal.Decimal, currency string) *Money {
	return &Money{Amount: MoneyAmount(amount), CurrencyCode: currency}
}

// writeQuoted writes a decimal's text form (digits, '-' and '.', never an
// exponent: nothing JSON escapes) as a JSON string, without the quoted copy
// strconv.Quote would allocate (gqlgen writes into a buffer that takes
// strings as they are).
func writeQuoted(w io.Writer, s string) {
	_, _ = io.WriteString(w, `"`)
	_, _ = io.WriteString(w, s)
	_, _ = io.WriteString(w, `"`)
}
