package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/oauth2"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/callerlimit"
	"github.com/exactql/exactql/server/metrics"
)

// scrape GETs /metrics from m's handler and parses the text format.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// series renders every series of family name as "label=value,… value"
// (histograms: their sample count), sorted, so tests compare whole
// families. A missing family gives nil.
func series(fams map[string]*dto.MetricFamily, name string) []string {
	f := fams[name]
	if f == nil {
		return nil
	}
	var out []string
	for _, mt := range f.GetMetric() {
		var labels []string
		for _, l := range mt.GetLabel() {
			labels = append(labels, l.GetName()+"="+l.GetValue())
		}
		var v float64
		switch {
		case mt.Counter != nil:
			v = mt.GetCounter().GetValue()
		case mt.Gauge != nil:
			v = mt.GetGauge().GetValue()
		case mt.Histogram != nil:
			v = float64(mt.GetHistogram().GetSampleCount())
		case mt.Untyped != nil:
			v = mt.GetUntyped().GetValue()
		}
		out = append(out, strings.Join(labels, ",")+" "+strconv.FormatFloat(v, 'g', -1, 64))
	}
	sort.Strings(out)
	return out
}

// fakeSchema is a tiny executable schema: type Query { a: String }.
// Operation names steer what it answers.
type fakeSchema struct{ schema *ast.Schema }

func newFakeSchema(t *testing.T) fakeSchema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "fake.graphqls", Input: "type Query { a: String }"})
	if err != nil {
		t.Fatalf("LoadSchema: %v", err)
	}
	return fakeSchema{schema: s}
}

func (f fakeSchema) Schema() *ast.Schema { return f.schema }

func (fakeSchema) Complexity(context.Context, string, string, int, map[string]any) (int, bool) {
	return 0, false
}

func (fakeSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation.Name == "Early" {
		// An error raised before any response: gqlgen answers it without
		// running the response middleware.
		graphql.AddError(ctx, &gqlerror.Error{Message: "early", Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}})
	}
	done := false
	return func(ctx context.Context) *graphql.Response {
		if done {
			return nil
		}
		done = true
		switch oc.Operation.Name {
		case "Fail":
			graphql.AddError(ctx, &gqlerror.Error{Message: "gone", Extensions: map[string]any{"code": "NOT_FOUND"}})
			graphql.AddError(ctx, &gqlerror.Error{Message: "gone too", Extensions: map[string]any{"code": "NOT_FOUND"}})
		case "NoCode":
			graphql.AddError(ctx, gqlerror.Errorf("plain"))
		}
		return &graphql.Response{Data: json.RawMessage(`{"a":"x"}`)}
	}
}

func TestGraphQLOperations(t *testing.T) {
	m := metrics.New(metrics.Options{MaxOperations: 4, NoRuntimeMetrics: true})
	srv := handler.New(newFakeSchema(t))
	srv.AddTransport(transport.POST{})
	srv.Use(m.GraphQLExtension())

	long := "Q" + strings.Repeat("x", 70)
	reqs := []struct {
		query, operationName string
	}{
		{query: "query Ok { a }"},
		{query: "query Ok { a }", operationName: "Ok"},
		{query: "query Fail { a }"},
		{query: "query NoCode { a }"},
		{query: "{ a }"},                                    // anonymous
		{query: "query Early { a }"},                        // fourth name: admitted
		{query: "query Extra { a }"},                        // beyond the cap of 4
		{query: "query " + long + " { a }"},                 // too long a name
		{query: "query { a"},                                // parse error, anonymous
		{query: "query Ok { nope }", operationName: "Ok"},   // validation error, known name
		{query: "query Zzz { nope }", operationName: "Zzz"}, // validation error, unknown name
	}
	for _, r := range reqs {
		body, _ := json.Marshal(map[string]string{"query": r.query, "operationName": r.operationName})
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `"a":"x"`) && !strings.Contains(rec.Body.String(), `"errors"`) {
			t.Fatalf("%q: unexpected answer %s", r.query, rec.Body)
		}
	}

	fams := scrape(t, m)
	wantRequests := []string{
		"operation=Early 1",
		"operation=Fail 1",
		"operation=NoCode 1",
		"operation=Ok 3",
		"operation=anonymous 2",
		"operation=other 3",
	}
	if diff := cmp.Diff(wantRequests, series(fams, "exactql_graphql_requests_total")); diff != "" {
		t.Errorf("exactql_graphql_requests_total (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRequests, series(fams, "exactql_graphql_request_duration_seconds")); diff != "" {
		t.Errorf("exactql_graphql_request_duration_seconds sample counts (-want +got):\n%s", diff)
	}
	wantErrors := []string{
		"code=GRAPHQL_PARSE_FAILED 1",
		"code=GRAPHQL_VALIDATION_FAILED 2",
		"code=INTERNAL_SERVER_ERROR 1",
		"code=NOT_FOUND 2",
		"code=none 1",
	}
	if diff := cmp.Diff(wantErrors, series(fams, "exactql_graphql_errors_total")); diff != "" {
		t.Errorf("exactql_graphql_errors_total (-want +got):\n%s", diff)
	}
}

