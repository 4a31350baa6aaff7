package odata

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzParseFilter checks that no input panics ParseFilter or ParseLiteral,
// that every rejection is a 400 *Error, and that every accepted filter evaluates on sample records
// (full, empty and oddly typed) without panicking.
func FuzzParseFilter(f *testing.F) {
	seeds := []string{
		"",
		"ID eq guid'" + g1 + "'",
		guidChain(25, g2),
		"Code eq '               255'",
		"Code eq 'a' or 1 eq 1 or ''",
		"Code eq 'a'' or 1 eq 1 or '''",
		"Description eq 'O''Brien'",
		"substringof('o''b', Description) eq true",
		"startswith(Code, 'a') eq false",
		"endswith(tolower(trim(Code)), 'x')",
		"indexof(toupper(Description), 'A') ge length(Code)",
		"Timestamp gt 123L",
		"Price le 12.5M and Price gt -1d",
		"Price eq 1e308",
		"IsWebshopItem eq 1 and IsSalesItem eq true",
		"not (Stock lt 3) or not IsSalesItem",
		"Modified ge datetime'2026-01-29' and Modified lt datetime'2026-01-29T00:00'",
		"Modified eq datetime'2026-01-29T00:00:00.123'",
		"Notes eq null or null ne Notes",
		"((((Stock eq 1))))",
		strings.Repeat("(", 150) + "Stock eq 1" + strings.Repeat(")", 150),
		strings.Repeat("not ", 120) + "IsSalesItem",
		"contains(Description,'x')",
		"Description like 'x%'",
		"(Stock eq 1",
		"Stock eq 1)",
		"'",
		"guid'",
		"datetime'2026-02-30'",
		"Stock eq 99999999999999999999999999",
		"Stock eq 1\x00",
		"Code eq '\xff'",
		"Stock ≥ 1",
		"Code eq 'ünï✓'",
		"-",
		"-1 eq Stock",
		"1.e5",
		"Stock eq 1e",
		"X'00' eq Code",
		"substringof(,)",
		"tolower()",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	records := append(testRecords(),
		Record{},
		Record{"ID": "NOT-A-GUID", "Code": 5, "Stock": "x", "Price": int64(1), "IsSalesItem": int64(2),
			"IsWebshopItem": true, "Modified": "2026", "Timestamp": 1.5, "Description": []byte("b")},
		Record{"Modified": time.Time{}, "Price": math.Copysign(0, -1), "Description": ""},
	)
	f.Fuzz(func(t *testing.T, expr string) {
		if _, err := ParseLiteral(expr); err != nil {
			var oe *Error
			if !errors.As(err, &oe) || oe.Status != http.StatusBadRequest {
				t.Fatalf("ParseLiteral(%q) error %#v, want a 400 *Error", expr, err)
			}
		}
		flt, err := ParseFilter(expr, testSet)
		if err != nil {
			var oe *Error
			if !errors.As(err, &oe) || oe.Status != http.StatusBadRequest || oe.Message == "" {
				t.Fatalf("ParseFilter(%q) error %#v, want a 400 *Error", expr, err)
			}
			if flt != nil {
				t.Fatalf("ParseFilter(%q) returned a filter with an error", expr)
			}
			return
		}
		if flt == nil && expr != "" {
			t.Fatalf("ParseFilter(%q) = nil, nil", expr)
		}
		for _, r := range records {
			flt.Match(r)
		}
		flt.Fields()
		flt.EqLiterals()
	})
}

// BenchmarkParseFilterHostile parses maximum-length hostile inputs; its
// per-op figures show parsing stays linear in the input size.
func BenchmarkParseFilterHostile(b *testing.B) {
	fill := func(unit string) string {
		return strings.Repeat(unit, MaxFilterLength/len(unit))
	}
	inputs := map[string]string{
		"parens":         fill("("),
		"not":            fill("not "),
		"doubled quotes": "Code eq '" + fill("''")[:MaxFilterLength-12] + "'",
		"spaces":         fill(" ")[:MaxFilterLength-11] + "IsSalesItem",
		"digits":         "Price eq " + fill("9")[:MaxFilterLength-10] + "d",
		"or chain":       "Stock eq 1" + fill(" or Stock eq 1")[:MaxFilterLength-24],
		"unicode string": "Description gt '" + fill("é")[:MaxFilterLength-20] + "'",
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				flt, err := ParseFilter(in, testSet)
				if err == nil {
					flt.Match(Record{"Description": "É"})
				}
			}
		})
	}
}
