package odata

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testSet is a small Items-like entity set covering every field type.
var testSet = EntitySet{
	Path:     "logistics/Items",
	Key:      "ID",
	TypeName: "Exact.Web.Api.Models.Logistics.Item",
	Fields: []Field{
		{Name: "ID", Type: Guid},
		{Name: "Code", Type: String},
		{Name: "Description", Type: String},
		{Name: "Stock", Type: Int32},
		{Name: "Timestamp", Type: Int64},
		{Name: "IsWebshopItem", Type: Byte},
		{Name: "Price", Type: Double},
		{Name: "IsSalesItem", Type: Boolean},
		{Name: "Modified", Type: DateTime},
		{Name: "Notes", Type: String},
	},
}

const (
	g1 = "11111111-1111-1111-1111-11111111aaaa"
	g2 = "22222222-2222-2222-2222-22222222bbbb"
	g3 = "33333333-3333-3333-3333-33333333cccc"
)

// testRecords: r1 and r2 are fully set, r3 has only its ID.
func testRecords() []Record {
	return []Record{
		{
			"ID": g1, "Code": "               255", "Description": "O'Brien Widget",
			"Stock": int64(10), "Timestamp": int64(1000), "IsWebshopItem": int64(1),
			"Price": 12.5, "IsSalesItem": true,
			"Modified": time.Date(2026, 1, 29, 10, 30, 15, 250e6, time.UTC), "Notes": nil,
		},
		{
			"ID": g2, "Code": "               ABC", "Description": "blue Chair",
			"Stock": int64(0), "Timestamp": int64(2000), "IsWebshopItem": int64(0),
			"Price": 0.99, "IsSalesItem": false,
			"Modified": time.Date(2026, 1, 28, 0, 0, 0, 0, time.UTC), "Notes": "x",
		},
		{"ID": g3},
	}
}

// matchIDs returns the labels ("r1", "r2", "r3") of the records f matches.
func matchIDs(f *Filter) []string {
	labels := map[string]string{g1: "r1", g2: "r2", g3: "r3"}
	var got []string
	for _, r := range testRecords() {
		if f.Match(r) {
			got = append(got, labels[r["ID"].(string)])
		}
	}
	return got
}