// TestGraphQLHooksDirect drives the two hooks by hand with a fake
// response, as gqlgen would, including a fake clock for the latency.
func TestGraphQLHooksDirect(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	m := metrics.New(metrics.Options{Now: func() time.Time { return now }, NoRuntimeMetrics: true})
	oc := &graphql.OperationContext{OperationName: "Products"}
	ctx := graphql.WithOperationContext(t.Context(), oc)
	resp := &graphql.Response{Errors: gqlerror.List{
		{Message: "x", Extensions: map[string]any{"code": "RATE_LIMITED"}},
		{Message: "y", Extensions: map[string]any{"code": "not a valid code!"}},
	}}
	h := m.AroundOperations(ctx, func(ctx context.Context) graphql.ResponseHandler {
		return func(ctx context.Context) *graphql.Response {
			// The response middleware runs inside the operation and must not
			// count the request a second time.
			return m.AroundResponses(ctx, func(context.Context) *graphql.Response {
				now = now.Add(300 * time.Millisecond)
				return resp
			})
		}
	})
	if got := h(ctx); got != resp {
		t.Fatalf("the hooks changed the response")
	}
	if got := h(ctx); got != resp { // a second call (subscription event) is not counted again
		t.Fatalf("the hooks changed the response")
	}

	fams := scrape(t, m)
	if diff := cmp.Diff([]string{"operation=Products 1"}, series(fams, "exactql_graphql_requests_total")); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"code=RATE_LIMITED 1", "code=other 1"}, series(fams, "exactql_graphql_errors_total")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	h0 := fams["exactql_graphql_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if got := h0.GetSampleSum(); got != 0.3 {
		t.Errorf("latency sum = %v, want 0.3", got)
	}
}

