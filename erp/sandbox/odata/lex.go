package odata

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// tokKind is the kind of a $filter token.
type tokKind int

const (
	tEOF      tokKind = iota
	tIdent            // property, function, keyword, true/false/null
	tString           // 'text' (doubled quotes already undone)
	tGuid             // guid'…' (lower-cased)
	tDateTime         // datetime'…'
	tInt              // 12, -3, 123L
	tDecimal          // 12.5, 12.5M, 1e3d
	tLParen
	tRParen
	tComma
)

// token is one lexical token of a $filter expression. off is its byte
// offset in the source; messages convert it to a character position.
type token struct {
	kind tokKind
	off  int
	text string    // identifier text, or the literal as written
	s    string    // string and guid value
	i    int64     // tInt value
	f    float64   // tDecimal value
	t    time.Time // tDateTime value
	// typeName is the CLR type WCF Data Services would give a numeric
	// literal; it only appears in error messages.
	typeName string
}

// lexer produces tokens on demand, so memory stays proportional to the
// longest token rather than to the whole expression.
type lexer struct {
	src string
	pos int
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipSpace advances over white space.
func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.src) && isSpace(lx.src[lx.pos]) {
		lx.pos++
	}
}

// peekByte returns the first non-space byte at or after the current
// position, or 0 at the end.
func (lx *lexer) peekByte() byte {
	p := lx.pos
	for p < len(lx.src) && isSpace(lx.src[p]) {
		p++
	}
	if p < len(lx.src) {
		return lx.src[p]
	}
	return 0
}

// next returns the next token.
func (lx *lexer) next() (token, *Error) {
	lx.skipSpace()
	start := lx.pos
	if start >= len(lx.src) {
		return token{kind: tEOF, off: start}, nil
	}
	c := lx.src[start]
	switch {
	case c == '(':
		lx.pos++
		return token{kind: tLParen, off: start, text: "("}, nil
	case c == ')':
		lx.pos++
		return token{kind: tRParen, off: start, text: ")"}, nil
	case c == ',':
		lx.pos++
		return token{kind: tComma, off: start, text: ","}, nil
	case c == '\'':
		s, err := lx.quoted()
		if err != nil {
			return token{}, err
		}
		return token{kind: tString, off: start, text: lx.src[start:lx.pos], s: s}, nil
	case isDigit(c) || (c == '-' && start+1 < len(lx.src) && isDigit(lx.src[start+1])):
		return lx.number()
	case isIdentStart(c):
		for lx.pos < len(lx.src) && isIdentPart(lx.src[lx.pos]) {
			lx.pos++
		}
		word := lx.src[start:lx.pos]
		if lx.pos < len(lx.src) && lx.src[lx.pos] == '\'' {
			return lx.prefixed(word, start)
		}
		return token{kind: tIdent, off: start, text: word}, nil
	}
	r, _ := utf8.DecodeRuneInString(lx.src[start:])
	if r == utf8.RuneError || r < ' ' {
		return token{}, badRequest("Syntax error: character %s is not valid at position %d.",
			strconv.QuoteRuneToASCII(r), runePos(lx.src, start))
	}
	return token{}, badRequest("Syntax error: character '%c' is not valid at position %d.", r, runePos(lx.src, start))
}

// quoted reads a single-quoted string starting at the current position;
// a doubled quote stands for one quote.
func (lx *lexer) quoted() (string, *Error) {
	start := lx.pos
	i := start + 1
	var b strings.Builder
	seg := i
	for {
		j := strings.IndexByte(lx.src[i:], '\'')
		if j < 0 {
			return "", badRequest("Unterminated string literal at position %d.", runePos(lx.src, start))
		}
		i += j
		if i+1 < len(lx.src) && lx.src[i+1] == '\'' {
			b.WriteString(lx.src[seg : i+1])
			i += 2
			seg = i
			continue
		}
		lx.pos = i + 1
		if b.Len() == 0 {
			return lx.src[seg:i], nil
		}
		b.WriteString(lx.src[seg:i])
		return b.String(), nil
	}
}

// prefixed reads a type-prefixed literal such as guid'…' or datetime'…'.
// Exact's clients write the prefix in lower case, but leapforce writes
// DateTime'…' and WCF Data Services accepts that, so the prefix is matched
// case-insensitively (unlike keywords and function names).
func (lx *lexer) prefixed(word string, start int) (token, *Error) {
	body, err := lx.quoted()
	if err != nil {
		return token{}, err
	}
	text := lx.src[start:lx.pos]
	switch {
	case strings.EqualFold(word, "guid"):
		g, ok := parseGUID(body)
		if !ok {
			return token{}, badRequest("Unrecognized 'Edm.Guid' literal '%s' at position %d.", text, runePos(lx.src, start))
		}
		return token{kind: tGuid, off: start, text: text, s: g}, nil
	case strings.EqualFold(word, "datetime"):
		t, ok := parseDateTime(body)
		if !ok {
			return token{}, badRequest("Unrecognized 'Edm.DateTime' literal '%s' at position %d.", text, runePos(lx.src, start))
		}
		return token{kind: tDateTime, off: start, text: text, t: t}, nil
	}
	return token{}, badRequest("Unrecognized literal '%s' at position %d.", text, runePos(lx.src, start))
}

