package erp

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMessage is the most characters SafeMessage keeps of Exact's text.
const MaxMessage = 200

var reGUID = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// SafeMessage is the one sanitiser of Exact's texts: what it returns may be
// logged and shown to a buyer (an order's rejection reason). It is valid
// UTF-8 on a single line with white space and control characters folded
// into single spaces; links become [link], GUIDs [id], the word after
// "Bearer" and anything token-like (20 or more characters mixing letters
// and digits) [redacted]; it is at most MaxMessage characters, cut with
// "…". An empty or blank text stays "". Every *Error's Message has been
// through it.
func SafeMessage(s string) string {
	fields := strings.FieldsFunc(strings.ToValidUTF8(s, " "), isBreak)
	for i, f := range fields {
		lf := strings.ToLower(f)
		switch {
		case strings.Contains(f, "://") || strings.HasPrefix(lf, "www."):
			fields[i] = "[link]"
		case i > 0 && strings.EqualFold(strings.Trim(fields[i-1], ":"), "bearer"):
			fields[i] = "[redacted]"
		default:
			f = reGUID.ReplaceAllString(f, "[id]")
			if tokenLike(f) {
				f = "[redacted]"
			}
			fields[i] = f
		}
	}
	msg := strings.Join(fields, " ")
	if utf8.RuneCountInString(msg) > MaxMessage {
		r := []rune(msg)
		msg = strings.TrimSpace(string(r[:MaxMessage-1])) + "…"
	}
	return msg
}

// isBreak reports the runes SafeMessage folds into a space: white space,
// C0 and C1 control characters and DEL.
func isBreak(r rune) bool {
	return unicode.IsSpace(r) || r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// tokenLike reports whether a word looks like a key or token: 20 or more
// characters mixing letters and digits.
func tokenLike(w string) bool {
	if len(w) < 20 {
		return false
	}
	var letter, digit bool
	for _, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letter = true
		}
	}
	return letter && digit
}
