package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// rawPost posts body as it is and decodes the GraphQL answer.
func (g *gateway) rawPost(token string, body []byte) gqlResponse {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.st.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("POST /graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		g.t.Fatalf("answer is not JSON (%d): %.300q", resp.StatusCode, raw)
	}
	out.status = resp.StatusCode
	return out
}

func queryBody(q string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	return b
}

// TestAbuseLimits sends hostile operations to a warm gateway. Each gets a
// clear, typed error and costs no Exact call. Timings are logged for the
// issue note, never asserted.
func TestAbuseLimits(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "100000", "EXACTQL_MAX_DEPTH": "6"})
	tok := g.token(gen.RulePriceList)
	// Warm up, so nothing below is refused merely for lack of cached data.
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 3}, &p)

	wide := func(n int) string {
		var b strings.Builder
		b.WriteString("{ itemGroups { ")
		for i := range n {
			fmt.Fprintf(&b, "f%d: code ", i)
		}
		b.WriteString("} }")
		return b.String()
	}
	aliasFlood := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "p%d: products(first: 100, search: \"x%d\") { nodes { id code price { unitPrice { amount } } stock { available } } } ", i, i)
		}
		b.WriteString("}")
		return b.String()
	}
	cheapAliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "p%d: products(first: 100) { nodes { id } } ", i)
		}
		b.WriteString("}")
		return b.String()
	}
	codes := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("ART-%06d", i)
		}
		return out
	}
	deepBraces := strings.Repeat("{ a ", 5000) + strings.Repeat("} ", 5000)
	hugeString := `{ product(code: "` + strings.Repeat("x", 2<<20) + `") { id } }`
	fragmentBomb := `query { ...F0 }
fragment F0 on Query { itemGroups { ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 ...F1 } }
fragment F1 on ItemGroup { ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 ...F2 }
fragment F2 on ItemGroup { a: id b: code c: description d: id e: code f: description g: id h: code i: description j: id }`

	tests := []struct {
		name       string
		body       []byte
		wantStatus int
		wantCode   string
	}{
		{"nested deeper than EXACTQL_MAX_DEPTH",
			queryBody(`{ viewer { orders { nodes { lines { product { itemGroup { id } } } } } } }`, nil),
			http.StatusOK, "QUERY_TOO_COMPLEX"},
		{"5000 nested selections", queryBody(deepBraces, nil), http.StatusOK, "GRAPHQL_PARSE_FAILED"},
		{"2000 fields in one selection", queryBody(wide(2000), nil), http.StatusOK, "QUERY_TOO_COMPLEX"},
		{"fragments multiplying to 1000+ fields", queryBody(fragmentBomb, nil), http.StatusOK, "QUERY_TOO_COMPLEX"},
		{"alias flood of 200 product pages", queryBody(aliasFlood(200), nil), http.StatusOK, "QUERY_TOO_COMPLEX"},
		{"30 aliased pages of 100, under the field limit", queryBody(cheapAliases(30), nil), http.StatusOK, "QUERY_TOO_COMPLEX"},
		{"5000 productsByCode codes", queryBody(`query($c: [String!]!) { productsByCode(codes: $c) { id code price { unitPrice { amount } } stock { available } } }`,
			map[string]any{"c": codes(5000)}), http.StatusOK, "QUERY_TOO_COMPLEX"},
		{"1000 productsByCode codes, cheap selection", queryBody(`query($c: [String!]!) { productsByCode(codes: $c) { id } }`,
			map[string]any{"c": codes(1000)}), http.StatusOK, "BAD_USER_INPUT"},
		{"2 MiB body", queryBody(hugeString, nil), http.StatusRequestEntityTooLarge, "BAD_USER_INPUT"},
		{"body that is not JSON", []byte(`{"query": "{ itemGroups { id } }"`), http.StatusBadRequest, "BAD_USER_INPUT"},
		{"query of the wrong type", []byte(`{"query": ["{ itemGroups { id } }"]}`), http.StatusBadRequest, "BAD_USER_INPUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.st.Sandbox.ResetCalls()
			start := time.Now()
			r := g.rawPost(tok, tc.body)
			took := time.Since(start)
			if r.status != tc.wantStatus || errorCode(r) != tc.wantCode {
				t.Errorf("status %d code %q (%+v), want %d %s", r.status, errorCode(r), r.Errors, tc.wantStatus, tc.wantCode)
			}
			if len(r.Errors) == 0 || r.Errors[0].Message == "" || r.Errors[0].Message == "internal error" {
				t.Errorf("no clear error message: %+v", r.Errors)
			}
			if n := g.apiCalls(); n != 0 {
				t.Errorf("%d Exact calls, want 0:%s", n, g.callLog())
			}
			t.Logf("%s (%d bytes): %d %s %q in %s", tc.name, len(tc.body), r.status, errorCode(r), r.Errors[0].Message, took)
		})
	}

	// Still serving after all that.
	g.mustQuery(tok, pageQuery, map[string]any{"first": 3}, &p)
}

