package erp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Value is an OData literal, rendered safely: strings are quoted with
// embedded single quotes doubled, GUIDs are validated, numbers and dates are
// formatted by the builder. Build one with String, GUID, DateTime, Int,
// Int64L, Decimal, Bool, Null or AccountCode.
type Value struct {
	lit string
	err error
}

// String returns s as a quoted OData string literal. Text that is not valid
// UTF-8 makes the filter fail to render.
func String(s string) Value {
	if !utf8.ValidString(s) {
		return Value{err: errBadText}
	}
	return Value{lit: "'" + strings.ReplaceAll(s, "'", "''") + "'"}
}

// AccountCode returns an account code as a string literal left-padded to
// Exact's 18 characters, as filters on crm/Accounts Code require.
func AccountCode(code string) Value { return String(PadAccountCode(code)) }

// GUID returns s as a guid'…' literal. It fails unless s is a GUID in the
// 8-4-4-4-12 hex form (no braces); the literal is lower-case.
func GUID(s string) (Value, error) {
	if !IsGUID(s) {
		return Value{err: ErrInvalidID}, fmt.Errorf("erp.GUID: %w", ErrInvalidID)
	}
	return Value{lit: "guid'" + strings.ToLower(s) + "'"}, nil
}

// mustGUID is GUID for values already checked with IsGUID.
func mustGUID(s string) Value {
	v, _ := GUID(s)
	return v
}

// IsGUID reports whether s has the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
// with hex digits.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// DateTime returns t as datetime'2006-01-02T15:04:05' in UTC.
func DateTime(t time.Time) Value {
	return Value{lit: "datetime'" + t.UTC().Format("2006-01-02T15:04:05") + "'"}
}

// Int returns n as an Edm.Int32 literal.
func Int(n int64) Value { return Value{lit: strconv.FormatInt(n, 10)} }

// Int64L returns n as an Edm.Int64 literal with the L suffix (123L), as sync
// Timestamp filters use.
func Int64L(n int64) Value { return Value{lit: strconv.FormatInt(n, 10) + "L"} }

// Decimal returns d as a plain decimal number (no exponent).
// UNCONFIRMED whether Exact wants OData's M suffix; comparisons against
// decimal fields are written without it, as public clients do.
func Decimal(d decimal.Decimal) Value { return Value{lit: d.String()} }

// Bool returns true or false.
func Bool(b bool) Value { return Value{lit: strconv.FormatBool(b)} }

// Null returns the null literal.
func Null() Value { return Value{lit: "null"} }

// String returns the rendered literal, for debugging.
func (v Value) String() string {
	if v.err != nil {
		return "<invalid: " + v.err.Error() + ">"
	}
	return v.lit
}

// Filter is an immutable $filter expression. The zero Filter means no filter.
// Build filters only with the constructors of this package: they are the only
// way a value reaches a $filter, so user text can never change its structure.
type Filter struct {
	n *node
}

type nodeKind int

const (
	kindCmp nodeKind = iota + 1
	kindAnd
	kindOr
	kindNot
	kindSubstringOf
	kindStartsWith
)

type node struct {
	kind  nodeKind
	op    string
	field string
	val   Value
	text  string
	kids  []Filter
}

func compare(op, field string, v Value) Filter {
	return Filter{&node{kind: kindCmp, op: op, field: field, val: v}}
}

// Eq is field eq v.
func Eq(field string, v Value) Filter { return compare("eq", field, v) }

// Ne is field ne v.
func Ne(field string, v Value) Filter { return compare("ne", field, v) }

// Gt is field gt v.
func Gt(field string, v Value) Filter { return compare("gt", field, v) }

// Ge is field ge v.
func Ge(field string, v Value) Filter { return compare("ge", field, v) }

// Lt is field lt v.
func Lt(field string, v Value) Filter { return compare("lt", field, v) }

// Le is field le v.
func Le(field string, v Value) Filter { return compare("le", field, v) }

func combine(k nodeKind, fs []Filter) Filter {
	var kids []Filter
	for _, f := range fs {
		if f.n != nil {
			kids = append(kids, f)
		}
	}
	switch len(kids) {
	case 0:
		return Filter{}
	case 1:
		return kids[0]
	}
	return Filter{&node{kind: k, kids: kids}}
}

// And joins filters with and; zero filters are skipped.
func And(fs ...Filter) Filter { return combine(kindAnd, fs) }

// Or joins filters with or; zero filters are skipped.
func Or(fs ...Filter) Filter { return combine(kindOr, fs) }

// Not negates f; Not of the zero Filter is the zero Filter.
func Not(f Filter) Filter {
	if f.n == nil {
		return f
	}
	return Filter{&node{kind: kindNot, kids: []Filter{f}}}
}

// SubstringOf is substringof('text',Field) eq true: Field contains text.
func SubstringOf(text, field string) Filter {
	return Filter{&node{kind: kindSubstringOf, field: field, text: text}}
}

