package erp

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

const testGUID = "6b1c1c0e-7a3a-4a55-9f3e-0d2b5d7c8e9f"

func TestFilterRender(t *testing.T) {
	g := mustGUID(strings.ToUpper(testGUID))
	when := time.Date(2026, 1, 29, 13, 4, 5, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"zero", Filter{}, ""},
		{"string", Eq("Code", String("A1")), "Code eq 'A1'"},
		{"quote doubled", Eq("Name", String("O'Brien")), "Name eq 'O''Brien'"},
		{"guid lower-cased", Eq("ID", g), "ID eq guid'" + testGUID + "'"},
		{"datetime in UTC", Ge("Created", DateTime(when)), "Created ge datetime'2026-01-29T12:04:05'"},
		{"int", Gt("Status", Int(12)), "Status gt 12"},
		{"int64", Gt("Timestamp", Int64L(123)), "Timestamp gt 123L"},
		{"decimal", Le("Quantity", Decimal(decimal.RequireFromString("2.50"))), "Quantity le 2.5"},
		{"bool", Eq("IsSalesItem", Bool(true)), "IsSalesItem eq true"},
		{"null", Eq("Account", Null()), "Account eq null"},
		{"ne lt", And(Ne("A", Int(1)), Lt("B", Int(2))), "A ne 1 and B lt 2"},
		{"account code padded", Eq("Code", AccountCode("255")), "Code eq '               255'"},
		{"substringof", SubstringOf("x'y", "Description"), "substringof('x''y',Description) eq true"},
		{"startswith", StartsWith("Code", "AB"), "startswith(Code,'AB') eq true"},
		{"or inside and", And(Or(Eq("A", Int(1)), Eq("A", Int(2))), Eq("B", Bool(false))), "(A eq 1 or A eq 2) and B eq false"},
		{"and inside or", Or(And(Eq("A", Int(1)), Eq("B", Int(2))), Eq("C", Int(3))), "(A eq 1 and B eq 2) or C eq 3"},
		{"not", Not(Eq("A", Int(1))), "not (A eq 1)"},
		{"zero parts skipped", And(Filter{}, Eq("A", Int(1)), Filter{}), "A eq 1"},
		{"all zero", Or(Filter{}, Filter{}), ""},
		{"not zero", Not(Filter{}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.Render()
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Render mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilterRenderErrors(t *testing.T) {
	bad, err := GUID("{" + testGUID + "}")
	if !errors.Is(err, ErrInvalidID) {
		t.Fatalf("GUID with braces: err = %v, want ErrInvalidID", err)
	}
	tests := []struct {
		name string
		f    Filter
	}{
		{"field with space", Eq("Code eq 'x' or ID", String("y"))},
		{"empty field", Eq("", Int(1))},
		{"field with quote", SubstringOf("x", "Descr'iption")},
		{"startswith bad field", StartsWith("a b", "x")},
		{"invalid guid value", Eq("ID", bad)},
		{"zero value", Eq("ID", Value{})},
		{"invalid utf8", Eq("Code", String("a\xffb"))},
		{"nested", Or(Eq("A", Int(1)), Not(Eq("1A", Int(2))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := tt.f.Render(); err == nil {
				t.Errorf("Render = %q, want an error", s)
			}
			if s := tt.f.String(); !strings.HasPrefix(s, "<invalid filter") {
				t.Errorf("String = %q, want the invalid marker", s)
			}
		})
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		testGUID:                               true,
		strings.ToUpper(testGUID):              true,
		"":                                     false,
		"6b1c1c0e7a3a4a559f3e0d2b5d7c8e9f":     false,
		"6b1c1c0e-7a3a-4a55-9f3e-0d2b5d7c8e9g": false,
		"6b1c1c0e-7a3a-4a55-9f3e-0d2b5d7c8e9":  false,
		"{6b1c1c0e-7a3a-4a55-9f3e-0d2b5d7c8e}": false,
		"6b1c1c0e-7a3a-4a55-9f3e'0d2b5d7c8e9f": false,
	} {
		if got := IsGUID(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestQueryEncode(t *testing.T) {
	tests := []struct {
		name    string
		q       Query
		def     []string
		want    string
		wantErr bool
	}{
		{"default select", Query{}, []string{"ID", "Code"}, "$select=ID,Code", false},
		{"all parts", Query{Filter: Eq("Code", String("a b&c=d#'")), Select: []string{"ID"}, OrderBy: []string{"Code desc"}, Top: 5, InlineCount: true},
			[]string{"X"}, "$filter=Code%20eq%20'a%20b%26c%3Dd%23'''&$select=ID&$orderby=Code%20desc&$top=5&$inlinecount=allpages", false},
		{"plus is escaped", Query{Filter: Eq("Code", String("a+b"))}, nil, "$filter=Code%20eq%20'a%2Bb'", false},
		{"bad select", Query{Select: []string{"ID,Code"}}, nil, "", true},
		{"bad orderby", Query{OrderBy: []string{"Code; drop"}}, nil, "", true},
		{"bad filter", Query{Filter: Eq("a b", Int(1))}, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.q.encode(tt.def)
			if (err != nil) != tt.wantErr {
				t.Fatalf("encode err = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("encode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var codeSet = odata.EntitySet{
	Path: "logistics/Items", Key: "ID", TypeName: "Exact.Web.Api.Models.Logistics.Item",
	Fields: []odata.Field{{Name: "ID", Type: odata.Guid}, {Name: "Code", Type: odata.String}, {Name: "Description", Type: odata.String}},
}

// hostile strings a webshop user could type.
var hostile = []string{
	"", "'", "''", "' or 1 eq 1 or Code eq '", "x') or (Code ne 'x", "O'Brien",
	"a\\'b", "%27 or true", "&$filter=ID ne null", "guid'" + testGUID + "'",
	"substringof('a',Code) eq true", "\u00e9\u00e8 \u4e2d\u6587", "tab\tnew\nline", ") or (", "eq", "null",
}

// TestHostileStringsMatchLiterally proves that user text stays one literal:
// the sandbox's parser sees exactly one comparison whose value is the text,
// and the filter matches a record with that exact code and no other.
func TestHostileStringsMatchLiterally(t *testing.T) {
	for _, s := range hostile {
		for _, f := range []Filter{Eq("Code", String(s)), SubstringOf(s, "Code"), StartsWith("Code", s)} {
			text, err := f.Render()
			if err != nil {
				t.Fatalf("Render(%q): %v", s, err)
			}
			pf, err := odata.ParseFilter(text, codeSet)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", text, err)
			}
			if diff := cmp.Diff([]string{"Code"}, pf.Fields()); diff != "" {
				t.Errorf("fields of %q (-want +got):\n%s", text, diff)
			}
			if !pf.Match(odata.Record{"ID": testGUID, "Code": s, "Description": ""}) {
				t.Errorf("%q does not match a record whose Code is %q", text, s)
			}
			if s != "" && pf.Match(odata.Record{"ID": testGUID, "Code": "\x01unrelated", "Description": s}) {
				t.Errorf("%q matches an unrelated record", text)
			}
		}
	}
}

func FuzzFilterString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		text, err := Eq("Code", String(s)).Render()
		if !utf8.ValidString(s) {
			if err == nil {
				t.Fatalf("invalid UTF-8 %q rendered as %q", s, text)
			}
			return
		}
		if err != nil {
			t.Fatalf("Render(%q): %v", s, err)
		}
		if len(text) > odata.MaxFilterLength {
			t.Skip("longer than any $filter Exact accepts")
		}
		pf, err := odata.ParseFilter(text, codeSet)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", text, err)
		}
		if diff := cmp.Diff([]string{"Code"}, pf.Fields()); diff != "" {
			t.Fatalf("fields of %q (-want +got):\n%s", text, diff)
		}
		if diff := cmp.Diff(map[string][]any{"Code": {s}}, pf.EqLiterals()); diff != "" {
			t.Fatalf("literals of %q (-want +got):\n%s", text, diff)
		}
	})
}