func TestFilterMatch(t *testing.T) {
	all := []string{"r1", "r2", "r3"}
	tests := []struct {
		name   string
		filter string
		want   []string
	}{
		{"empty matches all", "", all},
		{"guid eq", "ID eq guid'" + g1 + "'", []string{"r1"}},
		{"guid eq upper-case literal", "ID eq guid'" + strings.ToUpper(g2) + "'", []string{"r2"}},
		{"guid prefix any case", "ID eq GUID'" + g2 + "'", []string{"r2"}},
		{"guid ne", "ID ne guid'" + g1 + "'", []string{"r2", "r3"}},
		{"guid or chain", "ID eq guid'" + g1 + "' or ID eq guid'" + g3 + "'", []string{"r1", "r3"}},
		{"literal first", "guid'" + g2 + "' eq ID", []string{"r2"}},
		{"padded code exact", "Code eq '               255'", []string{"r1"}},
		{"unpadded code does not match", "Code eq '255'", nil},
		{"string eq ignores case", "Description eq 'BLUE CHAIR'", []string{"r2"}},
		{"string ne skips nil", "Notes ne 'y'", []string{"r2"}},
		{"string gt ignores case", "Description gt 'N'", []string{"r1"}},
		{"string lt", "Description lt 'P'", []string{"r1", "r2"}},
		{"quote then doubled quote", "Code eq 'a'''", nil},
		{"doubled quote", "Description eq 'o''brien widget'", []string{"r1"}},
		{"quote injection stays a literal", "Code eq 'a'' or 1 eq 1 or '''", nil},
		{"substringof", "substringof('chair', Description)", []string{"r2"}},
		{"substringof eq true", "substringof('CHAIR',Description) eq true", []string{"r2"}},
		{"substringof eq false", "substringof('chair', Description) eq false", []string{"r1"}},
		{"substringof with quote", "substringof('o''b', Description)", []string{"r1"}},
		{"substringof padded", "substringof('  255', Code)", []string{"r1"}},
		{"startswith", "startswith(Description, 'O''BRI')", []string{"r1"}},
		{"startswith padded code needs spaces", "startswith(Code, '255')", nil},
		{"endswith", "endswith(Code, 'abc')", []string{"r2"}},
		{"tolower", "tolower(Description) eq 'blue chair'", []string{"r2"}},
		{"toupper", "toupper(Description) eq 'BLUE CHAIR'", []string{"r2"}},
		{"trim", "trim(Code) eq '255'", []string{"r1"}},
		{"length", "length(Description) eq 10", []string{"r2"}},
		{"indexof", "indexof(Description, 'chair') ge 0", []string{"r2"}},
		{"indexof absent", "indexof(Description, 'zzz') eq -1", []string{"r1", "r2"}},
		{"int32 eq", "Stock eq 10", []string{"r1"}},
		{"int32 ne", "Stock ne 10", []string{"r2"}},
		{"int32 gt", "Stock gt 0", []string{"r1"}},
		{"int32 ge", "Stock ge 0", []string{"r1", "r2"}},
		{"int32 lt", "Stock lt 10", []string{"r2"}},
		{"int32 le", "Stock le 10", []string{"r1", "r2"}},
		{"int32 negative", "Stock gt -1", []string{"r1", "r2"}},
		{"int32 vs decimal", "Stock lt 9.5", []string{"r2"}},
		{"int64 L suffix", "Timestamp gt 1000L", []string{"r2"}},
		{"int64 no suffix", "Timestamp gt 1000", []string{"r2"}},
		{"int64 big literal", "Timestamp lt 9223372036854775807", []string{"r1", "r2"}},
		{"double eq", "Price eq 12.5", []string{"r1"}},
		{"double M suffix", "Price lt 1M", []string{"r2"}},
		{"double d suffix", "Price ge 0.99d", []string{"r1", "r2"}},
		{"double vs int", "Price gt 1", []string{"r1"}},
		{"double exponent", "Price gt 1e1", []string{"r1"}},
		{"boolean true", "IsSalesItem eq true", []string{"r1"}},
		{"boolean false", "IsSalesItem eq false", []string{"r2"}},
		{"boolean bare", "IsSalesItem", []string{"r1"}},
		{"boolean as 1", "IsSalesItem eq 1", []string{"r1"}},
		{"boolean as 0", "IsSalesItem eq 0", []string{"r2"}},
		{"byte as 1", "IsWebshopItem eq 1", []string{"r1"}},
		{"byte as true", "IsWebshopItem eq true", []string{"r1"}},
		{"byte as false", "IsWebshopItem eq false", []string{"r2"}},
		{"datetime date only", "Modified ge datetime'2026-01-29'", []string{"r1"}},
		{"datetime minutes", "Modified gt datetime'2026-01-29T10:30'", []string{"r1"}},
		{"datetime seconds", "Modified lt datetime'2026-01-29T10:30:15'", []string{"r2"}},
		{"datetime fraction", "Modified eq datetime'2026-01-29T10:30:15.250'", []string{"r1"}},
		{"datetime Z", "Modified eq datetime'2026-01-28T00:00:00Z'", []string{"r2"}},
		{"datetime prefix any case", "Modified eq DateTime'2026-01-28T00:00:00'", []string{"r2"}},
		{"eq null", "Notes eq null", []string{"r1", "r3"}},
		{"ne null", "Notes ne null", []string{"r2"}},
		{"null first", "null eq Stock", []string{"r3"}},
		{"gt null is false", "Stock gt null", nil},
		{"nil is not less", "Stock lt 100", []string{"r1", "r2"}},
		{"nil never ne", "Stock ne 5", []string{"r1", "r2"}},
		{"and", "Stock ge 0 and Price gt 1", []string{"r1"}},
		{"or", "Stock eq 10 or Price lt 1", []string{"r1", "r2"}},
		{"not", "not (Stock eq 10)", []string{"r2", "r3"}},
		{"not without space", "not(IsSalesItem)", []string{"r2", "r3"}},
		{"not binds tighter than and", "not IsSalesItem and Stock eq 0", []string{"r2"}},
		{"and binds tighter than or", "Stock eq 10 or Stock eq 0 and Price gt 1", []string{"r1"}},
		{"parentheses override", "(Stock eq 10 or Stock eq 0) and Price lt 1", []string{"r2"}},
		{"nested parentheses", "((((Stock eq 0))))", []string{"r2"}},
		{"comparison of comparison", "(Stock eq 10) eq true", []string{"r1"}},
		{"constant true", "true", all},
		{"literal comparison", "1 eq 1", all},
		{"tabs and newlines", "Stock\teq\n10", []string{"r1"}},
		{"unicode in string", "Description eq 'Ünïcødé ✓'", nil},
		{"NUL inside string literal", "Description eq 'a\x00b'", nil},
		{"25 guid chain", guidChain(25, g2), []string{"r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.filter, testSet)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.filter, err)
			}
			if diff := cmp.Diff(tt.want, matchIDs(f)); diff != "" {
				t.Errorf("ParseFilter(%q).Match mismatch (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}

// guidChain returns "ID eq guid'…' or …" with n GUIDs, the last being last.
func guidChain(n int, last string) string {
	parts := make([]string, 0, n)
	for i := 0; i < n-1; i++ {
		parts = append(parts, fmt.Sprintf("ID eq guid'00000000-0000-0000-0000-%012x'", i))
	}
	parts = append(parts, "ID eq guid'"+last+"'")
	return strings.Join(parts, " or ")
}

func TestParseFilterErrors(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		want   string // the exact message, or "" where only a 400 is asserted
	}{
		{"unknown property", "Foo eq 1", "No property 'Foo' exists in type 'Exact.Web.Api.Models.Logistics.Item' at position 0."},
		{"property case matters", "code eq 'a'", "No property 'code' exists in type 'Exact.Web.Api.Models.Logistics.Item' at position 0."},
		{"guid vs string", "ID eq 'abc'", "Operator 'eq' incompatible with operand types 'System.Guid' and 'System.String' at position 3."},
		{"string vs guid", "Code eq guid'" + g1 + "'", "Operator 'eq' incompatible with operand types 'System.String' and 'System.Guid' at position 5."},
		{"string vs int", "Code eq 255", "Operator 'eq' incompatible with operand types 'System.String' and 'System.Int32' at position 5."},
		{"int vs string", "Stock eq '10'", "Operator 'eq' incompatible with operand types 'System.Int32' and 'System.String' at position 6."},
		{"datetime vs string", "Modified gt '2026-01-01'", "Operator 'gt' incompatible with operand types 'System.DateTime' and 'System.String' at position 9."},
		{"int64 vs datetime", "Timestamp gt datetime'2026-01-01'", "Operator 'gt' incompatible with operand types 'System.Int64' and 'System.DateTime' at position 10."},
		{"boolean vs 2", "IsSalesItem eq 2", "Operator 'eq' incompatible with operand types 'System.Boolean' and 'System.Int32' at position 12."},
		{"boolean vs string", "IsSalesItem eq 'true'", "Operator 'eq' incompatible with operand types 'System.Boolean' and 'System.String' at position 12."},
		{"boolean ordered", "IsSalesItem gt false", "Operator 'gt' incompatible with operand types 'System.Boolean' and 'System.Boolean' at position 12."},
		{"guid ordered", "ID gt guid'" + g1 + "'", "Operator 'gt' incompatible with operand types 'System.Guid' and 'System.Guid' at position 3."},
		{"decimal literal type", "Code eq 1.5M", "Operator 'eq' incompatible with operand types 'System.String' and 'System.Decimal' at position 5."},
		{"field vs field", "Stock eq Timestamp", "Comparing two properties is not supported at position 6."},
		{"contains", "contains(Description,'x')", "Expression of type 'System.Boolean' expected at position 0."},
		{"like", "Description like 'x%'", "Expression of type 'System.Boolean' expected at position 0."},
		{"unknown function later", "Stock eq 1 and foo(Code)", "Expression of type 'System.Boolean' expected at position 15."},
		{"function name case matters", "SubstringOf('a', Code)", "Expression of type 'System.Boolean' expected at position 0."},
		{"bare string", "Code", "Expression of type 'System.Boolean' expected at position 0."},
		{"bare literal", "'abc'", "Expression of type 'System.Boolean' expected at position 0."},
		{"or of string", "Stock eq 1 or Code", "Expression of type 'System.Boolean' expected at position 14."},
		{"quote injection", "Code eq 'a' or 1 eq 1 or ''", "Expression of type 'System.Boolean' expected at position 25."},
		{"not of string", "not Code", "Operator 'not' incompatible with operand type 'System.String' at position 0."},
		{"keyword case matters", "Stock EQ 1", "Expression of type 'System.Boolean' expected at position 0."},
		{"AND upper-case", "Stock eq 1 AND Stock eq 2", "Syntax error at position 11."},
		{"trailing garbage", "Stock eq 1 Stock", "Syntax error at position 11."},
		{"missing operand", "Stock eq", "Expression expected at position 8."},
		{"missing left operand", "eq 1", "Expression expected at position 0."},
		{"dangling and", "Stock eq 1 and", "Expression expected at position 14."},
		{"unbalanced open", "(Stock eq 1", "')' or operator expected at position 11."},
		{"unbalanced close", "Stock eq 1)", "Syntax error at position 10."},
		{"empty parens", "()", "Expression expected at position 1."},
		{"unterminated string", "Code eq 'abc", "Unterminated string literal at position 8."},
		{"lone quote", "'", "Unterminated string literal at position 0."},
		{"odd quotes", "Code eq 'a''", "Unterminated string literal at position 8."},
		{"bad guid", "ID eq guid'1234'", "Unrecognized 'Edm.Guid' literal 'guid'1234'' at position 6."},
		{"guid with braces", "ID eq guid'{" + g1 + "}'", ""},
		{"guid non-hex", "ID eq guid'1111111g-1111-1111-1111-111111111111'", ""},
		{"unterminated guid", "ID eq guid'" + g1, "Unterminated string literal at position 10."},
		{"bad datetime", "Modified gt datetime'2026-13-01'", "Unrecognized 'Edm.DateTime' literal 'datetime'2026-13-01'' at position 12."},
		{"datetime with offset", "Modified gt datetime'2026-01-01T00:00:00+01:00'", ""},
		{"datetimeoffset literal", "Modified gt datetimeoffset'2026-01-01T00:00:00Z'", "Unrecognized literal 'datetimeoffset'2026-01-01T00:00:00Z'' at position 12."},
		{"binary literal", "Code eq X'00'", ""},
		{"huge integer", "Stock eq 99999999999999999999999", "Unrecognized 'Edm.Int64' literal '99999999999999999999999' at position 9."},
		{"huge decimal", "Price eq 1e400", "Unrecognized 'Edm.Decimal' literal '1e400' at position 9."},
		{"decimal with L", "Price eq 1.5L", ""},
		{"number glued to word", "Stock eq 10abc", ""},
		{"NUL byte", "Stock eq 1\x00", "Syntax error: character '\\x00' is not valid at position 10."},
		{"invalid UTF-8", "Code eq 'a' and \xff", "Syntax error: invalid UTF-8 at position 16."},
		{"unicode garbage", "Stock ≥ 1", "Syntax error: character '≥' is not valid at position 6."},
		{"navigation path", "Item/Code eq 'a'", ""},
		{"arithmetic", "Stock add 1 eq 2", ""},
		{"substringof arity", "substringof('a')", "No applicable function found for 'substringof' at position 0 with the specified arguments. The functions considered are: substringof(System.String, System.String)."},
		{"substringof int field", "substringof('1', Stock)", ""},
		{"substringof two fields", "substringof(Code, Description)", ""},
		{"function without close", "startswith(Code, 'a'", "')' or ',' expected at position 20."},
		{"function trailing comma", "startswith(Code, 'a',)", ""},
		{"whitespace only", "   ", "Expression expected at position 3."},
		{"deep parens", strings.Repeat("(", 10000) + "Stock eq 1" + strings.Repeat(")", 10000), "The $filter expression is too long (20010 characters; at most 8000 are allowed)."},
		{"parens over depth", strings.Repeat("(", 101) + "Stock eq 1" + strings.Repeat(")", 101), "The recursion limit has been exceeded at position 100."},
		{"not over depth", strings.Repeat("not ", 101) + "IsSalesItem", "The recursion limit has been exceeded at position 400."},
		{"functions over depth", strings.Repeat("tolower(", 101) + "Code" + strings.Repeat(")", 101) + " eq 'a'", ""},
		{"too long", "Code eq '" + strings.Repeat("a", 8000) + "'", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.filter, testSet)
			if err == nil {
				t.Fatalf("ParseFilter(%q) = %v, want an error", tt.filter, f)
			}
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("ParseFilter(%q) error %T %v, want *Error", tt.filter, err, err)
			}
			if oe.Status != http.StatusBadRequest {
				t.Errorf("Status = %d, want 400", oe.Status)
			}
			if tt.want != "" {
				if diff := cmp.Diff(tt.want, oe.Message); diff != "" {
					t.Errorf("message mismatch (-want +got):\n%s", diff)
				}
			} else if !strings.Contains(oe.Message, "position") && !strings.Contains(oe.Message, "too long") {
				t.Errorf("message %q names no position", oe.Message)
			}
		})
	}
}

func TestParseFilterDepthWithinLimit(t *testing.T) {
	expr := strings.Repeat("(", MaxFilterDepth) + "Stock eq 10" + strings.Repeat(")", MaxFilterDepth)
	f, err := ParseFilter(expr, testSet)
	if err != nil {
		t.Fatalf("ParseFilter: %v", err)
	}
	if diff := cmp.Diff([]string{"r1"}, matchIDs(f)); diff != "" {
		t.Errorf("Match mismatch (-want +got):\n%s", diff)
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	if !f.Match(Record{}) {
		t.Error("nil filter does not match")
	}
	if f.Fields() != nil || f.EqLiterals() != nil || f.String() != "" {
		t.Error("nil filter reports fields, literals or text")
	}
}

func TestFilterFieldsAndEqLiterals(t *testing.T) {
	expr := "(ID eq guid'" + strings.ToUpper(g1) + "' or guid'" + g2 + "' eq ID) and Code eq 'a' and not (Stock eq 3) and Notes eq null and IsSalesItem eq 1 and Price gt 2"
	f, err := ParseFilter(expr, testSet)
	if err != nil {
		t.Fatalf("ParseFilter: %v", err)
	}
	if diff := cmp.Diff([]string{"ID", "Code", "Stock", "Notes", "IsSalesItem", "Price"}, f.Fields()); diff != "" {
		t.Errorf("Fields mismatch (-want +got):\n%s", diff)
	}
	want := map[string][]any{"ID": {g1, g2}, "Code": {"a"}, "IsSalesItem": {true}}
	if diff := cmp.Diff(want, f.EqLiterals()); diff != "" {
		t.Errorf("EqLiterals mismatch (-want +got):\n%s", diff)
	}
	if f.String() != expr {
		t.Errorf("String() = %q, want the source", f.String())
	}
}

// TestMatchOddRecordValues shows that values of unexpected Go kinds are
// read leniently or as nil, never with a panic.
func TestMatchOddRecordValues(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		rec    Record
		want   bool
	}{
		{"int for Int32", "Stock eq 3", Record{"Stock": 3}, true},
		{"int32 for Int32", "Stock eq 3", Record{"Stock": int32(3)}, true},
		{"float for Int32", "Stock lt 3.5", Record{"Stock": 3.0}, true},
		{"string for Int32 is nil", "Stock eq null", Record{"Stock": "3"}, true},
		{"int for Double", "Price eq 2", Record{"Price": 2}, true},
		{"int64 for Boolean", "IsSalesItem", Record{"IsSalesItem": int64(1)}, true},
		{"bool for Byte", "IsWebshopItem eq 1", Record{"IsWebshopItem": true}, true},
		{"struct for String is nil", "Code eq null", Record{"Code": struct{}{}}, true},
		{"string for DateTime is nil", "Modified eq null", Record{"Modified": "2026-01-01"}, true},
		{"nil record", "Code eq 'a'", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.filter, testSet)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if got := f.Match(tt.rec); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	err := error(&Error{Status: 400, Message: "Syntax error at position 4."})
	if got, want := err.Error(), "odata: 400: Syntax error at position 4."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func BenchmarkFilter25GUIDs(b *testing.B) {
	expr := guidChain(25, g2)
	recs := testRecords()
	b.ReportAllocs()
	for b.Loop() {
		f, err := ParseFilter(expr, testSet)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			f.Match(r)
		}
	}
}

func BenchmarkMatch25GUIDs(b *testing.B) {
	f, err := ParseFilter(guidChain(25, g2), testSet)
	if err != nil {
		b.Fatal(err)
	}
	recs := testRecords()
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			f.Match(r)
		}
	}
}

