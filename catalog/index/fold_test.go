package index

import "testing"

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain ascii 123", "plain ascii 123"},
		{"MiXeD Case", "mixed case"},
		{"Überzug", "uberzug"},
		{"Crème brûlée", "creme brulee"},
		{"Straße", "strasse"},
		{"Ærø Øl Œuvre", "aero ol oeuvre"},
		{"Łódź Đakovo", "lodz dakovo"},
		{"ĲSSEL", "ijssel"},
		{"Çà Ñ ÿ Ÿ", "ca n y y"},
		{"ŠKODA Žilina", "skoda zilina"},
		{"tab\there\x00nul", "tab here nul"},
		{"Ωmega", "ωmega"},         // outside the table: lower-cased only
		{"a×b÷c", "a×b÷c"},         // signs are not letters
		{"bad\xffbyte", "badbyte"}, // invalid UTF-8 dropped
		{"", ""},
	} {
		if got := Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFoldTableSortedAndDisjoint(t *testing.T) {
	for i, r := range foldTable {
		if r.lo > r.hi {
			t.Errorf("range %d: lo %U > hi %U", i, r.lo, r.hi)
		}
		if i > 0 && foldTable[i-1].hi >= r.lo {
			t.Errorf("range %d overlaps or is out of order", i)
		}
	}
	// Every letter of Latin-1 Supplement and Latin Extended-A folds to ASCII.
	for r := rune(0xC0); r <= 0x17F; r++ {
		if r == 0xD7 || r == 0xF7 {
			continue
		}
		for _, c := range foldRune(r) {
			if c > 0x7f {
				t.Errorf("%U folds to %q, not ASCII", r, foldRune(r))
			}
		}
	}
}