func TestExactCallsAndBudget(t *testing.T) {
	dayReset := time.Now().Add(12 * time.Hour).UnixMilli()
	minReset := time.Now().Add(time.Minute).UnixMilli()
	exact := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "4321")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(dayReset, 10))
		h.Set("X-RateLimit-Minutely-Limit", "60")
		h.Set("X-RateLimit-Minutely-Remaining", "42")
		h.Set("X-RateLimit-Minutely-Reset", strconv.FormatInt(minReset, 10))
		if strings.Contains(r.URL.Path, "Warehouses") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"d":{"results":[]}}`))
	}))
	defer exact.Close()

	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	client, err := erp.New(erp.WithBaseURL(exact.URL), erp.WithDivision(1), erp.WithHTTPClient(exact.Client()),
		erp.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(time.Hour)})),
		erp.WithBackoff(func(int) time.Duration { return 0 }), erp.WithObserver(m))
	if err != nil {
		t.Fatalf("erp.New: %v", err)
	}
	if err := m.WatchExact(client.Stats); err != nil {
		t.Fatalf("WatchExact: %v", err)
	}
	ctx := t.Context()
	if _, err := client.Items.Get(ctx, "8c1a3c52-5b3c-4f47-9a43-2f0b9f1f5e11"); !errors.Is(err, erp.ErrNotFound) {
		t.Fatalf("Items.Get: %v, want ErrNotFound", err)
	}
	if _, err := client.Warehouses.GetByIDs(ctx, []string{"8c1a3c52-5b3c-4f47-9a43-2f0b9f1f5e12"}); err == nil {
		t.Fatalf("Warehouses.GetByIDs: want an error from the 503s")
	}

	// The observer's counts must match the client's own bookkeeping.
	st := client.Stats()
	var want, wantDur []string
	for ep, byStatus := range st.Calls {
		n := 0
		for status, c := range byStatus {
			want = append(want, "endpoint="+ep+",status="+strconv.Itoa(status)+" "+strconv.FormatInt(c, 10))
			n += int(c)
		}
		wantDur = append(wantDur, "endpoint="+ep+" "+strconv.Itoa(n))
	}
	sort.Strings(want)
	sort.Strings(wantDur)
	fams := scrape(t, m)
	if !strings.Contains(strings.Join(want, "\n"), "endpoint=logistics/Items,status=200 1") {
		t.Fatalf("client stats lack the Items call: %v", want)
	}
	if diff := cmp.Diff(want, series(fams, "exactql_exact_calls_total")); diff != "" {
		t.Errorf("exactql_exact_calls_total (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantDur, series(fams, "exactql_exact_call_duration_seconds")); diff != "" {
		t.Errorf("exactql_exact_call_duration_seconds counts (-want +got):\n%s", diff)
	}
	checks := map[string][]string{
		// The governor's own view: Exact's last figures minus what it counted since.
		"exactql_exact_budget_remaining": {
			"window=day " + strconv.Itoa(st.Budget.DayRemaining),
			"window=minute " + strconv.Itoa(st.Budget.MinuteRemaining),
		},
		"exactql_exact_budget_limit":       {"window=day 5000", "window=minute 60"},
		"exactql_exact_blocked":            {" 0"},
		"exactql_exact_rate_limited_total": {" 0"},
		"exactql_exact_retries_total":      {" " + strconv.FormatInt(st.Retries, 10)},
	}
	for name, w := range checks {
		if diff := cmp.Diff(w, series(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if st.Budget.MinuteRemaining <= 0 || st.Budget.MinuteRemaining > 42 || st.Budget.DayRemaining <= 4000 || st.Budget.DayRemaining > 4321 {
		t.Errorf("governor did not take the announced budget: %+v", st.Budget)
	}
	if st.Retries == 0 {
		t.Errorf("the 503s caused no retries; the retry counter was not exercised")
	}
	if err := m.WatchExact(client.Stats); !errors.Is(err, metrics.ErrRegistered) {
		t.Errorf("second WatchExact: %v, want ErrRegistered", err)
	}
}

func TestTokenRefreshes(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	m.ObserveRefresh(erp.RefreshOK, "")
	m.ObserveRefresh(erp.RefreshOK, "")
	m.ObserveRefresh(erp.RefreshConsentNeeded, "Old refresh token used")
	m.ObserveRefresh(erp.RefreshOutcome("surprise"), "")
	want := []string{"outcome=consent_needed 1", "outcome=error 0", "outcome=ok 2", "outcome=other 1", "outcome=too_early 0"}
	if diff := cmp.Diff(want, series(scrape(t, m), "exactql_exact_token_refreshes_total")); diff != "" {
		t.Errorf("exactql_exact_token_refreshes_total (-want +got):\n%s", diff)
	}
}

func TestCacheCounters(t *testing.T) {
	c, err := cache.New(cache.Options{MaxCostBytes: 1 << 20, NumCounters: 1000, Metrics: true})
	if err != nil {
		t.Fatalf("cache.New: %v", err)
	}
	defer c.Close()
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err := m.WatchCache(c.Stats); err != nil {
		t.Fatalf("WatchCache: %v", err)
	}
	ctx := t.Context()
	kind := cache.Kind{Name: "item", TTL: time.Hour, NegativeTTL: time.Hour}
	load := func(v string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			if v == "" {
				return "", cache.ErrNotFound
			}
			return v, nil
		}
	}
	for i := range 3 {
		if _, err := cache.Get(ctx, c, kind, cache.Key(1, "item", "a"), load("A"), nil); err != nil {
			t.Fatalf("Get %d: %v", i, err)
		}
	}
	if _, err := cache.Get(ctx, c, kind, cache.Key(1, "item", "gone"), load(""), nil); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("Get absent: %v", err)
	}
	if _, err := cache.Get(ctx, c, kind, cache.Key(1, "item", "boom"), func(context.Context) (string, error) {
		return "", errors.New("exact down")
	}, nil); err == nil {
		t.Fatalf("Get failing: want error")
	}

	s := c.Stats()
	if s.Loads < 3 || s.Misses < 3 || s.LoadErrors != 1 {
		t.Fatalf("cache did not count as expected: %+v", s)
	}
	fams := scrape(t, m)
	checks := map[string]uint64{
		"exactql_cache_hits_total":          s.Hits,
		"exactql_cache_misses_total":        s.Misses,
		"exactql_cache_stale_served_total":  s.StaleServed,
		"exactql_cache_loads_total":         s.Loads,
		"exactql_cache_load_errors_total":   s.LoadErrors,
		"exactql_cache_refreshes_total":     s.Refreshes,
		"exactql_cache_coalesced_total":     s.Coalesced,
		"exactql_cache_releads_total":       s.Releads,
		"exactql_cache_sets_dropped_total":  s.SetsDropped,
		"exactql_cache_sets_rejected_total": s.SetsRejected,
		"exactql_cache_keys_evicted_total":  s.KeysEvicted,
	}
	for name, v := range checks {
		if diff := cmp.Diff([]string{" " + strconv.FormatUint(v, 10)}, series(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
		if got := fams[name].GetType(); got != dto.MetricType_COUNTER {
			t.Errorf("%s has type %v, want COUNTER", name, got)
		}
	}
}

func TestCallerLimitRefusals(t *testing.T) {
	l, err := callerlimit.New(1, func(context.Context) string { return "sub:alice" }, nil)
	if err != nil {
		t.Fatalf("callerlimit.New: %v", err)
	}
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err := m.WatchCallerLimit(l.Refusals); err != nil {
		t.Fatalf("WatchCallerLimit: %v", err)
	}
	for range 3 {
		_ = l.Allow(t.Context())
	}
	if diff := cmp.Diff([]string{" 2"}, series(scrape(t, m), "exactql_caller_limit_refusals_total")); diff != "" {
		t.Errorf("exactql_caller_limit_refusals_total (-want +got):\n%s", diff)
	}
}

func TestOrders(t *testing.T) {
	st := metrics.OrderStats{
		Outcomes:         map[string]int64{"written": 3, "pending": 1, "not a label!": 2},
		Pending:          2,
		OldestPendingAge: 90 * time.Second,
	}
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err := m.WatchOrders(func() metrics.OrderStats { return st }); err != nil {
		t.Fatalf("WatchOrders: %v", err)
	}
	fams := scrape(t, m)
	checks := map[string][]string{
		"exactql_orders_total":                      {"outcome=other 2", "outcome=pending 1", "outcome=written 3"},
		"exactql_orders_pending":                    {" 2"},
		"exactql_orders_oldest_pending_age_seconds": {" 90"},
		"exactql_orders_journal_up":                 {" 1"},
	}
	for name, w := range checks {
		if diff := cmp.Diff(w, series(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}

	st.JournalErr = errors.New("disk gone")
	fams = scrape(t, m)
	if diff := cmp.Diff([]string{" 0"}, series(fams, "exactql_orders_journal_up")); diff != "" {
		t.Errorf("journal_up with a journal error (-want +got):\n%s", diff)
	}
	if got := series(fams, "exactql_orders_pending"); got != nil {
		t.Errorf("pending reported despite the journal error: %v", got)
	}
}

func TestPanickingSourceDoesNotBreakScrape(t *testing.T) {
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err := m.WatchOrders(func() metrics.OrderStats { panic("boom") }); err != nil {
		t.Fatalf("WatchOrders: %v", err)
	}
	m.ObserveCall("logistics/Items", "GET", 200, time.Second)
	fams := scrape(t, m)
	if diff := cmp.Diff([]string{"endpoint=logistics/Items,status=200 1"}, series(fams, "exactql_exact_calls_total")); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestEndpointLabelsAreBounded(t *testing.T) {
	m := metrics.New(metrics.Options{MaxEndpoints: 2, NoRuntimeMetrics: true})
	for _, ep := range []string{"logistics/Items", "current/Me", "crm/Accounts", "bad endpoint?x=1"} {
		m.ObserveCall(ep, "GET", 0, time.Millisecond)
	}
	want := []string{"endpoint=current/Me,status=0 1", "endpoint=logistics/Items,status=0 1", "endpoint=other,status=0 2"}
	if diff := cmp.Diff(want, series(scrape(t, m), "exactql_exact_calls_total")); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestRuntimeMetricsOnByDefault(t *testing.T) {
	fams := scrape(t, metrics.New(metrics.Options{}))
	if fams["go_goroutines"] == nil {
		t.Errorf("go_goroutines missing from the default registry")
	}
}

func TestTokenStatus(t *testing.T) {
	st := erp.TokenStatus{OK: true}
	m := metrics.New(metrics.Options{NoRuntimeMetrics: true})
	if err := m.WatchToken(func(ctx context.Context) erp.TokenStatus {
		if _, ok := ctx.Deadline(); !ok {
			t.Errorf("WatchToken: status read without a deadline")
		}
		return st
	}); err != nil {
		t.Fatalf("WatchToken: %v", err)
	}
	read := func() []string {
		fams := scrape(t, m)
		return append(series(fams, "exactql_exact_token_ok"), series(fams, "exactql_exact_consent_needed")...)
	}
	if diff := cmp.Diff([]string{" 1", " 0"}, read()); diff != "" {
		t.Errorf("healthy chain (-want +got):\n%s", diff)
	}
	st = erp.TokenStatus{ConsentNeeded: true, Reason: "Old refresh token used"}
	if diff := cmp.Diff([]string{" 0", " 1"}, read()); diff != "" {
		t.Errorf("broken chain (-want +got):\n%s", diff)
	}
}