// number reads an integer or decimal literal with an optional type suffix
// (L for Int64; M, D or F for Decimal, Double, Single).
func (lx *lexer) number() (token, *Error) {
	start := lx.pos
	p := start
	src := lx.src
	if src[p] == '-' {
		p++
	}
	for p < len(src) && isDigit(src[p]) {
		p++
	}
	frac := false
	if p+1 < len(src) && src[p] == '.' && isDigit(src[p+1]) {
		frac = true
		p++
		for p < len(src) && isDigit(src[p]) {
			p++
		}
	}
	if p < len(src) && (src[p] == 'e' || src[p] == 'E') {
		q := p + 1
		if q < len(src) && (src[q] == '+' || src[q] == '-') {
			q++
		}
		if q < len(src) && isDigit(src[q]) {
			frac = true
			p = q
			for p < len(src) && isDigit(src[p]) {
				p++
			}
		}
	}
	digits := src[start:p]
	suffix := byte(0)
	if p < len(src) {
		switch src[p] {
		case 'L', 'l', 'M', 'm', 'D', 'd', 'F', 'f':
			suffix = src[p]
			p++
		}
	}
	if p < len(src) && isIdentPart(src[p]) {
		return token{}, badRequest("Syntax error: '%s' is not a valid number at position %d.", src[start:min(p+1, len(src))], runePos(src, start))
	}
	lx.pos = p
	text := src[start:p]
	isInt := !frac && (suffix == 0 || suffix == 'L' || suffix == 'l')
	if isInt {
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return token{}, badRequest("Unrecognized 'Edm.Int64' literal '%s' at position %d.", text, runePos(src, start))
		}
		name := "System.Int64"
		if suffix == 0 && v >= -1<<31 && v < 1<<31 {
			name = "System.Int32"
		}
		return token{kind: tInt, off: start, text: text, i: v, typeName: name}, nil
	}
	if suffix == 'L' || suffix == 'l' {
		return token{}, badRequest("Unrecognized 'Edm.Int64' literal '%s' at position %d.", text, runePos(src, start))
	}
	v, err := strconv.ParseFloat(digits, 64)
	if err != nil {
		return token{}, badRequest("Unrecognized 'Edm.Decimal' literal '%s' at position %d.", text, runePos(src, start))
	}
	name := "System.Decimal"
	switch suffix {
	case 'D', 'd':
		name = "System.Double"
	case 'F', 'f':
		name = "System.Single"
	}
	return token{kind: tDecimal, off: start, text: text, f: v, typeName: name}, nil
}

// parseGUID validates the 8-4-4-4-12 hex form (no braces) and returns it in
// lower case, the form Exact sends and the records hold.
func parseGUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
			continue
		}
		if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// dateLayouts are the datetime literal forms Exact's clients send. time.Parse
// accepts a fraction of a second after the seconds even though the layout
// does not show one.
var dateLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// parseDateTime parses a datetime literal body. A literal without a zone is
// read as UTC (the brief's choice; Exact's own zone semantics are
// UNCONFIRMED, see exact-online-api.md §3.7); a trailing Z is tolerated.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) > 40 {
		return time.Time{}, false
	}
	s = strings.TrimSuffix(s, "Z")
	for _, layout := range dateLayouts {
		if len(s) < len(layout) {
			continue
		}
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ParseLiteral parses one OData literal on its own, as found in a key
// segment such as Items(guid'…') or a $skiptoken: guid'…', datetime'…',
// 'text', 12, 12L, 12.5M, true, false or null. The value has the Go kind a
// Record holds (GUIDs lower-case, integers int64, decimals float64, date
// times time.Time in UTC, null nil). Anything else is a 400 *Error.
func ParseLiteral(s string) (any, error) {
	if len(s) > MaxFilterLength || !utf8.ValidString(s) {
		return nil, badRequest("Invalid literal at position 0.")
	}
	lx := lexer{src: s}
	t, err := lx.next()
	if err != nil {
		return nil, err
	}
	var v any
	switch t.kind {
	case tString, tGuid:
		v = t.s
	case tInt:
		v = t.i
	case tDecimal:
		v = t.f
	case tDateTime:
		v = t.t
	case tIdent:
		switch t.text {
		case "true", "false":
			v = t.text == "true"
		case "null":
		default:
			return nil, badRequest("Invalid literal '%s' at position %d.", t.text, runePos(s, t.off))
		}
	default:
		return nil, badRequest("Literal expected at position %d.", runePos(s, t.off))
	}
	end, err := lx.next()
	if err != nil {
		return nil, err
	}
	if end.kind != tEOF {
		return nil, badRequest("Syntax error at position %d.", runePos(s, end.off))
	}
	return v, nil
}
