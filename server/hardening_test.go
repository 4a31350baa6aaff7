package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/exactql/exactql/graph"
)

// TestTokenHardening: issue 17 item 11.
func TestTokenHardening(t *testing.T) {
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "u1", "exact_account": testAccount, "exp": testNow.Add(time.Hour).Unix()}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
				continue
			}
			c[k] = v
		}
		return c
	}
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, testSecret, c) }
	withCrit := func(c jwt.MapClaims, crit any) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		tok.Header["crit"] = crit
		tok.Header["exp-ext"] = true
		s, err := tok.SignedString(testSecret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name    string
		cfg     Config
		token   string
		wantMsg string // "" means accepted
	}{
		{"exp within 24 h", Config{}, hs(claims(jwt.MapClaims{"exp": testNow.Add(24 * time.Hour).Unix()})), ""},
		{"exp 24 h out, clock a little behind the minter's", Config{}, hs(claims(jwt.MapClaims{"exp": testNow.Add(24*time.Hour + 30*time.Second).Unix()})), ""},
		{"exp 25 h out", Config{}, hs(claims(jwt.MapClaims{"exp": testNow.Add(25 * time.Hour).Unix()})), "bearer token expires too far in the future"},
		{"exp in 100 years", Config{}, hs(claims(jwt.MapClaims{"exp": testNow.AddDate(100, 0, 0).Unix()})), "bearer token expires too far in the future"},
		{"no exp", Config{}, hs(claims(jwt.MapClaims{"exp": nil})), "invalid bearer token"},
		{"configured max TTL", Config{JWTMaxTTL: 30 * time.Minute}, hs(claims(nil)), "bearer token expires too far in the future"},
		{"crit header", Config{}, withCrit(claims(nil), []string{"exp-ext"}), "invalid bearer token"},
		{"empty crit header", Config{}, withCrit(claims(nil), []string{}), "invalid bearer token"},
		{"iss and aud not configured", Config{}, hs(claims(jwt.MapClaims{"iss": "anyone", "aud": "anything"})), ""},
		{"right iss", Config{JWTIssuer: "https://shop.example"}, hs(claims(jwt.MapClaims{"iss": "https://shop.example"})), ""},
		{"wrong iss", Config{JWTIssuer: "https://shop.example"}, hs(claims(jwt.MapClaims{"iss": "https://evil.example"})), "invalid bearer token"},
		{"no iss", Config{JWTIssuer: "https://shop.example"}, hs(claims(nil)), "invalid bearer token"},
		{"right aud", Config{JWTAudience: "exactql"}, hs(claims(jwt.MapClaims{"aud": "exactql"})), ""},
		{"aud list with ours", Config{JWTAudience: "exactql"}, hs(claims(jwt.MapClaims{"aud": []string{"other", "exactql"}})), ""},
		{"wrong aud", Config{JWTAudience: "exactql"}, hs(claims(jwt.MapClaims{"aud": "other"})), "invalid bearer token"},
		{"no aud", Config{JWTAudience: "exactql"}, hs(claims(nil)), "invalid bearer token"},
		{"SignTokenWithRules names iss and aud", Config{JWTIssuer: "https://shop.example", JWTAudience: "exactql"},
			signWithRules(t, TokenRules{Issuer: "https://shop.example", Audience: "exactql"}), ""},
		{"SignTokenWithRules, other audience", Config{JWTIssuer: "https://shop.example", JWTAudience: "exactql"},
			signWithRules(t, TokenRules{Issuer: "https://shop.example", Audience: "other"}), "invalid bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestServer(t, tt.cfg, nil)
			res := do(t, h, post("{ viewer { id } }", "Authorization", "Bearer "+tt.token))
			if tt.wantMsg == "" {
				want := map[string]any{"data": map[string]any{"viewer": map[string]any{"id": testAccount}}}
				if diff := cmp.Diff(want, res.body); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			if res.status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", res.status)
			}
			want := map[string]any{"errors": []any{map[string]any{
				"message": tt.wantMsg, "extensions": map[string]any{"code": "UNAUTHENTICATED"},
			}}}
			if diff := cmp.Diff(want, res.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func signWithRules(t *testing.T, rules TokenRules) string {
	t.Helper()
	tok, err := SignTokenWithRules(testSecret, "u1", testAccount, "", time.Hour, testNow, rules)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestCacheHeaders: issue 17 item 12. Answers to requests with a token are
// private and not stored; every GraphQL answer varies by Authorization.
func TestCacheHeaders(t *testing.T) {
	h := newTestServer(t, Config{CORSOrigins: []string{"https://shop.example"}}, nil)
	buyer, err := SignToken(testSecret, "user-1", testAccount, "", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		header     []string
		wantStatus int
		wantCache  string
	}{
		{"buyer", []string{"Authorization", "Bearer " + buyer}, 200, "private, no-store"},
		{"buyer, CORS", []string{"Authorization", "Bearer " + buyer, "Origin", "https://shop.example"}, 200, "private, no-store"},
		{"bad token", []string{"Authorization", "Bearer nope"}, 401, "no-store"},
		{"anonymous", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, h, post("{ viewer { id } }", tt.header...))
			if res.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", res.status, tt.wantStatus)
			}
			if got := res.header.Get("Cache-Control"); got != tt.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.wantCache)
			}
			if vary := strings.Join(res.header.Values("Vary"), ","); !strings.Contains(vary, "Authorization") {
				t.Errorf("Vary = %q, want Authorization among it", vary)
			}
		})
	}
}

