package resolvers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/exactql/exactql/apierr"
)

// FuzzDecodeCursor feeds decodeCursor arbitrary `after` strings and
// searches: it never panics, every refusal is a apierr.BadInputError, and what it
// accepts is a code our own encoder could have written for that search. A
// cursor we encoded decodes back to its code for its own search only.
func FuzzDecodeCursor(f *testing.F) {
	seeds := []struct{ after, code, search, group string }{
		{"", "ART-000001", "", ""},
		{encodeCursor("ART-000001", "", ""), "ART-000001", "", ""},
		{encodeCursor("ZÜRICH-01", "zürich", "g1"), "ZÜRICH-01", "zürich", "g1"},
		{"not-base64!!", "x", "a", ""},
		{base64.RawURLEncoding.EncodeToString([]byte(`{"c":"","q":""}`)), "", "", ""},
		{base64.RawURLEncoding.EncodeToString([]byte(`{"c":1,"q":[]}`)), "1", "", ""},
		{base64.RawURLEncoding.EncodeToString([]byte(`null`)), "n", "", ""},
		{strings.Repeat("A", 600), strings.Repeat("x", 121), "", ""},
		{base64.RawURLEncoding.EncodeToString([]byte("{\"c\":\"\\ud800\",\"q\":\"\"}")), "\xff", "", "\x00"},
	}
	for _, s := range seeds {
		f.Add(s.after, s.code, s.search, s.group)
	}
	f.Fuzz(func(t *testing.T, after, code, search, group string) {
		got, err := decodeCursor(after, search, group)
		if err != nil {
			var bad *apierr.BadInputError
			if !errors.As(err, &bad) {
				t.Fatalf("decodeCursor(%q) error %T %v, want *apierr.BadInputError", after, err, err)
			}
		} else {
			if got == "" || !utf8.ValidString(got) || len(got) > 4*maxCodeRunes {
				t.Fatalf("decodeCursor(%q) accepted code %q", after, got)
			}
			if again, err := decodeCursor(encodeCursor(got, search, group), search, group); err != nil || again != got {
				t.Fatalf("re-encoded %q decodes to %q, %v", got, again, err)
			}
		}

		// Our own cursors round-trip, and only for their own search.
		if code == "" || !utf8.ValidString(code) || len(code) > 4*maxCodeRunes {
			return
		}
		enc := encodeCursor(code, search, group)
		back, err := decodeCursor(enc, search, group)
		if err != nil || back != code {
			t.Fatalf("decodeCursor(encodeCursor(%q)) = %q, %v", code, back, err)
		}
		other := search + "-other"
		if queryHash(other, group) == queryHash(search, group) {
			return
		}
		if _, err := decodeCursor(enc, other, group); err == nil {
			t.Fatalf("cursor of search %q accepted for search %q", search, other)
		}
	})
}

// TestEncodeCursorSameAsJSON: the cursor encoder without reflection writes
// exactly the bytes json.Marshal of the cursor struct writes (cursors
// handed out before keep their form), for plain and escaped codes.
func TestEncodeCursorSameAsJSON(t *testing.T) {
	for _, code := range []string{"ART-000001", "ZÜRICH-01", `a"b`, `a\b`, "<b>&", "tab\there", "\x7f", "\xff", " spaced ", strings.Repeat("W", 120)} {
		b, _ := json.Marshal(cursor{Code: code, Query: queryHash("s", "g")})
		want := base64.RawURLEncoding.EncodeToString(b)
		if got := encodeCursor(code, "s", "g"); got != want {
			t.Errorf("encodeCursor(%q) = %q, want %q", code, got, want)
		}
	}
}
