package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
)

// The attacks of issue 17 items 1, 2, 6, 11 and 12 against the real wiring,
// with introspection off as in production mode.

// maxAbuseAnswer is the largest answer an attack may get (issue 17).
const maxAbuseAnswer = 64 << 10

// harnessJWTSecret is the secret startGatewayClock configures.
const harnessJWTSecret = "test-secret-test-secret-test-secret-0123"

// rawAnswer is an HTTP answer as received.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
	gql    gqlResponse
}

// postRaw posts body and returns the whole answer; it fails the test when
// the answer is not JSON.
func (g *gateway) postRaw(body []byte, header ...string) rawAnswer {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.st.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := rawAnswer{status: resp.StatusCode, header: resp.Header, body: raw}
	if err := json.Unmarshal(raw, &a.gql); err != nil {
		g.t.Fatalf("answer is not JSON (%d): %.300q", resp.StatusCode, raw)
	}
	return a
}

// spreadBombQuery is issue 17 item 1's document: levels of fragments each
// spreading the one below twice, ending in introspection fields (~1 KB).
func spreadBombQuery(levels int, leaf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { ...F%d }\nfragment F0 on Query { %s }\n", levels, leaf)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// conflictingProductAliases is issue 17 item 2's document: n selections of
// product(code:"Ai") under one response name (27 KB for 900).
func conflictingProductAliases(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, ` p: product(code: "A%d") { id }`, i)
	}
	b.WriteString(" }")
	return b.String()
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestAbuseQueryDocuments: each hostile document is refused with a clear
// typed error in a small answer, costs no Exact call, and 100 repetitions
// leave the heap where it was. Timings are logged, never asserted.
func TestAbuseQueryDocuments(t *testing.T) {
	g := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "100000", "EXACTQL_INTROSPECTION": "false"})
	var p pageData
	g.mustQuery("", pageQuery, map[string]any{"first": 3}, &p) // warm

	intro := `__type(name: "Query") { name fields { name } } __schema { queryType { name } }`
	tests := []struct {
		name     string
		query    string
		wantCode string
	}{
		{"24 levels of spreads ending in __type/__schema", spreadBombQuery(24, intro), "BAD_USER_INPUT"},
		{"26 levels of spreads ending in __type/__schema", spreadBombQuery(26, intro), "BAD_USER_INPUT"},
		{"26 levels of spreads ending in __typename", spreadBombQuery(26, "__typename"), "QUERY_TOO_COMPLEX"},
		{"900 conflicting aliases of product (27 KB)", conflictingProductAliases(900), "QUERY_TOO_COMPLEX"},
		{"400 conflicting aliases of product, under the field limit", conflictingProductAliases(400), "QUERY_TOO_COMPLEX"},
		{"query document over 32 KB", "{ itemGroups { id } }" + strings.Repeat(" ", 33<<10), "QUERY_TOO_COMPLEX"},
		{"Decimal literal out of int64", `{ product(code: "X") { price(quantity: 99999999999999999999) { quantity } } }`, "BAD_USER_INPUT"},
		{"Decimal literal out of float64", `{ product(code: "X") { price(quantity: 1e400) { quantity } } }`, "BAD_USER_INPUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := queryBody(tc.query, nil)
			g.st.Sandbox.ResetCalls()
			start := time.Now()
			a := g.postRaw(body)
			took := time.Since(start)
			if a.status != http.StatusOK || errorCode(a.gql) != tc.wantCode || len(a.gql.Errors) != 1 {
				t.Errorf("status %d errors %+v, want 200 and one %s", a.status, a.gql.Errors, tc.wantCode)
			}
			if a.gql.Data != nil {
				t.Errorf("a refused request has data: %s", a.gql.Data)
			}
			if len(a.body) > maxAbuseAnswer {
				t.Errorf("answer of %d bytes", len(a.body))
			}
			before := heapInUse()
			for range 100 {
				if a := g.postRaw(body); errorCode(a.gql) != tc.wantCode {
					t.Fatalf("repeat: %+v", a.gql.Errors)
				}
			}
			grew := int64(heapInUse()) - int64(before)
			// Generous: the attack of issue 17 took the process from 68 MB to 798 MB.
			if grew > 16<<20 {
				t.Errorf("heap grew by %d bytes over 100 repetitions", grew)
			}
			if n := g.apiCalls(); n != 0 {
				t.Errorf("%d Exact calls, want 0:%s", n, g.callLog())
			}
			t.Logf("%d bytes sent: %d bytes answered in %s (%q); heap %+d bytes after 100 more",
				len(body), len(a.body), took, a.gql.Errors[0].Message, grew)
		})
	}

	// Validation errors past 20 are not sent, and no answer suggests names.
	var b strings.Builder
	b.WriteString("{")
	for i := range 300 {
		fmt.Fprintf(&b, " f%d: itemGroup%d { id }", i, i)
	}
	b.WriteString(" }")
	a := g.postRaw(queryBody(b.String(), nil))
	if len(a.gql.Errors) != server.MaxErrors || a.gql.Extensions["errorsTruncated"] != true {
		t.Errorf("%d errors, extensions %v; want %d and errorsTruncated", len(a.gql.Errors), a.gql.Extensions, server.MaxErrors)
	}
	if strings.Contains(strings.ToLower(string(a.body)), "did you mean") {
		t.Errorf("the answer suggests schema names: %.300s", a.body)
	}

	// Still serving.
	g.mustQuery("", pageQuery, map[string]any{"first": 3}, &p)
}

