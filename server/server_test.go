package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph"
	"github.com/exactql/exactql/graph/model"
	"github.com/exactql/exactql/resolvers"
)

var (
	testSecret = []byte("test-secret-0123456789abcdef")
	testNow    = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
)

const (
	testAccount = "1f0e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	testContact = "2a0e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
)

// testRoot is a test double of the resolvers: only the Query fields the
// tests use are implemented; everything else is never reached.
type testRoot struct{ graph.ResolverRoot }

func (testRoot) Query() graph.QueryResolver { return testQuery{} }

func (testRoot) Product() graph.ProductResolver { return testProduct{} }

type testProduct struct{ graph.ProductResolver }

// testViewer echoes the price quantity it was asked for, to show how the
// Decimal and Money scalars travel.
type testViewer struct{ model.ProductViewer }

func (testViewer) Price(_ *erp.Item, q *model.Decimal) (*model.Price, error) {
	return &model.Price{
		UnitPrice:          model.NewMoney(q.Mul(decimal.RequireFromString("1.5")), "EUR"),
		ListPrice:          model.NewMoney(decimal.NewFromInt(2), "EUR"),
		DiscountPercentage: model.NewDecimal(decimal.RequireFromString("25.00")),
		Quantity:           *q,
		Source:             model.PriceSourceDefaultPrice,
		ValidUntil:         &model.Date{Year: 2026, Month: time.December, Day: 31},
	}, nil
}

type testQuery struct{ graph.QueryResolver }

func (testQuery) ItemGroups(context.Context) ([]*model.ItemGroup, error) {
	return []*model.ItemGroup{{ID: "g1", Code: "BOLTS", Description: "Bolts"}}, nil
}

// Warehouses marks the request stale, as the cache does when it serves an
// expired entry.
func (testQuery) Warehouses(ctx context.Context) ([]*model.Warehouse, error) {
	cache.MarkStale(ctx)
	return []*model.Warehouse{{ID: "w1", Code: "1", Description: "Main", IsMain: true}}, nil
}

func (testQuery) Product(context.Context, *string, *string) (*model.Product, error) {
	return &model.Product{Item: erp.Item{ID: "i1", Code: "ART-1   ", Description: "Bolt", Unit: "pc      "}, Viewer: testViewer{}}, nil
}

func (testQuery) Products(context.Context, *int, *string, *string, *string, *bool, *string, *model.ProductSort) (*model.ProductConnection, error) {
	return &model.ProductConnection{Edges: []*model.ProductEdge{}, Nodes: []*model.Product{}, PageInfo: &model.PageInfo{}}, nil
}

func (testQuery) ShippingMethods(context.Context) ([]*model.ShippingMethod, error) {
	panic("shipping methods exploded at /secret/path")
}

func (testQuery) Order(_ context.Context, id string) (*model.SalesOrder, error) {
	return nil, &apierr.NotFoundError{What: "order"}
}

// Viewer reflects the caller the server put into the context.
func (testQuery) Viewer(ctx context.Context) (*model.Customer, error) {
	c := resolvers.FromContext(ctx)
	if !c.IsBuyer() {
		return nil, nil
	}
	return &model.Customer{Account: erp.Account{ID: c.Account, Code: c.Subject, Name: c.Contact}}, nil
}

type readiness struct {
	ok      bool
	details map[string]any
}

func (r readiness) Ready(context.Context) (bool, map[string]any) { return r.ok, r.details }