// StartsWith is startswith(Field,'text') eq true. UNCONFIRMED that every
// Exact endpoint supports startswith; SubstringOf is documented.
func StartsWith(field, text string) Filter {
	return Filter{&node{kind: kindStartsWith, field: field, text: text}}
}

// IsZero reports whether f is the zero (absent) filter.
func (f Filter) IsZero() bool { return f.n == nil }

// errBadText is returned for a string literal that is not valid UTF-8.
var errBadText = errors.New("erp: text is not valid UTF-8")

// errBadField is returned for a field name that is not an identifier.
var errBadField = errors.New("erp: invalid field name")

func validField(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// Render returns the $filter text, or an error if a field name is not an
// identifier or a value was invalid. The zero Filter renders as "".
func (f Filter) Render() (string, error) {
	var b strings.Builder
	if err := f.render(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// String returns the $filter text for debugging.
func (f Filter) String() string {
	s, err := f.Render()
	if err != nil {
		return "<invalid filter: " + err.Error() + ">"
	}
	return s
}

func (f Filter) render(b *strings.Builder) error {
	n := f.n
	if n == nil {
		return nil
	}
	switch n.kind {
	case kindCmp:
		if !validField(n.field) {
			return fmt.Errorf("%w %q", errBadField, n.field)
		}
		if n.val.err != nil {
			return n.val.err
		}
		if n.val.lit == "" {
			return errors.New("erp: empty value in filter")
		}
		b.WriteString(n.field + " " + n.op + " " + n.val.lit)
	case kindSubstringOf:
		if !validField(n.field) {
			return fmt.Errorf("%w %q", errBadField, n.field)
		}
		v := String(n.text)
		if v.err != nil {
			return v.err
		}
		b.WriteString("substringof(" + v.lit + "," + n.field + ") eq true")
	case kindStartsWith:
		if !validField(n.field) {
			return fmt.Errorf("%w %q", errBadField, n.field)
		}
		v := String(n.text)
		if v.err != nil {
			return v.err
		}
		b.WriteString("startswith(" + n.field + "," + v.lit + ") eq true")
	case kindNot:
		b.WriteString("not (")
		if err := n.kids[0].render(b); err != nil {
			return err
		}
		b.WriteString(")")
	case kindAnd, kindOr:
		sep := " and "
		if n.kind == kindOr {
			sep = " or "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			paren := k.n.kind == kindAnd || k.n.kind == kindOr
			if paren {
				b.WriteString("(")
			}
			if err := k.render(b); err != nil {
				return err
			}
			if paren {
				b.WriteString(")")
			}
		}
	}
	return nil
}

// Query is the OData part of a list request. A zero Query lists everything
// with the record type's default $select.
type Query struct {
	// Filter is the $filter; the zero Filter sends none.
	Filter Filter
	// Select overrides the default $select (the record struct's fields).
	Select []string
	// OrderBy items are field names, optionally followed by " asc" or " desc".
	OrderBy []string
	// Top limits the number of rows (0 = no $top).
	Top int
	// InlineCount asks for $inlinecount=allpages.
	InlineCount bool
}

// encode renders q as a query string (without "?"), with defSelect used when
// q.Select is empty. Spaces are encoded as %20.
func (q Query) encode(defSelect []string) (string, error) {
	sel := q.Select
	if len(sel) == 0 {
		sel = defSelect
	}
	for _, s := range sel {
		if !validField(s) {
			return "", fmt.Errorf("%w %q in $select", errBadField, s)
		}
	}
	var parts []string
	if !q.Filter.IsZero() {
		f, err := q.Filter.Render()
		if err != nil {
			return "", err
		}
		parts = append(parts, "$filter="+queryEscape(f))
	}
	if len(sel) > 0 {
		parts = append(parts, "$select="+strings.Join(sel, ","))
	}
	if len(q.OrderBy) > 0 {
		for _, o := range q.OrderBy {
			name, dir, _ := strings.Cut(o, " ")
			if !validField(name) || (dir != "" && dir != "asc" && dir != "desc") {
				return "", fmt.Errorf("%w %q in $orderby", errBadField, o)
			}
		}
		parts = append(parts, "$orderby="+queryEscape(strings.Join(q.OrderBy, ",")))
	}
	if q.Top > 0 {
		parts = append(parts, "$top="+strconv.Itoa(q.Top))
	}
	if q.InlineCount {
		parts = append(parts, "$inlinecount=allpages")
	}
	return strings.Join(parts, "&"), nil
}

func queryEscape(s string) string {
	// Percent-encode everything but RFC 3986's unreserved characters and the
	// OData punctuation that is legal in a query component ( ' ( ) , : ).
	// Leaving those readable keeps a 25-key "Item eq guid'…' or …" filter
	// well under the ~2,000-character URL limit; spaces are %20, never "+".
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '\'', c == '(', c == ')', c == ',', c == ':':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
