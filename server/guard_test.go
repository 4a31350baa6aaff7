package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator/core"
)

// maxAbuseAnswer is the largest answer an attack may get (issue 17).
const maxAbuseAnswer = 64 << 10

// validationCounter is a validation rule that counts the fields and
// operations validation visits: zero means validation, with its quadratic
// rules, never ran on the document.
type validationCounter struct{ visits atomic.Int64 }

func (c *validationCounter) rule() core.Rule {
	return core.Rule{Name: "TestVisitCounter", RuleFunc: func(ev *core.Events, _ core.AddErrFunc) {
		ev.OnOperation(func(*core.Walker, *ast.OperationDefinition) { c.visits.Add(1) })
		ev.OnField(func(*core.Walker, *ast.Field) { c.visits.Add(1) })
	}}
}

// newCountingServer is newTestServer with the counting rule in validation.
func newCountingServer(t *testing.T, cfg Config) (http.Handler, *validationCounter) {
	t.Helper()
	c := &validationCounter{}
	cfg.extraRules = []core.Rule{c.rule()}
	return newTestServer(t, cfg, nil), c
}

// spreadBomb is the attack of issue 17 item 1: levels of fragments, each
// spreading the one below twice, ending in leaf; about 1 KB for 26 levels,
// 2^levels selections when expanded.
func spreadBomb(levels int, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { ...F%d }\nfragment F0 on Query { %s }\n", levels, leaf)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// conflictingAliases is the attack of issue 17 item 2: n selections of
// product under one response name with different arguments, so the
// overlapping-fields rule finds a conflict in every pair.
func conflictingAliases(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, ` p: product(code: "A%d") { id }`, i)
	}
	b.WriteString(" }")
	return b.String()
}

// manyFragments spreads n distinct one-field fragments in one selection:
// validation compares every pair of them.
func manyFragments(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " ...F%d", i)
	}
	b.WriteString(" }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { a%d: __typename }\n", i, i)
	}
	return b.String()
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestAbusiveDocumentsRefusedBeforeValidation(t *testing.T) {
	introLeaf := `__type(name: "Query") { name fields { name } } __schema { queryType { name } }`
	tests := []struct {
		name     string
		cfg      Config
		query    string
		wantCode string
	}{
		{"26 levels of spreads ending in introspection, production (introspection off)", Config{},
			spreadBomb(26, introLeaf), "BAD_USER_INPUT"},
		{"24 levels of spreads ending in introspection, introspection on", Config{Introspection: true},
			spreadBomb(24, introLeaf), "QUERY_TOO_COMPLEX"},
		{"26 levels of spreads ending in __typename", Config{},
			spreadBomb(26, "__typename"), "QUERY_TOO_COMPLEX"},
		{"spreads inside an introspection field", Config{Introspection: true},
			`{ __schema { types { ...T } } } fragment T on __Type { ...U ...U ...U ...U ...U ...U ...U ...U ...U ...U }
			 fragment U on __Type { ...V ...V ...V ...V ...V ...V ...V ...V ...V ...V } fragment V on __Type { a: name b: name c: name d: name e: name f: name g: name h: name i: name j: name }`,
			"QUERY_TOO_COMPLEX"},
		{"inline fragments count", Config{MaxFields: 50},
			"{ " + strings.Repeat("... on Query { __typename } ", 30) + "}", "QUERY_TOO_COMPLEX"},
		{"900 conflicting aliases of product (27 KB)", Config{},
			conflictingAliases(900), "QUERY_TOO_COMPLEX"},
		{"400 conflicting aliases of product, under the field limit", Config{},
			conflictingAliases(400), "QUERY_TOO_COMPLEX"},
		{"400 conflicting aliases in an unused fragment", Config{},
			"{ __typename } fragment U on Query " + conflictingAliases(400), "QUERY_TOO_COMPLEX"},
		{"1,000 fields in an unused fragment", Config{},
			"{ __typename } fragment U on Query { " + strings.Repeat("__typename ", 1000) + "}", "QUERY_TOO_COMPLEX"},
		{"300 fragments spread together", Config{},
			manyFragments(300), "QUERY_TOO_COMPLEX"},
		{"fragment cycle", Config{},
			"{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", "GRAPHQL_VALIDATION_FAILED"},
		{"duplicate fragment names", Config{},
			"{ ...A } fragment A on Query { __typename } fragment A on Query { itemGroups { id } }", "GRAPHQL_VALIDATION_FAILED"},
		{"too deep through a fragment", Config{MaxDepth: 3},
			"{ ...A } fragment A on Query { viewer { orders { nodes { id } } } }", "QUERY_TOO_COMPLEX"},
		{"introspection hidden in a fragment, off", Config{},
			"{ ...A } fragment A on Query { __schema { queryType { name } } }", "BAD_USER_INPUT"},
		{"number out of int64 in a Decimal argument", Config{},
			`{ product(code: "ART-1") { price(quantity: 99999999999999999999) { quantity } } }`, "BAD_USER_INPUT"},
		{"number out of float64 in a Decimal argument", Config{},
			`{ product(code: "ART-1") { price(quantity: 1e400) { quantity } } }`, "BAD_USER_INPUT"},
		{"number out of range in a variable's default", Config{},
			`query($q: Decimal = 123456789012345678901234567890) { product(code: "ART-1") { price(quantity: $q) { quantity } } }`, "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, counter := newCountingServer(t, tt.cfg)
			res := do(t, h, post(tt.query))
			if got := errorCodes(res.body); len(got) != 1 || got[0] != tt.wantCode {
				t.Errorf("codes = %v, want [%s]: %.500s", got, tt.wantCode, res.raw)
			}
			if _, ok := res.body["data"]; ok {
				t.Errorf("a refused request has a data entry: %.300s", res.raw)
			}
			if n := counter.visits.Load(); n != 0 {
				t.Errorf("validation visited %d nodes of a refused document", n)
			}
			if len(res.raw) > maxAbuseAnswer {
				t.Errorf("answer is %d bytes", len(res.raw))
			}
			t.Logf("%d bytes sent: %s", len(tt.query), res.raw)
		})
	}

	// The counter does count: documents within the limits are validated.
	for _, q := range []string{"{ itemGroups { id } }", introspectionQuery,
		spreadBomb(3, "__typename"), conflictingAliases(2)} {
		h, counter := newCountingServer(t, Config{Introspection: true})
		res := do(t, h, post(q))
		if n := counter.visits.Load(); n == 0 {
			t.Errorf("validation did not run for %.40q: %s", q, res.raw)
		}
	}
}