func newTestServer(t *testing.T, cfg Config, logs io.Writer) http.Handler {
	t.Helper()
	cfg.JWTSecret = testSecret
	cfg.Now = func() time.Time { return testNow }
	if logs == nil {
		logs = io.Discard
	}
	h, err := New(cfg, Deps{Logger: zerolog.New(logs), Resolvers: testRoot{}, Readiness: readiness{ok: true}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, h http.Handler, r *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if err := json.Unmarshal(rec.Body.Bytes(), &res.body); err != nil {
		t.Fatalf("response is not JSON (%d): %q", rec.Code, rec.Body.String())
	}
	return res
}

func post(query string, header ...string) *http.Request {
	body, _ := json.Marshal(map[string]any{"query": query})
	r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUnauthorized(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	valid := jwt.MapClaims{"sub": "u1", "exact_account": testAccount, "exp": testNow.Add(time.Hour).Unix()}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	without := func(k string) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, v := range valid {
			if kk != k {
				c[kk] = v
			}
		}
		return c
	}
	with := func(k string, v any) jwt.MapClaims {
		c := without(k)
		c[k] = v
		return c
	}
	noneToken := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)

	tests := []struct {
		name    string
		auth    string
		wantMsg string
	}{
		{"bad signature", "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("other-secret"), valid), "invalid bearer token"},
		{"expired", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, with("exp", testNow.Add(-time.Second).Unix())), "bearer token expired"},
		{"no exp", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, without("exp")), "invalid bearer token"},
		{"no sub", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, without("sub")), "invalid bearer token"},
		{"account not a GUID", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, with("exact_account", "100001")), "invalid bearer token"},
		{"contact not a GUID", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, with("exact_contact", "x' or 1 eq 1")), "invalid bearer token"},
		{"not yet valid", "Bearer " + sign(t, jwt.SigningMethodHS256, testSecret, with("nbf", testNow.Add(time.Hour).Unix())), "invalid bearer token"},
		{"alg none", "Bearer " + noneToken, "invalid bearer token"},
		{"alg RS256", "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, valid), "invalid bearer token"},
		{"alg HS512", "Bearer " + sign(t, jwt.SigningMethodHS512, testSecret, valid), "invalid bearer token"},
		{"garbage", "Bearer not.a.jwt", "invalid bearer token"},
		{"empty token", "Bearer ", "the Authorization header must use the Bearer scheme"},
		{"huge token", "Bearer " + strings.Repeat("a", 5000), "invalid bearer token"},
		{"basic scheme", "Basic dTpw", "the Authorization header must use the Bearer scheme"},
		{"no scheme", sign(t, jwt.SigningMethodHS256, testSecret, valid), "the Authorization header must use the Bearer scheme"},
		{"empty header", "", "the Authorization header must use the Bearer scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post("{ itemGroups { id } }")
			r.Header["Authorization"] = []string{tt.auth}
			res := do(t, h, r)
			if res.status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401", res.status)
			}
			if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want Bearer …", got)
			}
			want := map[string]any{"errors": []any{map[string]any{
				"message":    tt.wantMsg,
				"extensions": map[string]any{"code": "UNAUTHENTICATED"},
			}}}
			if diff := cmp.Diff(want, res.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCallerInContext(t *testing.T) {
	var logs bytes.Buffer
	h := newTestServer(t, Config{}, &logs)
	buyer, err := SignToken(testSecret, "user-1", strings.ToUpper(testAccount), testContact, time.Hour, testNow.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	noAccount, err := SignToken(testSecret, "user-2", "", "", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		auth string
		want any
	}{
		{"anonymous", "", nil},
		{"buyer", "Bearer " + buyer, map[string]any{"id": testAccount, "code": "user-1", "name": testContact}},
		{"lower-case scheme", "bearer " + buyer, map[string]any{"id": testAccount, "code": "user-1", "name": testContact}},
		{"no account reads as anonymous", "Bearer " + noAccount, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post("{ viewer { id code name } }")
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			res := do(t, h, r)
			if res.status != http.StatusOK {
				t.Fatalf("status = %d: %s", res.status, res.raw)
			}
			want := map[string]any{"data": map[string]any{"viewer": tt.want}}
			if diff := cmp.Diff(want, res.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	if strings.Contains(logs.String(), buyer) {
		t.Error("a token was logged")
	}
}

func TestSignTokenRoundTrip(t *testing.T) {
	tok, err := SignToken(testSecret, "u", testAccount, "", 10*time.Minute, testNow)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseToken(testSecret, tok, testNow.Add(9*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(resolvers.Caller{Subject: "u", Account: testAccount}, got); diff != "" {
		t.Errorf("ParseToken (-want +got):\n%s", diff)
	}
	if _, err := ParseToken(testSecret, tok, testNow.Add(11*time.Minute)); !errors.Is(err, errExpiredToken) {
		t.Errorf("after ttl: err = %v, want expired", err)
	}
	for _, bad := range []struct {
		secret       []byte
		sub, account string
		ttl          time.Duration
	}{
		{nil, "u", "", time.Minute},
		{testSecret, "", "", time.Minute},
		{testSecret, "u", "", 0},
		{testSecret, "u", "not-a-guid", time.Minute},
	} {
		if _, err := SignToken(bad.secret, bad.sub, bad.account, "", bad.ttl, testNow); err == nil {
			t.Errorf("SignToken(%q, %q, %q, %v) succeeded", bad.secret, bad.sub, bad.account, bad.ttl)
		}
	}
}

func TestGraphQLTransportsAndNegotiation(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	wantData := map[string]any{"data": map[string]any{"itemGroups": []any{map[string]any{"id": "g1", "code": "BOLTS"}}}}
	get := func(accept string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape("{ itemGroups { id code } }"), nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		return r
	}
	tests := []struct {
		name   string
		req    *http.Request
		wantCT string
	}{
		{"POST no Accept", post("{ itemGroups { id code } }"), "application/json"},
		{"POST json", post("{ itemGroups { id code } }", "Accept", "application/json"), "application/json"},
		{"POST graphql-response", post("{ itemGroups { id code } }", "Accept", "application/graphql-response+json, application/json;q=0.9"), "application/graphql-response+json"},
		{"GET no Accept", get(""), "application/json"},
		{"GET graphql-response", get("application/graphql-response+json"), "application/graphql-response+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, h, tt.req)
			if res.status != http.StatusOK {
				t.Fatalf("status = %d: %s", res.status, res.raw)
			}
			if got := res.header.Get("Content-Type"); got != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantCT)
			}
			if diff := cmp.Diff(wantData, res.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/graphql", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT /graphql = %d, want 405", rec.Code)
	}
}

func errorCodes(body map[string]any) []string {
	var codes []string
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		ext, _ := m["extensions"].(map[string]any)
		code, _ := ext["code"].(string)
		codes = append(codes, code)
	}
	return codes
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		query      string
		accept     string
		wantStatus int
		wantCodes  []string
	}{
		{name: "depth within limit", cfg: Config{MaxDepth: 2},
			query: "{ viewer { id } }", wantStatus: 200},
		{name: "too deep", cfg: Config{MaxDepth: 3},
			query: "{ viewer { orders { nodes { id } } } }", wantStatus: 200, wantCodes: []string{"QUERY_TOO_COMPLEX"}},
		{name: "too deep through fragments", cfg: Config{MaxDepth: 3},
			query:      "query { viewer { ...V } } fragment V on Customer { orders { ... on SalesOrderConnection { nodes { id } } } }",
			wantStatus: 200, wantCodes: []string{"QUERY_TOO_COMPLEX"}},
		{name: "too deep, graphql-response+json", cfg: Config{MaxDepth: 3}, accept: "application/graphql-response+json",
			query: "{ viewer { orders { nodes { id } } } }", wantStatus: 400, wantCodes: []string{"QUERY_TOO_COMPLEX"}},
		{name: "default depth allows the real shapes", cfg: Config{},
			query: "{ viewer { orders { nodes { lines { product { itemGroup { id } price { unitPrice { amount } } } } } } } }", wantStatus: 200},
		{name: "too many fields (aliases)", cfg: Config{MaxFields: 5},
			query: "{ a: itemGroups { id } b: itemGroups { id } c: itemGroups { id } }", wantStatus: 200, wantCodes: []string{"QUERY_TOO_COMPLEX"}},
		{name: "complexity", cfg: Config{MaxComplexity: 100},
			query: "{ products(first: 50) { nodes { id code } } }", wantStatus: 200, wantCodes: []string{"QUERY_TOO_COMPLEX"}},
		{name: "complexity counts default first", cfg: Config{MaxComplexity: 50},
			query: "{ products { nodes { id code } } }", wantStatus: 200, wantCodes: []string{"QUERY_TOO_COMPLEX"}},
		{name: "complexity counts codes", cfg: Config{MaxComplexity: 10},
			query: `{ productsByCode(codes: ["a","b","c","d","e","f"]) { id code } }`, wantStatus: 200, wantCodes: []string{"QUERY_TOO_COMPLEX"}},
		{name: "default complexity allows a full product page", cfg: Config{},
			query: `{ products(first: 100) { pageInfo { hasNextPage endCursor } nodes { id code description unit
				price { unitPrice { amount currencyCode } listPrice { amount currencyCode } discountPercentage source validUntil }
				priceBreaks { minimumQuantity unitPrice { amount } }
				stock { warehouse { id code } onHand available } availableQuantity itemGroup { id description } } } }`,
			wantStatus: 200},
		{name: "complexity within limit", cfg: Config{MaxComplexity: 10},
			query: "{ itemGroups { id code } }", wantStatus: 200},
		{name: "parse error", cfg: Config{},
			query: "{ itemGroups { ", wantStatus: 200, wantCodes: []string{"GRAPHQL_PARSE_FAILED"}},
		{name: "validation error", cfg: Config{},
			query: "{ nope }", wantStatus: 200, wantCodes: []string{"GRAPHQL_VALIDATION_FAILED"}},
		{name: "introspection off", cfg: Config{},
			query: "{ __schema { queryType { name } } }", wantStatus: 200, wantCodes: []string{"BAD_USER_INPUT"}},
		{name: "full introspection query passes the limits", cfg: Config{Introspection: true},
			query: introspectionQuery, wantStatus: 200},
		{name: "introspection on", cfg: Config{Introspection: true},
			query: "{ __schema { queryType { name } } }", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestServer(t, tt.cfg, nil)
			r := post(tt.query)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			res := do(t, h, r)
			if res.status != tt.wantStatus {
				t.Errorf("status = %d, want %d: %s", res.status, tt.wantStatus, res.raw)
			}
			if diff := cmp.Diff(tt.wantCodes, errorCodes(res.body)); diff != "" {
				t.Errorf("error codes (-want +got):\n%s\n%s", diff, res.raw)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	h := newTestServer(t, Config{MaxBodyBytes: 100}, nil)
	query := "{ itemGroups { id } }" + strings.Repeat(" ", 200)
	want := map[string]any{"errors": []any{map[string]any{
		"message":    "request body larger than 100 bytes",
		"extensions": map[string]any{"code": "BAD_USER_INPUT"},
	}}}

	res := do(t, h, post(query))
	if res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", res.status)
	}
	if diff := cmp.Diff(want, res.body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}

	// Without a Content-Length the limit still holds while reading.
	r := post(query)
	r.ContentLength = -1
	r.Body = io.NopCloser(struct{ io.Reader }{r.Body})
	res = do(t, h, r)
	if res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked: status = %d, want 413", res.status)
	}
	if diff := cmp.Diff(want, res.body); diff != "" {
		t.Errorf("chunked: body (-want +got):\n%s", diff)
	}

	if res := do(t, h, post("{ itemGroups { id } }")); res.status != http.StatusOK {
		t.Errorf("small body: status = %d: %s", res.status, res.raw)
	}
}

func TestResolverErrorsAndStale(t *testing.T) {
	var logs bytes.Buffer
	h := newTestServer(t, Config{}, &logs)
	tests := []struct {
		name  string
		query string
		want  map[string]any
	}{
		{"fresh answer has no extensions", "{ itemGroups { id } }",
			map[string]any{"data": map[string]any{"itemGroups": []any{map[string]any{"id": "g1"}}}}},
		{"stale answer says so", "{ warehouses { id isMain } }",
			map[string]any{
				"data":       map[string]any{"warehouses": []any{map[string]any{"id": "w1", "isMain": true}}},
				"extensions": map[string]any{"stale": true},
			}},
		{"not found", `{ order(id: "x") { id } }`,
			map[string]any{
				"data": map[string]any{"order": nil},
				"errors": []any{map[string]any{
					"message": "order not found", "path": []any{"order"},
					"locations":  []any{map[string]any{"line": float64(1), "column": float64(3)}},
					"extensions": map[string]any{"code": "NOT_FOUND"},
				}},
			}},
		{"panic", "{ shippingMethods { id } }",
			map[string]any{
				"data": nil,
				"errors": []any{map[string]any{
					"message": "internal error", "path": []any{"shippingMethods"},
					"extensions": map[string]any{"code": "INTERNAL_SERVER_ERROR"},
				}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, h, post(tt.query))
			if diff := cmp.Diff(tt.want, res.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if strings.Contains(res.raw, "/secret/path") || strings.Contains(res.raw, "goroutine") {
				t.Errorf("response leaks internals: %s", res.raw)
			}
		})
	}
	if !strings.Contains(logs.String(), "/secret/path") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}

func TestHealthAndReadiness(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		ready      Readiness
		wantStatus int
		want       map[string]any
	}{
		{"healthz", "/healthz", readiness{ok: false}, 200, map[string]any{"status": "ok"}},
		{"ready", "/readyz", readiness{ok: true, details: map[string]any{"exact": "ok"}}, 200,
			map[string]any{"status": "ok", "details": map[string]any{"exact": "ok"}}},
		{"not ready", "/readyz", readiness{ok: false, details: map[string]any{"store": "read-only"}}, 503,
			map[string]any{"status": "unavailable", "details": map[string]any{"store": "read-only"}}},
		{"no readiness", "/readyz", nil, 200, map[string]any{"status": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(Config{JWTSecret: testSecret}, Deps{Resolvers: testRoot{}, Readiness: tt.ready})
			if err != nil {
				t.Fatal(err)
			}
			res := do(t, h, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if res.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", res.status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.want, res.body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	var logs bytes.Buffer
	h := newTestServer(t, Config{}, &logs)
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"echoed", "req-123_abc.1:2", true},
		{"generated when absent", "", false},
		{"replaced when unsafe", "bad id\"", false},
		{"replaced when too long", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			if tt.sent != "" {
				r.Header.Set(RequestIDHeader, tt.sent)
			}
			res := do(t, h, r)
			got := res.header.Get(RequestIDHeader)
			if tt.echoed && got != tt.sent {
				t.Errorf("X-Request-ID = %q, want %q", got, tt.sent)
			}
			if !tt.echoed && (len(got) != 32 || got == tt.sent) {
				t.Errorf("X-Request-ID = %q, want a new 32-hex ID", got)
			}
			if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) {
				t.Errorf("request log lacks the ID %q: %s", got, logs.String())
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}, Deps{Resolvers: testRoot{}}); err == nil {
		t.Error("New without a JWT secret succeeded")
	}
	if _, err := New(Config{JWTSecret: testSecret}, Deps{}); err == nil {
		t.Error("New without resolvers succeeded")
	}
}

// FuzzParseToken: token parsing never panics and accepts nothing that was
// not signed with the secret.
func FuzzParseToken(f *testing.F) {
	good, err := SignToken(testSecret, "u", testAccount, testContact, time.Hour, testNow)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", strings.Repeat(".", 10)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ParseToken(testSecret, token, testNow)
		if err != nil {
			if !errors.Is(err, errInvalidToken) && !errors.Is(err, errExpiredToken) {
				t.Fatalf("ParseToken error %v is not one of ours", err)
			}
			return
		}
		if c.Subject == "" || c.Anonymous {
			t.Fatalf("ParseToken accepted %q as %+v", token, c)
		}
	})
}

func TestAutomaticPersistedQuery(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	const query = "{ itemGroups { id } }"
	sum := sha256.Sum256([]byte(query))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	send := func(q string) response {
		body, _ := json.Marshal(map[string]any{"query": q, "extensions": ext})
		r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return do(t, h, r)
	}
	if res := send(""); res.status != http.StatusOK || !strings.Contains(res.raw, "PersistedQueryNotFound") {
		t.Errorf("unknown hash: %d %s", res.status, res.raw)
	}
	want := map[string]any{"data": map[string]any{"itemGroups": []any{map[string]any{"id": "g1"}}}}
	for _, q := range []string{query, ""} {
		res := send(q)
		if diff := cmp.Diff(want, res.body); diff != "" {
			t.Errorf("query %q: body (-want +got):\n%s", q, diff)
		}
	}
}

func TestRecoverPanics(t *testing.T) {
	var logs bytes.Buffer
	ctx := zerolog.New(&logs).WithContext(context.Background())
	h := recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler exploded") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(ctx))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	want := `{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`
	if got := strings.TrimSpace(rec.Body.String()); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	if !strings.Contains(logs.String(), "handler exploded") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}

func TestScalarsEndToEnd(t *testing.T) {
	h := newTestServer(t, Config{}, nil)
	priced := func(qty, unit string) map[string]any {
		return map[string]any{"data": map[string]any{"product": map[string]any{
			"code": "ART-1", "unit": "pc",
			"price": map[string]any{
				"quantity": qty, "unitPrice": map[string]any{"amount": unit, "currencyCode": "EUR"},
				"listPrice": map[string]any{"amount": "2.00"}, "discountPercentage": "25",
				"source": "DEFAULT_PRICE", "validUntil": "2026-12-31",
			},
		}}}
	}
	const fields = "quantity unitPrice { amount currencyCode } listPrice { amount } discountPercentage source validUntil"
	tests := []struct {
		name      string
		query     string
		variables map[string]any
		want      map[string]any
		wantCodes []string
	}{
		{name: "default quantity", query: "{ product(code: \"ART-1\") { code unit price { " + fields + " } } }",
			want: priced("1", "1.50")},
		{name: "string literal", query: "{ product(code: \"ART-1\") { code unit price(quantity: \"2.50\") { " + fields + " } } }",
			want: priced("2.5", "3.75")},
		{name: "number variable", query: "query($q: Decimal) { product(code: \"ART-1\") { code unit price(quantity: $q) { " + fields + " } } }",
			variables: map[string]any{"q": 3}, want: priced("3", "4.50")},
		{name: "float literal", query: "{ product(code: \"ART-1\") { code unit price(quantity: 0.1) { " + fields + " } } }",
			want: priced("0.1", "0.15")},
		{name: "garbage", query: "{ product(code: \"ART-1\") { code price(quantity: \"1e3\") { quantity } } }",
			wantCodes: []string{"BAD_USER_INPUT"}},
		{name: "garbage variable", query: "query($q: Decimal) { product(code: \"ART-1\") { code price(quantity: $q) { quantity } } }",
			variables: map[string]any{"q": "NaN"}, wantCodes: []string{"BAD_USER_INPUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": tt.query, "variables": tt.variables})
			r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			res := do(t, h, r)
			t.Logf("%s", res.raw)
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, res.body); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantCodes, errorCodes(res.body)); diff != "" {
				t.Errorf("error codes (-want +got):\n%s\n%s", diff, res.raw)
			}
		})
	}
}

// introspectionQuery is the shape of the query GraphiQL-style tools send.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`