// TestAbuseTokensAndCacheHeaders: issue 17 items 11 and 12 (HTTP part).
func TestAbuseTokensAndCacheHeaders(t *testing.T) {
	g := startGateway(t, map[string]string{"EXACTQL_JWT_AUDIENCE": "exactql-test"})
	const q = `{ viewer { id } }`
	account := ""
	{
		// The demo buyer's account, from its token.
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(g.token(gen.RulePriceList), claims); err != nil {
			t.Fatal(err)
		}
		account, _ = claims["exact_account"].(string)
	}
	mint := func(ttl time.Duration, header map[string]any, extra jwt.MapClaims) string {
		c := jwt.MapClaims{"sub": "e2e", "exact_account": account, "exp": time.Now().Add(ttl).Unix(), "aud": "exactql-test"}
		for k, v := range extra {
			c[k] = v
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString([]byte(harnessJWTSecret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name       string
		token      string
		wantStatus int
	}{
		{"demo token, minted with the audience", g.token(gen.RulePriceList), http.StatusOK},
		{"one hour", mint(time.Hour, nil, nil), http.StatusOK},
		{"48 hours", mint(48*time.Hour, nil, nil), http.StatusUnauthorized},
		{"ten years", mint(10*365*24*time.Hour, nil, nil), http.StatusUnauthorized},
		{"crit header", mint(time.Hour, map[string]any{"crit": []string{"b64"}, "b64": false}, nil), http.StatusUnauthorized},
		{"other audience", mint(time.Hour, nil, jwt.MapClaims{"aud": "someone-else"}), http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := g.postRaw(queryBody(q, nil), "Authorization", "Bearer "+tc.token)
			if a.status != tc.wantStatus {
				t.Errorf("status %d, want %d: %s", a.status, tc.wantStatus, a.body)
			}
			if tc.wantStatus != http.StatusOK && errorCode(a.gql) != "UNAUTHENTICATED" {
				t.Errorf("errors %+v, want UNAUTHENTICATED", a.gql.Errors)
			}
			if cc := a.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control = %q", cc)
			}
			if tc.wantStatus == http.StatusOK && a.header.Get("Cache-Control") != "private, no-store" {
				t.Errorf("Cache-Control = %q, want private, no-store", a.header.Get("Cache-Control"))
			}
			if !strings.Contains(strings.Join(a.header.Values("Vary"), ","), "Authorization") {
				t.Errorf("Vary = %q", a.header.Values("Vary"))
			}
		})
	}
	// Anonymous answers vary by Authorization too, so a shared cache never
	// hands one to a buyer.
	a := g.postRaw(queryBody(`{ itemGroups { id } }`, nil))
	if a.status != http.StatusOK || !strings.Contains(strings.Join(a.header.Values("Vary"), ","), "Authorization") {
		t.Errorf("anonymous: %d, Vary %q", a.status, a.header.Values("Vary"))
	}
}