func TestAbusiveDocumentsMemoryFlat(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cfg   Config
		query string
	}{
		{"spread bomb, introspection off", Config{}, spreadBomb(26, `__type(name: "Query") { name }`)},
		{"spread bomb, introspection on", Config{Introspection: true}, spreadBomb(26, `__type(name: "Query") { name }`)},
		{"900 conflicting aliases", Config{}, conflictingAliases(900)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestServer(t, tt.cfg, nil)
			body, _ := json.Marshal(map[string]any{"query": tt.query})
			send := func() int {
				r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				return rec.Body.Len()
			}
			send()
			before := heapAfterGC()
			largest := 0
			for range 100 {
				largest = max(largest, send())
			}
			after := heapAfterGC()
			grew := int64(after) - int64(before)
			t.Logf("heap %d -> %d bytes (%+d) over 100 requests; largest answer %d bytes", before, after, grew, largest)
			// Generous: the attack of issue 17 took the process from 68 MB to 798 MB.
			if grew > 8<<20 {
				t.Errorf("heap grew by %d bytes over 100 refused requests", grew)
			}
			if largest > maxAbuseAnswer {
				t.Errorf("largest answer %d bytes", largest)
			}
		})
	}
}

// TestValidationErrorsCapped: a document within every limit that still has
// hundreds of validation errors (unknown fields, differing arguments under
// the pair limit) gets at most MaxErrors of them and a small answer.
func TestValidationErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 600 {
		fmt.Fprintf(&b, " f%d: nope%d", i, i)
	}
	for i := range 100 { // 4,950 conflicting pairs
		fmt.Fprintf(&b, ` p: product(code: "A%d") { id }`, i)
	}
	b.WriteString(" }")
	h, counter := newCountingServer(t, Config{})
	before := heapAfterGC()
	var res response
	for range 100 {
		res = do(t, h, post(b.String()))
	}
	grew := int64(heapAfterGC()) - int64(before)
	if counter.visits.Load() == 0 {
		t.Fatal("validation did not run")
	}
	errs, _ := res.body["errors"].([]any)
	if len(errs) != MaxErrors {
		t.Errorf("%d errors, want %d", len(errs), MaxErrors)
	}
	for _, c := range errorCodes(res.body) {
		if c != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("code %s", c)
		}
	}
	ext, _ := res.body["extensions"].(map[string]any)
	if ext["errorsTruncated"] != true {
		t.Errorf("extensions = %v, want errorsTruncated", ext)
	}
	if len(res.raw) > maxAbuseAnswer {
		t.Errorf("answer is %d bytes", len(res.raw))
	}
	if grew > 8<<20 {
		t.Errorf("heap grew by %d bytes over 100 requests", grew)
	}
	t.Logf("%d bytes sent, answer %d bytes, heap %+d bytes over 100 requests", b.Len(), len(res.raw), grew)
}

