package respcache

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// fakeGraphQL stands in for the GraphQL handler: it answers with the
// caller's price (the X-Buyer header plays the authenticated caller) and
// reports the answer through Observe, as server's transport does.
type fakeGraphQL struct {
	calls atomic.Int64
	// op, errs, ext and status shape the next answers.
	op     ast.Operation
	errs   gqlerror.List
	ext    map[string]any
	status int
	// prices per buyer header value.
	prices map[string]string
	// bodies are the request bodies next read.
	bodies []string
}

func (f *fakeGraphQL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
		return
	}
	f.bodies = append(f.bodies, string(b))
	data, _ := json.Marshal(map[string]any{"price": f.prices[r.Header.Get("X-Buyer")]})
	resp := &graphql.Response{Data: data, Errors: f.errs, Extensions: f.ext}
	op := f.op
	if op == "" {
		op = ast.Query
	}
	Observe(r.Context(), op, resp)
	out, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/graphql-response+json")
	if f.status != 0 {
		w.WriteHeader(f.status)
	}
	_, _ = w.Write(out)
}

// headerScope takes the scope from X-Buyer, public without it.
func headerScope(r *http.Request) (Scope, bool) {
	if b := r.Header.Get("X-Buyer"); b != "" {
		s, err := BuyerScope(b)
		return s, err == nil
	}
	return PublicScope(), true
}

func postReq(body, buyer string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if buyer != "" {
		r.Header.Set("X-Buyer", buyer)
	}
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func priceOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var v struct {
		Data struct{ Price string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	return v.Data.Price
}

const pageQuery = `{"query":"{ products(first: 60) { nodes { code price { unitPrice { amount } } } } }"}`

// TestTwoBuyersSameQuery is the isolation proof through the handler: two
// buyers and the public send the same query and each gets its own price,
// first computed, then from the cache. A key without the scope would serve
// the first answer to everyone and fail here.
func TestTwoBuyersSameQuery(t *testing.T) {
	c := newTestCache(t, Options{})
	f := &fakeGraphQL{prices: map[string]string{accountA: "10.00", accountB: "12.50", "": ""}}
	h := c.Handler(f, headerScope, nil)
	want := map[string]string{accountA: "10.00", accountB: "12.50", "": ""}
	for round := range 3 {
		for _, buyer := range []string{accountA, accountB, ""} {
			rec := serve(h, postReq(pageQuery, buyer))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			if got := priceOf(t, rec); got != want[buyer] {
				t.Errorf("round %d, buyer %q: price %q, want %q", round, buyer, got, want[buyer])
			}
			if got := rec.Header().Get("Cache-Control"); got != CacheControl {
				t.Errorf("round %d: Cache-Control %q", round, got)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/graphql-response+json" {
				t.Errorf("round %d: Content-Type %q", round, got)
			}
		}
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("the GraphQL handler ran %d times for 3 scopes × 3 rounds, want 3", n)
	}
	if st := c.Stats(); st.Hits != 6 || st.Misses != 3 {
		t.Errorf("Stats = %+v, want 6 hits and 3 misses", st)
	}
	for i, b := range f.bodies {
		if b != pageQuery {
			t.Errorf("the GraphQL handler read body %d as %q", i, b)
		}
	}
}

// TestNotStored: answers that must not be served again go to the GraphQL
// handler every time.
func TestNotStored(t *testing.T) {
	tests := []struct {
		name  string
		shape func(f *fakeGraphQL)
		body  string
	}{
		{"mutation document", func(*fakeGraphQL) {}, `{"query":"mutation { placeOrder(input: {}) { order { id } } }"}`},
		{"mutation reported by the transport", func(f *fakeGraphQL) { f.op = ast.Mutation }, `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"ab"}}}`},
		{"error", func(f *fakeGraphQL) { f.errs = gqlerror.List{{Message: "order not found"}} }, pageQuery},
		{"stale", func(f *fakeGraphQL) { f.ext = map[string]any{"stale": true} }, pageQuery},
		{"status", func(f *fakeGraphQL) { f.status = http.StatusBadRequest }, pageQuery},
		{"not JSON", func(*fakeGraphQL) {}, `{"query":`},
		{"query not a string", func(*fakeGraphQL) {}, `{"query":1}`},
		{"no query", func(*fakeGraphQL) {}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCache(t, Options{})
			f := &fakeGraphQL{prices: map[string]string{accountA: "10.00"}}
			tt.shape(f)
			h := c.Handler(f, headerScope, nil)
			for range 2 {
				serve(h, postReq(tt.body, accountA))
			}
			if n := f.calls.Load(); n != 2 {
				t.Errorf("the GraphQL handler ran %d times for 2 requests, want 2", n)
			}
			if c.Stats().Entries != 0 {
				t.Error("an answer was stored")
			}
			for i, b := range f.bodies {
				if b != tt.body {
					t.Errorf("the GraphQL handler read body %d as %q, sent %q", i, b, tt.body)
				}
			}
		})
	}
}

func TestGetAndPostShareAnswers(t *testing.T) {
	c := newTestCache(t, Options{})
	f := &fakeGraphQL{prices: map[string]string{accountA: "10.00"}}
	h := c.Handler(f, headerScope, nil)
	q := "query P($n: Int) { products(first: $n) { nodes { code } } }"
	serve(h, postReq(`{"query":"`+q+`","operationName":"P","variables":{"n":60}}`, accountA))
	r := httptest.NewRequest(http.MethodGet, "/graphql?"+url.Values{"query": {q}, "operationName": {"P"}, "variables": {`{"n":60}`}}.Encode(), nil)
	r.Header.Set("X-Buyer", accountA)
	if rec := serve(h, r); priceOf(t, rec) != "10.00" {
		t.Errorf("GET answered %q", rec.Body.String())
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("GET after POST of the same operation ran the handler again (%d runs)", n)
	}
}

func TestScopeRefusedOrUnusual(t *testing.T) {
	c := newTestCache(t, Options{})
	f := &fakeGraphQL{prices: map[string]string{"": "1"}}
	noScope := c.Handler(f, func(*http.Request) (Scope, bool) { return Scope{}, true }, nil)
	refused := c.Handler(f, func(*http.Request) (Scope, bool) { return PublicScope(), false }, nil)
	for range 2 {
		serve(noScope, postReq(pageQuery, ""))
		serve(refused, postReq(pageQuery, ""))
		r := postReq(pageQuery, "")
		r.Header.Set("Content-Type", "text/plain")
		serve(c.Handler(f, headerScope, nil), r)
	}
	if n := f.calls.Load(); n != 6 {
		t.Errorf("handler ran %d times for 6 uncacheable requests", n)
	}
}

// TestBodyReadErrorReachesNext: a body that fails to read (over the size
// limit) fails the same way for the GraphQL handler.
func TestBodyReadErrorReachesNext(t *testing.T) {
	c := newTestCache(t, Options{})
	f := &fakeGraphQL{}
	r := httptest.NewRequest(http.MethodPost, "/graphql", io.MultiReader(strings.NewReader(`{"query":`), errReader{errors.New("too large")}))
	r.Header.Set("Content-Type", "application/json")
	rec := serve(c.Handler(f, headerScope, nil), r)
	if rec.Code != http.StatusBadRequest || !bytes.Contains(rec.Body.Bytes(), []byte("too large")) {
		t.Errorf("answer %d %q, want the read error passed on", rec.Code, rec.Body.String())
	}
}