func TestParseLiteral(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    any
		wantErr string
	}{
		{name: "guid", in: "guid'" + strings.ToUpper(g1) + "'", want: g1},
		{name: "string", in: "'O''Brien'", want: "O'Brien"},
		{name: "padded string", in: "'  255'", want: "  255"},
		{name: "int", in: "387", want: int64(387)},
		{name: "int64", in: "387L", want: int64(387)},
		{name: "negative", in: "-2", want: int64(-2)},
		{name: "decimal", in: "12.5M", want: 12.5},
		{name: "datetime", in: "datetime'2026-01-29T10:00:00'", want: time.Date(2026, 1, 29, 10, 0, 0, 0, time.UTC)},
		{name: "true", in: "true", want: true},
		{name: "null", in: "null", want: nil},
		{name: "spaces around", in: " 5 ", want: int64(5)},
		{name: "empty", in: "", wantErr: "Literal expected at position 0."},
		{name: "identifier", in: "Code", wantErr: "Invalid literal 'Code' at position 0."},
		{name: "two literals", in: "'10',6", wantErr: "Syntax error at position 4."},
		{name: "bad guid", in: "guid'x'", wantErr: "Unrecognized 'Edm.Guid' literal 'guid'x'' at position 0."},
		{name: "unterminated", in: "'abc", wantErr: "Unterminated string literal at position 0."},
		{name: "invalid UTF-8", in: "'\xff'", wantErr: "Invalid literal at position 0."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLiteral(tt.in)
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLiteral(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