// TestExecutionErrorsCapped: errors raised while executing are capped too.
func TestExecutionErrorsCapped(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	var b strings.Builder
	b.WriteString("{")
	for i := range 30 {
		fmt.Fprintf(&b, ` o%d: order(id: "x%d") { id }`, i, i)
	}
	b.WriteString(" }")
	res := do(t, h, post(b.String()))
	errs, _ := res.body["errors"].([]any)
	ext, _ := res.body["extensions"].(map[string]any)
	if len(errs) != MaxErrors || ext["errorsTruncated"] != true {
		t.Errorf("%d errors, extensions %v; want %d and errorsTruncated: %.300s", len(errs), ext, MaxErrors, res.raw)
	}
	if _, ok := res.body["data"]; !ok {
		t.Errorf("no data entry: %.300s", res.raw)
	}
}

func TestNoSuggestions(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	for _, q := range []string{
		"{ itemGroup { id } }",                    // field
		`{ product(cod: "x") { id } }`,            // argument
		"query($q: Decima) { itemGroups { id } }", // type
		"{ itemGroups }",                          // leaf
		`mutation { placeOrder(input: { idempotencyKey: "k", line: [] }) { userErrors { code } } }`, // input field
		`query($f: Int) { products(first: $f) { nodez } }`,                                          // field on a connection
		`{ product(code: "x") { price(quantity: true) { quantity } } }`,                             // value
	} {
		res := do(t, h, post(q))
		if len(errorCodes(res.body)) == 0 {
			t.Errorf("%s: no error: %s", q, res.raw)
		}
		if strings.Contains(strings.ToLower(res.raw), "did you mean") {
			t.Errorf("%s: answer suggests: %s", q, res.raw)
		}
	}
}

func TestGuardStopsWhenClientLeaves(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 900 {
		fmt.Fprintf(&b, " a%d: __typename", i)
	}
	b.WriteString(" }")
	doc, err := parser.ParseQuery(&ast.Source{Input: b.String()})
	if err != nil {
		t.Fatal(err)
	}
	lim := docLimits{maxDepth: 12, maxFields: 1000}

	w := newDocWalker(context.Background(), doc, lim)
	if err := w.check(doc); err != nil {
		t.Fatalf("check: %v", err)
	}
	full := w.visits

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = newDocWalker(ctx, doc, lim)
	if gerr := w.check(doc); gerr == nil || gerr.Message != "request cancelled" {
		t.Fatalf("check with the client gone = %v", gerr)
	}
	if w.visits > ctxCheckEvery || w.visits >= full {
		t.Errorf("walked %d selections after the client left (%d for the whole document)", w.visits, full)
	}
}

// TestGuardWalkIsLinear: the guard visits each written selection a bounded
// number of times however much the fragments multiply.
func TestGuardWalkIsLinear(t *testing.T) {
	for _, levels := range []int{10, 26, 60} {
		q := spreadBomb(levels, "__typename")
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		w := newDocWalker(context.Background(), doc, docLimits{maxDepth: 12, maxFields: 1000})
		gerr := w.check(doc)
		written := 2*levels + 2
		if w.visits > 4*written {
			t.Errorf("%d levels: %d visits for %d written selections", levels, w.visits, written)
		}
		if levels >= 10 && (gerr == nil || gerr.Extensions["code"] != "QUERY_TOO_COMPLEX") {
			t.Errorf("%d levels: %v", levels, gerr)
		}
	}
}

func TestMaxQueryBytes(t *testing.T) {
	h := newTestServer(t, Config{MaxQueryBytes: 64}, nil)
	long := "{ itemGroups { id code description } " + strings.Repeat(" ", 40) + "}"
	if res := do(t, h, post(long)); fmt.Sprint(errorCodes(res.body)) != "[QUERY_TOO_COMPLEX]" {
		t.Errorf("long query: %s", res.raw)
	}
	if res := do(t, h, post("{ itemGroups { id } }")); len(errorCodes(res.body)) != 0 {
		t.Errorf("short query: %s", res.raw)
	}

	// A persisted query over the limit is refused and not kept.
	sum := sha256.Sum256([]byte(long))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	send := func(q string) response {
		body, _ := json.Marshal(map[string]any{"query": q, "extensions": ext})
		r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return do(t, h, r)
	}
	if res := send(long); fmt.Sprint(errorCodes(res.body)) != "[QUERY_TOO_COMPLEX]" {
		t.Errorf("long persisted query: %s", res.raw)
	}
	if res := send(""); !strings.Contains(res.raw, "PersistedQueryNotFound") {
		t.Errorf("the refused query was kept: %s", res.raw)
	}
}
