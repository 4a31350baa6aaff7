package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestMetricsAfterRealQueries: /metrics shows operations, error codes, Exact
// calls by endpoint and status, budget, cache and order figures.
func TestMetricsAfterRealQueries(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token(gen.RulePriceList)
	var p pageData
	g.mustQuery(tok, "query ShopPage"+strings.TrimPrefix(pageQuery, "query Page"), map[string]any{"first": 5}, &p)
	g.mustQuery(tok, "query ShopPage"+strings.TrimPrefix(pageQuery, "query Page"), map[string]any{"first": 5}, &p)
	g.query(tok, `query Bad { products(first: 1000) { nodes { id } } }`, nil)
	_, body := get(t, g.st.URL+"/metrics", nil)
	for _, want := range []string{
		`exactql_graphql_requests_total{operation="ShopPage"} 2`,
		`exactql_graphql_errors_total{code="BAD_USER_INPUT"}`,
		`exactql_exact_calls_total{endpoint="logistics/Items",status="200"}`,
		`exactql_exact_budget_remaining{window="minute"}`,
		`exactql_exact_budget_remaining{window="day"}`,
		`exactql_exact_token_refreshes_total{outcome="ok"}`,
		`exactql_cache_hits_total`,
		`exactql_cache_misses_total`,
		`exactql_cache_sets_dropped_total`,
		`exactql_caller_limit_refusals_total`,
		`exactql_orders_pending`,
		`exactql_graphql_request_duration_seconds_bucket{operation="ShopPage"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestImageFetchedOnceThenCached: /images/{id} asks Exact once, then serves
// from the cache; unknown items answer 404 without asking again.
func TestImageFetchedOnceThenCached(t *testing.T) {
	g := startGateway(t, nil)
	var d struct {
		Products struct {
			Nodes []struct {
				ID         string
				PictureURL *string
			}
		}
	}
	g.mustQuery("", `{ products(first: 30) { nodes { id pictureUrl } } }`, nil, &d)
	var url string
	for _, n := range d.Products.Nodes {
		if n.PictureURL != nil {
			url = *n.PictureURL
			break
		}
	}
	if url == "" {
		t.Fatal("no product with a picture on the first page")
	}
	pictures := func() int {
		return g.st.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindPicture })
	}
	var etag string
	for i := range 3 {
		resp, body := get(t, g.st.URL+url, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") || len(body) == 0 {
			t.Fatalf("GET %s #%d: %d %s", url, i, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		etag = resp.Header.Get("ETag")
	}
	if n := pictures(); n != 1 {
		t.Errorf("3 image requests fetched the picture %d times, want 1", n)
	}
	if resp, _ := get(t, g.st.URL+url, map[string]string{"If-None-Match": etag}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	g.st.Sandbox.ResetCalls()
	for range 3 {
		if resp, _ := get(t, g.st.URL+"/images/00000000-0000-4000-8000-000000000000", nil); resp.StatusCode != 404 {
			t.Errorf("unknown item: %d", resp.StatusCode)
		}
	}
	if n := g.apiCalls(); n > 1 {
		t.Errorf("an unknown item asked Exact %d times", n)
	}
}

// TestCORS: allowed origins get CORS headers (preflight included), others none.
func TestCORS(t *testing.T) {
	g := startGateway(t, map[string]string{"EXACTQL_CORS_ORIGINS": "https://shop.example.com"})
	for _, c := range []struct {
		origin string
		allow  bool
	}{{"https://shop.example.com", true}, {"https://evil.example.com", false}} {
		req, _ := http.NewRequest(http.MethodOptions, g.st.URL+"/graphql", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if c.allow && (got != c.origin || !strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "authorization")) {
			t.Errorf("%s preflight: %d allow-origin %q", c.origin, resp.StatusCode, got)
		}
		if !c.allow && got != "" {
			t.Errorf("%s refused origin got Allow-Origin %q", c.origin, got)
		}
		resp2, _ := get(t, g.st.URL+"/healthz", map[string]string{"Origin": c.origin})
		if (resp2.Header.Get("Access-Control-Allow-Origin") != "") != c.allow {
			t.Errorf("%s simple request: Allow-Origin %q", c.origin, resp2.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

// TestCallerBudget: one caller over its budget of Exact calls is refused
// with RATE_LIMITED while another caller is served.
func TestCallerBudget(t *testing.T) {
	g := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "8"})
	greedy, other := g.token(gen.RulePriceList), g.token(gen.RuleDefaultPrice)
	limited := false
	for i := range 10 {
		// Every search is new: each costs Exact calls.
		r := g.query(greedy, `query($s: String) { products(first: 5, search: $s) { nodes { code price { unitPrice { amount } } } } }`,
			map[string]any{"s": "ART-0000" + string(rune('0'+i))})
		if errorCode(r) == "RATE_LIMITED" {
			limited = true
			if s, _ := r.Errors[0].Extensions["retryAfterSeconds"].(float64); s < 1 {
				t.Errorf("retryAfterSeconds = %v", r.Errors[0].Extensions["retryAfterSeconds"])
			}
			break
		}
	}
	if !limited {
		t.Fatal("a caller over its budget was never refused")
	}
	var p pageData
	g.mustQuery(other, pageQuery, map[string]any{"first": 3}, &p)
	if len(p.Products.Nodes) != 3 {
		t.Errorf("other caller got %d products", len(p.Products.Nodes))
	}
}
