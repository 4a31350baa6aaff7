package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
	"github.com/exactql/exactql/store"
)

// TestStoreDeletedWhileRunning: the store file is deleted under the running
// gateway. /readyz fails with the state "replaced", placeOrder answers
// UPSTREAM_UNAVAILABLE before anything reaches Exact, and reads go on.
func TestStoreDeletedWhileRunning(t *testing.T) {
	g := startGateway(t, nil)
	tok := g.token(gen.RulePriceList)
	readyz := func() (int, map[string]any) {
		resp, body := get(t, g.st.URL+"/readyz", nil)
		var b map[string]any
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			t.Fatalf("readyz body %q", body)
		}
		return resp.StatusCode, b
	}
	if code, b := readyz(); code != 200 {
		t.Fatalf("readyz before: %d %v", code, b)
	}
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 1}, &p)
	if err := os.Remove(g.st.Store.Path()); err != nil {
		t.Fatal(err)
	}
	code, b := readyz()
	details, _ := b["details"].(map[string]any)
	if code != http.StatusServiceUnavailable || details["store"] != "replaced" {
		t.Errorf("readyz after deleting the store: %d %v", code, b)
	}
	g.st.Sandbox.ResetCalls()
	r := g.query(tok, placeOrder, map[string]any{"input": map[string]any{"idempotencyKey": "gone-1",
		"lines": []map[string]any{{"productCode": p.Products.Nodes[0].Code, "quantity": "1"}}}})
	if errorCode(r) != "UPSTREAM_UNAVAILABLE" {
		t.Errorf("placeOrder with the store deleted: %+v %s", r.Errors, r.Data)
	}
	if n := g.apiCalls(); n != 0 {
		t.Errorf("a refused order made %d Exact calls:%s", n, g.callLog())
	}
	// Reads do not need the store.
	g.mustQuery(tok, pageQuery, map[string]any{"first": 1}, &p)
	if _, body := get(t, g.st.URL+"/metrics", nil); !strings.Contains(body, "exactql_store_file_ok 0") {
		t.Errorf("/metrics does not report the replaced store")
	}
}

// TestAdminAddr: with EXACTQL_ADMIN_ADDR, /metrics and /readyz are served
// there and not on the public address; /healthz answers on both.
func TestAdminAddr(t *testing.T) {
	g := startGateway(t, map[string]string{"EXACTQL_ADMIN_ADDR": "127.0.0.1:0"})
	if g.st.AdminURL == "" || g.st.AdminURL == g.st.URL {
		t.Fatalf("admin URL %q", g.st.AdminURL)
	}
	for _, tc := range []struct {
		base, path string
		want       int
	}{
		{g.st.URL, "/metrics", 404},
		{g.st.URL, "/readyz", 404},
		{g.st.URL, "/healthz", 200},
		{g.st.AdminURL, "/metrics", 200},
		{g.st.AdminURL, "/readyz", 200},
		{g.st.AdminURL, "/healthz", 200},
		{g.st.AdminURL, "/graphql", 404},
		{g.st.AdminURL, "/demo/tokens", 404},
	} {
		resp, body := get(t, tc.base+tc.path, nil)
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s%s = %d, want %d", tc.base, tc.path, resp.StatusCode, tc.want)
		}
		if tc.path == "/metrics" && tc.want == 200 && !strings.Contains(body, "exactql_exact_token_ok") {
			t.Errorf("admin /metrics lacks the gateway's metrics")
		}
	}
}