// TestAbuseSlowClients: a client that trickles its headers, or sends
// headers and then stalls in its body, is cut off by the server's timeouts
// (EXACTQL_READ_HEADER_TIMEOUT, EXACTQL_READ_TIMEOUT; short here so the
// test need not wait the defaults' 10 s and 30 s) without an Exact call,
// and the gateway serves others while both connections hang.
func TestAbuseSlowClients(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "100000",
		"EXACTQL_READ_HEADER_TIMEOUT": "1s", "EXACTQL_READ_TIMEOUT": "2s"})
	tok := g.token(gen.RulePriceList)
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 2}, &p)
	addr := strings.TrimPrefix(g.st.URL, "http://")
	g.st.Sandbox.ResetCalls()

	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
		return c
	}
	start := time.Now()
	// Headers never finished.
	slowHeaders := dial()
	fmt.Fprintf(slowHeaders, "POST /graphql HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr)
	// Headers complete, 5 of the announced bytes of body, then nothing.
	stalled := dial()
	body := string(queryBody(`{ itemGroups { id } }`, nil))
	fmt.Fprintf(stalled, "POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		addr, tok, len(body)+100, body[:5])

	headersDone := make(chan string, 1)
	go func() {
		n, err := io.Copy(io.Discard, slowHeaders)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			headersDone <- "the server kept a half-sent request open for 60 s"
			return
		}
		t.Logf("slow headers: connection closed after %s (%d bytes answered)", time.Since(start), n)
		headersDone <- ""
	}()
	type answer struct {
		status int
		body   string
		err    error
	}
	bodyDone := make(chan answer, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(stalled), nil)
		if err != nil {
			bodyDone <- answer{err: err}
			return
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodyDone <- answer{status: resp.StatusCode, body: strings.TrimSpace(string(raw))}
	}()

	// Both connections hang now; others are served.
	var q pageData
	qs := time.Now()
	g.mustQuery(tok, pageQuery, map[string]any{"first": 2}, &q)
	if len(q.Products.Nodes) != 2 {
		t.Errorf("page has %d products", len(q.Products.Nodes))
	}
	t.Logf("a normal query while two slow clients hang took %s", time.Since(qs))

	if msg := <-headersDone; msg != "" {
		t.Error(msg)
	}
	a := <-bodyDone
	if ne, ok := a.err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server waited 60 s for a stalled body")
	}
	if a.err == nil && (a.status != http.StatusBadRequest || !strings.Contains(a.body, "BAD_USER_INPUT")) {
		t.Errorf("stalled body: %d %s, want 400 BAD_USER_INPUT", a.status, a.body)
	}
	t.Logf("stalled body: %d %s (%v) after %s", a.status, a.body, a.err, time.Since(start))
	// The page query above was served from the cache.
	if n := g.apiCalls(); n != 0 {
		t.Errorf("%d Exact calls, want 0:%s", n, g.callLog())
	}
}
