package respcache

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const (
	accountA = "1f0e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	accountB = "2a0e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
)

func mustBuyer(t testing.TB, account string) Scope {
	t.Helper()
	s, err := BuyerScope(account)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustKey(t testing.TB, s Scope, r Request) Key {
	t.Helper()
	k, err := NewKey(s, r)
	if err != nil {
		t.Fatalf("NewKey(%v, %+v): %v", s, r, err)
	}
	return k
}

func TestNewKeyRequiresScope(t *testing.T) {
	if _, err := NewKey(Scope{}, Request{Query: "{ a }"}); !errors.Is(err, ErrNoScope) {
		t.Errorf("NewKey(zero scope) = %v, want ErrNoScope", err)
	}
	for _, acct := range []string{"", "   "} {
		if s, err := BuyerScope(acct); !errors.Is(err, ErrInvalidScope) || !s.IsZero() {
			t.Errorf("BuyerScope(%q) = %v, %v; want zero scope, ErrInvalidScope", acct, s, err)
		}
	}
	if PublicScope().IsZero() || mustBuyer(t, accountA).IsZero() {
		t.Error("a real scope reads as zero")
	}
}

// TestKeysNeverShareScopes is the isolation proof over the key builder:
// every way a request can be keyed (document, persisted query hash,
// variables, operation name, Accept), in every scope, gives a key no other
// scope gives. A key builder that left the scope out of any path would make
// two scopes' keys equal and fail here.
func TestKeysNeverShareScopes(t *testing.T) {
	scopes := []Scope{PublicScope(), mustBuyer(t, accountA), mustBuyer(t, accountB)}
	reqs := []Request{
		{Query: "{ products(first: 60) { nodes { code price { unitPrice { amount } } } } }"},
		{Query: "query P($n: Int) { products(first: $n) { nodes { code } } }", OperationName: "P",
			Variables: map[string]any{"n": json.Number("60")}},
		{PersistedHash: "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"},
		{PersistedHash: "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38", OperationName: "P",
			Variables: map[string]any{"n": json.Number("1")}},
		{Query: "{ viewer { id orders { nodes { id } } } }", Accept: "application/graphql-response+json"},
	}
	seen := map[[32]byte]string{}
	for _, r := range reqs {
		for _, s := range scopes {
			k := mustKey(t, s, r)
			if k.Scope() != s {
				t.Errorf("key of %+v in %v carries scope %v", r, s, k.Scope())
			}
			where := fmt.Sprintf("%v %+v", s, r)
			if prev, dup := seen[k.sum]; dup {
				t.Errorf("%s and %s share a key", prev, where)
			}
			seen[k.sum] = where
		}
	}
	// The same buyer is the same scope however its account is written.
	a1, a2 := mustKey(t, mustBuyer(t, accountA), reqs[0]), mustKey(t, mustBuyer(t, strings.ToUpper(accountA)), reqs[0])
	if a1 != a2 {
		t.Error("one account in two spellings gives two keys")
	}
}

func TestKeyNormalisation(t *testing.T) {
	s := mustBuyer(t, accountA)
	base := Request{Query: `query P($n: Int) { products(first: $n, search: "a  b") { nodes { code } } }`,
		OperationName: "P", Variables: map[string]any{"n": json.Number("60"), "x": map[string]any{"b": "1", "a": []any{"z"}}}}
	same := []Request{
		{Query: "query P($n: Int)\n{\n  products(first: $n, search: \"a  b\") {\n    nodes { code } # a comment\n  }\n}\n",
			OperationName: "P", Variables: map[string]any{"x": map[string]any{"a": []any{"z"}, "b": "1"}, "n": json.Number("60")}},
		{Query: `query P($n: Int) { products(first: $n, search: "a  b"), { nodes { code, } } }`,
			OperationName: "P", Variables: map[string]any{"n": json.Number("60"), "x": map[string]any{"b": "1", "a": []any{"z"}}}},
	}
	differ := map[string]Request{
		"string literal": {Query: `query P($n: Int) { products(first: $n, search: "a b") { nodes { code } } }`,
			OperationName: "P", Variables: base.Variables},
		"field":          {Query: `query P($n: Int) { products(first: $n, search: "a  b") { nodes { id } } }`, OperationName: "P", Variables: base.Variables},
		"operation name": {Query: base.Query, OperationName: "Q", Variables: base.Variables},
		"variable value": {Query: base.Query, OperationName: "P", Variables: map[string]any{"n": json.Number("61"), "x": base.Variables["x"]}},
		"variable type":  {Query: base.Query, OperationName: "P", Variables: map[string]any{"n": "60", "x": base.Variables["x"]}},
		"accept":         {Query: base.Query, OperationName: "P", Variables: base.Variables, Accept: "application/graphql-response+json"},
		"apq hash":       {PersistedHash: "00", OperationName: "P", Variables: base.Variables},
	}
	want := mustKey(t, s, base)
	for i, r := range same {
		if got := mustKey(t, s, r); got != want {
			t.Errorf("equivalent request %d keyed differently", i)
		}
	}
	for name, r := range differ {
		if got := mustKey(t, s, r); got == want {
			t.Errorf("%s: different request, same key", name)
		}
	}
	if mustKey(t, s, Request{Query: "{ a }"}) != mustKey(t, s, Request{Query: "{ a }", Variables: map[string]any{}}) {
		t.Error("no variables and {} keyed differently")
	}
}

func TestNewKeyRefuses(t *testing.T) {
	s := PublicScope()
	tests := []struct {
		name string
		req  Request
		want error
	}{
		{"mutation", Request{Query: `mutation { placeOrder(input: {}) { order { id } } }`}, ErrNotQuery},
		{"subscription", Request{Query: `subscription S { x }`}, ErrNotQuery},
		{"query beside a mutation", Request{Query: `query A { a } mutation B { b }`, OperationName: "A"}, ErrNotQuery},
		{"nothing", Request{}, ErrUnkeyable},
		{"does not lex", Request{Query: `{ a(s: "unterminated) }`}, ErrUnkeyable},
		{"too long", Request{Query: "{ a }" + strings.Repeat(" ", MaxDocumentBytes)}, ErrUnkeyable},
		{"variables that do not encode", Request{Query: "{ a }", Variables: map[string]any{"n": json.Number("1e")}}, ErrUnkeyable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewKey(s, tt.req); !errors.Is(err, tt.want) {
				t.Errorf("NewKey = %v, want %v", err, tt.want)
			}
		})
	}
	// The words inside a selection or a string are not operation types.
	for _, q := range []string{`{ products(search: "mutation") { nodes { code } } }`, `query mutationLike { mutation: products { nodes { code } } }`} {
		if _, err := NewKey(s, Request{Query: q}); err != nil {
			t.Errorf("NewKey(%s) = %v, want a key", q, err)
		}
	}
}

func TestKeyOperation(t *testing.T) {
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Query: "{ a }"}, ""},
		{Request{Query: "query { a }"}, ""},
		{Request{Query: "query ($n: Int) { a(n: $n) }"}, ""},
		{Request{Query: "query ShopPage($n: Int) { a(n: $n) }"}, "ShopPage"},
		{Request{Query: "# c\nquery\n  ShopPage { a }"}, "ShopPage"},
		{Request{Query: "fragment F on Product { code } query ShopPage { products { nodes { ...F } } }"}, "ShopPage"},
		{Request{Query: "query A { a } query B { b }", OperationName: "B"}, "B"},
		{Request{PersistedHash: "ab", OperationName: "P"}, "P"},
		{Request{PersistedHash: "ab"}, ""},
	}
	for _, tt := range tests {
		if got := mustKey(t, PublicScope(), tt.req).Operation(); got != tt.want {
			t.Errorf("Operation of %+v = %q, want %q", tt.req, got, tt.want)
		}
	}
}
