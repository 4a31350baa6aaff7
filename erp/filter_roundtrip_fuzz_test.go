package erp

import (
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

// FuzzFilterCombined builds a filter of several hostile strings joined with
// or, and, ne and substringof, renders it and parses it back with the
// sandbox's OData parser: rendering never panics, refuses invalid UTF-8, and
// what it renders parses to the same fields and eq literals, and matches a
// record equal to the first alternative.
func FuzzFilterCombined(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, "x"+s, s+"'")
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		flt := Or(Eq("Code", String(a)), And(Eq("Description", String(b)), Ne("Code", String(c)), SubstringOf(c, "Description")))
		text, err := flt.Render()
		if !utf8.ValidString(a) || !utf8.ValidString(b) || !utf8.ValidString(c) {
			if err == nil {
				t.Fatalf("invalid UTF-8 rendered as %q", text)
			}
			return
		}
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if len(text) > odata.MaxFilterLength {
			t.Skip("longer than any $filter Exact accepts")
		}
		pf, err := odata.ParseFilter(text, codeSet)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", text, err)
		}
		if diff := cmp.Diff([]string{"Code", "Description"}, pf.Fields()); diff != "" {
			t.Fatalf("fields of %q (-want +got):\n%s", text, diff)
		}
		if diff := cmp.Diff(map[string][]any{"Code": {a}, "Description": {b}}, pf.EqLiterals()); diff != "" {
			t.Fatalf("eq literals of %q (-want +got):\n%s", text, diff)
		}
		if !pf.Match(odata.Record{"ID": testGUID, "Code": a, "Description": ""}) {
			t.Fatalf("%q does not match a record whose Code is %q", text, a)
		}
	})
}
