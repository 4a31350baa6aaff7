package erp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  string
		want string
	}{
		{"plain", "Item is blocked.", "Item is blocked."},
		{"guid", "Item {3F2B8C1E-1111-4222-8333-444455556666} unknown", "Item {[id]} unknown"},
		{"url", "See https://start.exactonline.nl/api?x=1 or www.exact.com/help", "See [link] or [link]"},
		{"bearer", "Authorization: Bearer abc.def.ghi failed", "Authorization: Bearer [redacted] failed"},
		{"token-like", "refresh Gcp7!IAAAAL2abcDEF0123456789 expired", "refresh [redacted] expired"},
		{"long plain word kept", "Internationalisation-requirements missing", "Internationalisation-requirements missing"},
		{"control characters", "  line one\r\n\tline two\x00 ", "line one line two"},
		{"C1 and line separators", "a\u0085b\u2028c\u00a0d", "a b c d"},
		{"invalid UTF-8", "bad \xff byte", "bad byte"},
		{"empty", "", ""},
		{"blank", "\x01\x02 ", ""},
		{"long", strings.Repeat("é", 400), strings.Repeat("é", MaxMessage-1) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SafeMessage(tc.msg)
			if got != tc.want {
				t.Errorf("SafeMessage(%q) = %q; want %q", tc.msg, got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n > MaxMessage {
				t.Errorf("len = %d; want at most %d", n, MaxMessage)
			}
			if again := SafeMessage(got); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}
