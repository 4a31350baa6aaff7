package index

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldRange maps a run of code points to one ASCII replacement.
type foldRange struct {
	lo, hi rune
	to     string
}

// foldTable covers Latin-1 Supplement and Latin Extended-A, the letters of
// the languages Exact divisions are kept in (Dutch, German, French, Nordic,
// Central European). A letter outside it is only lower-cased. The table is
// written out rather than derived from Unicode decompositions so that the
// module needs no new dependency (golang.org/x/text is not a direct one) and
// so that letters without a decomposition (ß, Æ, Ø, Ł, Đ, Œ) fold too.
var foldTable = []foldRange{
	{0x00C0, 0x00C5, "a"}, {0x00C6, 0x00C6, "ae"}, {0x00C7, 0x00C7, "c"},
	{0x00C8, 0x00CB, "e"}, {0x00CC, 0x00CF, "i"}, {0x00D0, 0x00D0, "d"},
	{0x00D1, 0x00D1, "n"}, {0x00D2, 0x00D6, "o"}, {0x00D8, 0x00D8, "o"},
	{0x00D9, 0x00DC, "u"}, {0x00DD, 0x00DD, "y"}, {0x00DE, 0x00DE, "th"},
	{0x00DF, 0x00DF, "ss"}, {0x00E0, 0x00E5, "a"}, {0x00E6, 0x00E6, "ae"},
	{0x00E7, 0x00E7, "c"}, {0x00E8, 0x00EB, "e"}, {0x00EC, 0x00EF, "i"},
	{0x00F0, 0x00F0, "d"}, {0x00F1, 0x00F1, "n"}, {0x00F2, 0x00F6, "o"},
	{0x00F8, 0x00F8, "o"}, {0x00F9, 0x00FC, "u"}, {0x00FD, 0x00FD, "y"},
	{0x00FE, 0x00FE, "th"}, {0x00FF, 0x00FF, "y"},
	{0x0100, 0x0105, "a"}, {0x0106, 0x010D, "c"}, {0x010E, 0x0111, "d"},
	{0x0112, 0x011B, "e"}, {0x011C, 0x0123, "g"}, {0x0124, 0x0127, "h"},
	{0x0128, 0x0131, "i"}, {0x0132, 0x0133, "ij"}, {0x0134, 0x0135, "j"},
	{0x0136, 0x0138, "k"}, {0x0139, 0x0142, "l"}, {0x0143, 0x014B, "n"},
	{0x014C, 0x0151, "o"}, {0x0152, 0x0153, "oe"}, {0x0154, 0x0159, "r"},
	{0x015A, 0x0161, "s"}, {0x0162, 0x0167, "t"}, {0x0168, 0x0173, "u"},
	{0x0174, 0x0175, "w"}, {0x0176, 0x0178, "y"}, {0x0179, 0x017E, "z"},
	{0x017F, 0x017F, "s"},
}

// foldRune returns the folded form of a non-ASCII rune.
func foldRune(r rune) string {
	if r >= 0x00C0 && r <= 0x017F {
		// The table is sorted; a binary search keeps this cheap.
		lo, hi := 0, len(foldTable)
		for lo < hi {
			m := (lo + hi) / 2
			switch {
			case r < foldTable[m].lo:
				hi = m
			case r > foldTable[m].hi:
				lo = m + 1
			default:
				return foldTable[m].to
			}
		}
	}
	if unicode.IsControl(r) || unicode.IsSpace(r) {
		return " "
	}
	return string(unicode.ToLower(r))
}

// Fold returns s lower-cased and with the accents of Latin letters removed
// ("Überzug Ærø" → "uberzug aero"), the form search compares in. Control
// characters and every kind of space become a plain space, so a folded
// query word never contains the separator the index puts between fields.
// Invalid UTF-8 bytes are dropped.
func Fold(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') || c < ' ' || c == 0x7f {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case 'A' <= c && c <= 'Z':
				b.WriteByte(c + 'a' - 'A')
			case c < ' ' || c == 0x7f:
				b.WriteByte(' ')
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == utf8.RuneError && n == 1 {
			continue
		}
		b.WriteString(foldRune(r))
	}
	return b.String()
}