// TestReadyzReportsStatesNotErrors: the token endpoint fails with a body
// naming an internal address; /readyz says the chain is unavailable and
// the last refresh failed, but carries no error text, address or path.
func TestReadyzReportsStatesNotErrors(t *testing.T) {
	const internal = "10.20.30.40:8443"
	exact := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, `{"error":"server_error","error_description":"proxy could not reach `+internal+`"}`)
	}))
	defer exact.Close()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SaveToken(ctx, &erp.StoredToken{AccessToken: "a", RefreshToken: "r", Expiry: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{BaseURL: exact.URL, ClientID: "c", ClientSecret: "s", Store: st})
	if _, err := ts.Token(); err == nil {
		t.Fatal("refresh against the failing endpoint succeeded")
	}
	if s := ts.Status(ctx); s.LastError == "" {
		t.Fatal("no last token error recorded; the test would prove nothing")
	}
	h := server.AdminHandler(server.Deps{Logger: zerolog.Nop(),
		Readiness: readiness{store: st, tokens: ts, gov: erp.NewGovernor(erp.GovernorOptions{})}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	body := rec.Body.String()
	for _, leak := range []string{internal, "10.20.30.40", exact.URL, "127.0.0.1", dir, "proxy", "server_error"} {
		if strings.Contains(body, leak) {
			t.Errorf("/readyz body contains %q: %s", leak, body)
		}
	}
	var b struct {
		Status  string
		Details map[string]any
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatal(err)
	}
	if b.Details["store"] != "ok" || b.Details["exact_token_last_refresh"] != "failed" || b.Details["exact_budget"] == nil {
		t.Errorf("/readyz = %d %s", rec.Code, body)
	}
}

// TestImageOfHiddenItem: /images/{id} of an item GraphQL hides (not a
// sales item, or ended) answers 404 and never fetches the picture, while a
// sellable item's picture is served.
func TestImageOfHiddenItem(t *testing.T) {
	g := startGateway(t, nil)
	ctx := context.Background()
	var hidden, shown string
	for it, err := range g.st.Client.Items.List(ctx, erp.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		if it.PictureURL == "" {
			continue
		}
		if !it.IsSalesItem && hidden == "" {
			hidden = it.ID
		}
		if it.IsSalesItem && it.EndDate.IsZero() && bool(it.IsWebshopItem) && shown == "" {
			shown = it.ID
		}
	}
	if hidden == "" || shown == "" {
		t.Fatalf("sandbox data lacks a non-sales item with a picture (%q) or a sellable one (%q)", hidden, shown)
	}
	// GraphQL hides it.
	var d struct{ Product *struct{ ID string } }
	g.mustQuery("", `query($id: ID!) { product(id: $id) { id } }`, map[string]any{"id": hidden}, &d)
	if d.Product != nil {
		t.Fatalf("GraphQL shows the non-sales item %s", hidden)
	}
	pictures := func() int {
		return g.st.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindPicture })
	}
	for range 2 {
		if resp, body := get(t, g.st.URL+"/images/"+hidden, nil); resp.StatusCode != 404 || strings.Contains(body, "PNG") {
			t.Errorf("picture of a hidden item: %d", resp.StatusCode)
		}
	}
	if n := pictures(); n != 0 {
		t.Errorf("a hidden item's picture was fetched %d times", n)
	}
	if resp, _ := get(t, g.st.URL+"/images/"+shown, nil); resp.StatusCode != 200 {
		t.Errorf("picture of a sellable item: %d", resp.StatusCode)
	}
}

// TestTrustedProxyBudgets: behind a trusted proxy (here the loopback the
// test connects from), anonymous callers named by X-Forwarded-For have
// budgets of their own: one client spending its budget does not limit
// another. Without the setting both share the proxy's budget.
func TestTrustedProxyBudgets(t *testing.T) {
	for _, tc := range []struct {
		name             string
		env              map[string]string
		wantBLimited     bool
		clientA, clientB string
	}{
		{"trusted proxy", map[string]string{"EXACTQL_TRUSTED_PROXIES": "127.0.0.1/32,::1/128", "EXACTQL_CALLER_BUDGET": "2"}, false, "198.51.100.1", "198.51.100.2"},
		{"same IPv6 /64", map[string]string{"EXACTQL_TRUSTED_PROXIES": "127.0.0.1/32,::1/128", "EXACTQL_CALLER_BUDGET": "2"}, true, "2001:db8:1:2::a", "2001:db8:1:2::b"},
		{"no trusted proxies", map[string]string{"EXACTQL_CALLER_BUDGET": "2"}, true, "198.51.100.1", "198.51.100.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, tc.env)
			n := 0
			ask := func(xff string) string {
				n++
				body, _ := json.Marshal(map[string]any{"query": `query($c: String!) { product(code: $c) { id } }`,
					"variables": map[string]any{"c": fmt.Sprintf("NOPE-%d", n)}}) // unknown: an Exact call each
				req, _ := http.NewRequest(http.MethodPost, g.st.URL+"/graphql", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", xff)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var r gqlResponse
				if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
					t.Fatal(err)
				}
				return errorCode(r)
			}
			limited := false
			for range 10 {
				if ask(tc.clientA) == "RATE_LIMITED" {
					limited = true
					break
				}
			}
			if !limited {
				t.Fatalf("client A never reached its budget of 2 Exact calls:%s", g.callLog())
			}
			if got := ask(tc.clientB) == "RATE_LIMITED"; got != tc.wantBLimited {
				t.Errorf("client B limited = %v, want %v", got, tc.wantBLimited)
			}
		})
	}
}