// TestDecimalOutOfRangeNotAFault: issue 17 item 12. A number literal no Go
// type holds in a Decimal argument is BAD_USER_INPUT, and nothing is logged
// as a fault (no stack).
func TestDecimalOutOfRangeNotAFault(t *testing.T) {
	var logs bytes.Buffer
	h := newTestServer(t, Config{}, &logs)
	for _, lit := range []string{"99999999999999999999", "1e400", "-1e999", "123456789012345678901234567890"} {
		res := do(t, h, post(`{ product(code: "ART-1") { price(quantity: `+lit+`) { quantity } } }`))
		if got := errorCodes(res.body); len(got) != 1 || got[0] != "BAD_USER_INPUT" {
			t.Errorf("%s: %s", lit, res.raw)
		}
	}
	// The same numbers as JSON variables, which keep their digits: twenty
	// integer digits are a Decimal (ParseDecimal's limit), more are not.
	for _, num := range []string{"1e400", "-1e999", "123456789012345678901234567890"} {
		body := `{"query": "query($q: Decimal) { product(code: \"ART-1\") { price(quantity: $q) { quantity } } }", "variables": {"q": ` + num + `}}`
		r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		res := do(t, h, r)
		if got := errorCodes(res.body); len(got) != 1 || got[0] != "BAD_USER_INPUT" {
			t.Errorf("variable %s: %s", num, res.raw)
		}
	}
	if s := logs.String(); strings.Contains(s, "stack") || strings.Contains(s, "panic") {
		t.Errorf("logged as a fault: %s", s)
	}
}

func TestByteLRU(t *testing.T) {
	ctx := context.Background()
	c := newByteLRU(1000, func(_ string, v string) int64 { return int64(len(v)) })
	c.Add(ctx, "a", strings.Repeat("a", 100))
	c.Add(ctx, "b", strings.Repeat("b", 100))
	c.Add(ctx, "huge", strings.Repeat("h", 126)) // over an eighth of the budget: not kept
	if _, ok := c.Get(ctx, "huge"); ok {
		t.Error("an entry over an eighth of the budget was kept")
	}
	if _, ok := c.Get(ctx, "a"); !ok { // a is now the most recently used
		t.Fatal("a missing")
	}
	for i := range 9 {
		c.Add(ctx, fmt.Sprint(i), strings.Repeat("x", 100))
	}
	n, bytes := c.stats()
	if bytes > 1000 {
		t.Errorf("%d bytes kept, budget 1000", bytes)
	}
	if _, ok := c.Get(ctx, "b"); ok {
		t.Error("the least recently used entry was not evicted")
	}
	if _, ok := c.Get(ctx, "a"); !ok {
		t.Error("a recently used entry was evicted")
	}
	if n != 10 || bytes != 1000 {
		t.Errorf("stats = %d entries, %d bytes; want 10, 1000", n, bytes)
	}
	c.Add(ctx, "a", "short") // replacing adjusts the size
	if _, bytes := c.stats(); bytes != 905 {
		t.Errorf("after replacing: %d bytes, want 905", bytes)
	}
}

// TestQueryCacheBoundedByBytes: 1,000 distinct documents of the largest
// accepted size keep the cache within its byte budget.
func TestQueryCacheBoundedByBytes(t *testing.T) {
	docs := newByteLRU(1<<20, documentBytes)
	ctx := context.Background()
	pad := strings.Repeat(" ", DefaultMaxQueryBytes-100)
	for i := range 1000 {
		q := fmt.Sprintf("{ a%d: itemGroups { id } }%s", i, pad)
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		docs.Add(ctx, q, doc)
	}
	n, b := docs.stats()
	if b > 1<<20 || n == 0 {
		t.Errorf("%d entries, %d bytes; budget %d", n, b, 1<<20)
	}
	t.Logf("%d entries, %d estimated bytes", n, b)
}

// TestDocumentSizeEstimate: documentBytes is at least the heap a parsed,
// validated document keeps (measured), and not wildly more.
func TestDocumentSizeEstimate(t *testing.T) {
	es := graph.NewExecutableSchema(graph.Config{Resolvers: testRoot{}})
	var wide strings.Builder
	wide.WriteString("{")
	for i := range 900 {
		fmt.Fprintf(&wide, "a%d:__typename ", i)
	}
	wide.WriteString("}")
	var products strings.Builder
	products.WriteString("{")
	for i := range 300 {
		fmt.Fprintf(&products, ` p%d: product(code: "A%d") { id price(quantity: "2") { quantity } }`, i, i)
	}
	products.WriteString("}")
	for _, q := range []string{introspectionQuery, "{ itemGroups { id } }", wide.String(), products.String()} {
		const n = 100
		kept := make([]*ast.QueryDocument, n)
		keys := make([]string, n)
		before := heapAfterGC()
		for i := range kept {
			keys[i] = strings.Clone(q)
			doc, err := parser.ParseQuery(&ast.Source{Input: keys[i]})
			if err != nil {
				t.Fatal(err)
			}
			validator.ValidateWithRules(es.Schema(), doc, nil)
			kept[i] = doc
		}
		measured := float64(heapAfterGC()-before) / n
		runtime.KeepAlive(kept)
		runtime.KeepAlive(keys)
		est := float64(documentBytes(q, kept[0]))
		t.Logf("%d bytes of query: %.0f bytes measured, %.0f estimated", len(q), measured, est)
		if est < measured || est > 4*measured {
			t.Errorf("%d bytes of query: estimate %.0f, measured %.0f", len(q), est, measured)
		}
	}
}
