package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// faultEnv makes the order worker retry quickly (so recovery is seen within
// a test), keeps the per-caller budget out of the way and expires reference
// data at once, so a read of item groups goes to Exact every time and falls
// back to the stale cached value when Exact fails.
var faultEnv = map[string]string{
	"EXACTQL_ORDER_RETRY_BASE":    "20ms",
	"EXACTQL_ORDER_POLL_INTERVAL": "20ms",
	"EXACTQL_CALLER_BUDGET":       "100000",
	"EXACTQL_TTL_REFERENCE":       "1ms",
	// Served-stale answers say so once the data is older than its bound.
	"EXACTQL_FRESHNESS_REFERENCE": "1ms",
	"EXACTQL_UPSTREAM_WAIT":       "200ms",
}

// offsetClock is real time plus an offset a test can move forward, shared by
// the gateway's token source and the sandbox.
type offsetClock struct{ off atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// startGatewayClock runs the real wiring (serve) on 127.0.0.1:0 against a
// fresh in-process sandbox, with the gateway's and sandbox's clock set to now
// (nil: real time), and stops it when the test ends.
func startGatewayClock(t *testing.T, env map[string]string, now func() time.Time) *gateway {
	t.Helper()
	base := map[string]string{
		"EXACTQL_ADDR":              "127.0.0.1:0",
		"EXACTQL_DATA_DIR":          t.TempDir(),
		"EXACTQL_LOG_LEVEL":         "warn",
		"EXACTQL_JWT_SECRET":        "test-secret-test-secret-test-secret-0123",
		"EXACTQL_LOG_FORMAT":        "json",
		"EXACTQL_SANDBOX_ITEMS":     "300",
		"EXACTQL_SANDBOX_CUSTOMERS": "30",
		// The tests written for the wave-1 read path count its Exact calls:
		// they run with the mirror off. Mirror tests set EXACTQL_SYNC=true.
		"EXACTQL_SYNC": "false",
	}
	for k, v := range suiteEnv(t) {
		base[k] = v
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return base[k] })
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	if now != nil {
		cfg.now = now
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan started, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, testLog(t), func(s started) { ready <- s }) }()
	var st started
	select {
	case st = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	g := &gateway{t: t, st: st}
	suiteStarted(t, g)
	return g
}

// eventually polls cond until it holds or timeout passes; the gateway's
// background worker is what makes it true, so polling is the only way to
// observe it from outside.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		<-tick.C
	}
}

type readyBody struct {
	Status  string         `json:"status"`
	Details map[string]any `json:"details"`
}

func (g *gateway) ready() (int, readyBody) {
	g.t.Helper()
	resp, err := http.Get(g.st.URL + "/readyz")
	if err != nil {
		g.t.Fatalf("GET /readyz: %v", err)
	}
	defer resp.Body.Close()
	var b readyBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		g.t.Fatalf("GET /readyz body: %v", err)
	}
	return resp.StatusCode, b
}

// noInternal fails on any INTERNAL_SERVER_ERROR: every fault here has a typed code.
func noInternal(t *testing.T, what string, r gqlResponse) {
	t.Helper()
	for _, e := range r.Errors {
		if c, _ := e.Extensions["code"].(string); c == "INTERNAL_SERVER_ERROR" || c == "" {
			t.Errorf("%s: untyped or internal error %+v", what, e)
		}
	}
}

func isStale(r gqlResponse) bool { s, _ := r.Extensions["stale"].(bool); return s }

const groupsQuery = `{ itemGroups { id code } }`

// readStale checks the cached item groups are served, marked stale, while
// the fault lasts: every answer has the cached data and no error, and
// (once the 1 ms TTL has passed) says it is stale.
func readStale(t *testing.T, g *gateway, tok, want string) {
	t.Helper()
	eventually(t, 5*time.Second, "a stale answer", func() bool {
		r := g.query(tok, groupsQuery, nil)
		noInternal(t, "stale read", r)
		if len(r.Errors) > 0 || string(r.Data) != want {
			t.Fatalf("read under fault: status %d data %s errors %+v, want the cached data", r.status, r.Data, r.Errors)
		}
		return isStale(r)
	})
}

// readFresh waits until the gateway has reloaded item groups from Exact
// by itself after the fault ended: answers go on carrying the same data
// (stale-while-revalidate serves the expired value while it reloads, and
// the 1 ms TTL expires every value at once), and Exact sees a successful
// item group read.
func readFresh(t *testing.T, g *gateway, tok, want string, within time.Duration) {
	t.Helper()
	since := time.Now()
	eventually(t, within, "item groups reloaded from Exact after the fault", func() bool {
		r := g.query(tok, groupsQuery, nil)
		if len(r.Errors) > 0 || string(r.Data) != want {
			t.Fatalf("read after the fault: data %s errors %+v", r.Data, r.Errors)
		}
		return g.st.Sandbox.CallCount(func(c sandbox.Call) bool {
			return strings.HasSuffix(c.Endpoint, "ItemGroups") && c.Status == http.StatusOK && !c.Time.Before(since)
		}) > 0
	})
}

func (g *gateway) ordersWithRef(ref string) int {
	n := 0
	for _, o := range g.st.Sandbox.Orders() {
		if o["YourRef"] == ref {
			n++
		}
	}
	return n
}

func (g *gateway) orderPosts() int {
	return g.st.Sandbox.CallCount(func(c sandbox.Call) bool {
		return c.Method == http.MethodPost && c.Endpoint == "salesorder/SalesOrders"
	})
}

// orderStatus reads the order back through GraphQL.
func (g *gateway) orderStatus(tok, id string) (string, gqlResponse) {
	var d struct{ Order *struct{ ID, Status string } }
	r := g.query(tok, `query($id: ID!) { order(id: $id) { id status } }`, map[string]any{"id": id})
	if len(r.Errors) == 0 && json.Unmarshal(r.Data, &d) == nil && d.Order != nil {
		return d.Order.Status, r
	}
	return "", r
}

// warmOrder places a first order for two products while Exact works, as a
// buyer who has been shopping would have (so the catalog, account and
// prices an order is checked against are cached), and returns the input of
// a second order of the same products under key and ref.
func warmOrder(t *testing.T, g *gateway, tok, key, ref string) map[string]any {
	t.Helper()
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 2}, &p)
	lines := []map[string]any{}
	for _, n := range p.Products.Nodes {
		lines = append(lines, map[string]any{"productId": n.ID, "quantity": "3"})
	}
	warm := map[string]any{"idempotencyKey": key + "-warm", "lines": lines, "yourReference": ref + "-W"}
	if d, r := place(t, g, tok, warm); len(r.Errors) > 0 || d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "OPEN" {
		t.Fatalf("warm-up order: %s %+v", r.Data, r.Errors)
	}
	return map[string]any{"idempotencyKey": key, "lines": lines, "yourReference": ref}
}

func place(t *testing.T, g *gateway, tok string, input map[string]any) (placeData, gqlResponse) {
	t.Helper()
	r := g.query(tok, placeOrder, map[string]any{"input": input})
	var d placeData
	if len(r.Data) > 0 {
		_ = json.Unmarshal(r.Data, &d)
	}
	return d, r
}

// TestFaultsReadPath: 5xx bursts, maintenance, forced 429s and a latency
// spike while the gateway has cached data. Reads are served stale, with no
// INTERNAL_SERVER_ERROR; uncached reads fail with a typed code; readiness
// stays up (an Exact outage does not make the gateway unready) and the
// gateway serves fresh data again by itself once the fault ends.
func TestFaultsReadPath(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name   string
		inject func(*sandbox.Faults)
		// uncachedCodes are the acceptable codes of a read nothing is cached for.
		uncachedCodes []string
		// recovery bounds the wait for fresh data: a 429 makes the gateway
		// hold off until Exact's minute window resets.
		recovery time.Duration
	}{
		{"5xx burst", func(f *sandbox.Faults) { f.FailNext(1000, http.StatusInternalServerError) }, []string{"UPSTREAM_UNAVAILABLE"}, 10 * time.Second},
		{"503 burst", func(f *sandbox.Faults) { f.FailNext(1000, http.StatusServiceUnavailable) }, []string{"UPSTREAM_UNAVAILABLE"}, 10 * time.Second},
		{"maintenance", func(f *sandbox.Faults) { f.SetMaintenance(true) }, []string{"UPSTREAM_UNAVAILABLE"}, 10 * time.Second},
		{"forced 429s", func(f *sandbox.Faults) { f.Force429(1000) }, []string{"RATE_LIMITED", "UPSTREAM_UNAVAILABLE"}, 75 * time.Second},
	}
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, faultEnv)
			tok := g.token(gen.RulePriceList)
			base := g.query(tok, groupsQuery, nil)
			if len(base.Errors) > 0 || isStale(base) {
				t.Fatalf("baseline: %+v", base)
			}
			want := string(base.Data)

			tc.inject(g.st.Sandbox.Faults())
			readStale(t, g, tok, want)
			// Nothing cached for warehouses: a typed error, never a panic or INTERNAL.
			r := g.query(tok, `{ warehouses { id } }`, nil)
			noInternal(t, "uncached read", r)
			if len(r.Errors) == 0 {
				t.Errorf("uncached read under %s succeeded: %s", tc.name, r.Data)
			} else if c := errorCode(r); !contains(tc.uncachedCodes, c) {
				t.Errorf("uncached read: code %s, want one of %v", c, tc.uncachedCodes)
			}
			if code, b := g.ready(); code != http.StatusOK {
				t.Errorf("readyz under an Exact outage = %d %+v, want 200 (cached data is served)", code, b)
			}

			g.st.Sandbox.Faults().Reset()
			readFresh(t, g, tok, want, tc.recovery)
			eventually(t, tc.recovery, "the uncached read works again", func() bool {
				r := g.query(tok, `{ warehouses { id } }`, nil)
				noInternal(t, "uncached read after the fault", r)
				return len(r.Errors) == 0
			})
		})
	}
}

// TestFaultLatencySpike: a slow Exact slows answers down but does not break
// them; after the spike reads are fresh again.
func TestFaultLatencySpike(t *testing.T) {
	t.Parallel()
	g := startGateway(t, faultEnv)
	tok := g.token(gen.RulePriceList)
	base := g.query(tok, groupsQuery, nil)
	if len(base.Errors) > 0 {
		t.Fatalf("baseline: %+v", base.Errors)
	}
	g.st.Sandbox.Faults().SetLatency(300 * time.Millisecond)
	start := time.Now()
	r := g.query(tok, groupsQuery, nil)
	noInternal(t, "slow read", r)
	if len(r.Errors) > 0 || string(r.Data) != string(base.Data) {
		t.Errorf("read during the spike: %s %+v", r.Data, r.Errors)
	}
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 3}, &p)
	t.Logf("reads during a 300ms latency spike took %s", time.Since(start))
	if len(p.Products.Nodes) != 3 {
		t.Errorf("page during the spike has %d products", len(p.Products.Nodes))
	}
	g.st.Sandbox.Faults().SetLatency(0)
	readFresh(t, g, tok, string(base.Data), 10*time.Second)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestFaultsOrders: an order placed while Exact fails is accepted as
// PENDING and later written exactly once by the background worker, with no
// help once the fault ends; a dropped connection after Exact created the
// order is not sent twice; a rejected order is REJECTED with a user error.
func TestFaultsOrders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		inject   func(*sandbox.Faults)
		clear    func(*sandbox.Faults)
		recovery time.Duration
	}{
		{"maintenance", func(f *sandbox.Faults) { f.SetMaintenance(true) }, func(f *sandbox.Faults) { f.SetMaintenance(false) }, 20 * time.Second},
		{"5xx burst", func(f *sandbox.Faults) { f.FailNext(1000, http.StatusServiceUnavailable) }, func(f *sandbox.Faults) { f.FailNext(0, 503) }, 20 * time.Second},
		{"forced 429s", func(f *sandbox.Faults) { f.Force429(1000) }, func(f *sandbox.Faults) { f.Force429(0) }, 80 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, faultEnv)
			tok := g.token(gen.RulePriceList)
			ref := "PO-" + strings.ReplaceAll(tc.name, " ", "")
			input := warmOrder(t, g, tok, "k-"+ref, ref)

			tc.inject(g.st.Sandbox.Faults())
			d, r := place(t, g, tok, input)
			noInternal(t, "placeOrder", r)
			o := d.PlaceOrder.Order
			if len(r.Errors) > 0 || o == nil || o.Status != "PENDING" {
				t.Fatalf("placeOrder under %s: %s %+v, want a PENDING order", tc.name, r.Data, r.Errors)
			}
			if n := g.ordersWithRef(ref); n != 0 {
				t.Fatalf("%d orders in Exact during the fault", n)
			}
			// The same key while still failing: the same pending order.
			again, r := place(t, g, tok, input)
			if again.PlaceOrder.Order == nil || again.PlaceOrder.Order.ID != o.ID {
				t.Errorf("retry under the fault: %s %+v", r.Data, r.Errors)
			}

			tc.clear(g.st.Sandbox.Faults())
			eventually(t, tc.recovery, "order written after the fault", func() bool { return g.ordersWithRef(ref) == 1 })
			var id string
			eventually(t, 10*time.Second, "order reads OPEN", func() bool {
				d, _ := place(t, g, tok, input)
				if d.PlaceOrder.Order != nil && d.PlaceOrder.Order.Status == "OPEN" {
					id = d.PlaceOrder.Order.ID
					return true
				}
				return false
			})
			if status, r := g.orderStatus(tok, id); status != "OPEN" {
				t.Errorf("order(id) after recovery: %s %+v", r.Data, r.Errors)
			}
			if n := g.ordersWithRef(ref); n != 1 {
				t.Errorf("%d orders with reference %s in Exact, want exactly 1", n, ref)
			}
		})
	}

	t.Run("dropped connection after the POST", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, faultEnv)
		tok := g.token(gen.RulePriceList)
		input := warmOrder(t, g, tok, "k-drop", "PO-DROP")
		g.st.Sandbox.Faults().DropConnectionAfterNextPost()
		d, r := place(t, g, tok, input)
		noInternal(t, "placeOrder", r)
		if o := d.PlaceOrder.Order; len(r.Errors) > 0 || o == nil || (o.Status != "PENDING" && o.Status != "OPEN") {
			t.Fatalf("placeOrder with a dropped connection: %s %+v", r.Data, r.Errors)
		}
		eventually(t, 20*time.Second, "order settles OPEN", func() bool {
			d, _ := place(t, g, tok, input)
			return d.PlaceOrder.Order != nil && d.PlaceOrder.Order.Status == "OPEN"
		})
		if n, posts := g.ordersWithRef("PO-DROP"), g.orderPosts(); n != 1 || posts != 2 {
			t.Errorf("%d orders in Exact after %d POSTs, want 1 and 2 (the warm-up order's and this one's: found by reference, not sent again)", n, posts)
		}
	})

	t.Run("rejected order", func(t *testing.T) {
		t.Parallel()
		g := startGateway(t, faultEnv)
		tok := g.token(gen.RulePriceList)
		input := warmOrder(t, g, tok, "k-rej", "PO-REJ")
		g.st.Sandbox.Faults().RejectNextOrder("Credit limit exceeded")
		d, r := place(t, g, tok, input)
		noInternal(t, "placeOrder", r)
		o := d.PlaceOrder.Order
		if len(r.Errors) > 0 || o == nil || o.Status != "REJECTED" {
			t.Fatalf("rejected order: %s %+v, want status REJECTED", r.Data, r.Errors)
		}
		codes := []string{}
		for _, e := range d.PlaceOrder.UserErrors {
			codes = append(codes, e.Code)
		}
		if !contains(codes, "REJECTED_BY_ERP") {
			t.Errorf("user errors %v, want REJECTED_BY_ERP", codes)
		}
		// Rejected is final: the same key never sends it again.
		again, _ := place(t, g, tok, input)
		if again.PlaceOrder.Order == nil || again.PlaceOrder.Order.Status != "REJECTED" || g.orderPosts() != 2 || g.ordersWithRef("PO-REJ") != 0 {
			t.Errorf("retry of a rejected order: %+v, %d POSTs", again.PlaceOrder, g.orderPosts())
		}
	})
}

// TestFaultStoreWrites: the store refuses writes (injected through the store
// interface; CI runs as root, so file modes cannot do it). Readiness fails,
// placeOrder answers a typed error without calling Exact, reads go on; when
// writes work again readiness and ordering recover by themselves.
func TestFaultStoreWrites(t *testing.T) {
	t.Parallel()
	g := startGateway(t, faultEnv)
	tok := g.token(gen.RulePriceList)
	input := warmOrder(t, g, tok, "k-store", "PO-STORE")
	errDisk := errors.New("disk full")
	g.st.Store.FailWrites(func(op string) error { return errDisk })

	if code, b := g.ready(); code != http.StatusServiceUnavailable || b.Details["store"] != "not_writable" {
		t.Errorf("readyz with a failing store = %d %+v, want 503 store not_writable", code, b)
	}
	g.st.Sandbox.ResetCalls()
	_, r := place(t, g, tok, input)
	// The journal is the gateway's own disk: none of ARCHITECTURE §8's
	// codes but INTERNAL_SERVER_ERROR describes it, and the message is the
	// generic one.
	if c := errorCode(r); c != "INTERNAL_SERVER_ERROR" || r.Errors[0].Message != "internal error" {
		t.Errorf("placeOrder with a failing store: %s %+v, want INTERNAL_SERVER_ERROR", r.Data, r.Errors)
	}
	if n := g.orderPosts(); n != 0 {
		t.Errorf("%d order POSTs while the journal cannot record them, want 0", n)
	}
	if strings.Contains(string(r.Data)+errorMessages(r), "disk full") {
		t.Errorf("store error leaks to the caller: %s %s", r.Data, errorMessages(r))
	}
	var p pageData
	g.mustQuery(tok, pageQuery, map[string]any{"first": 2}, &p)

	g.st.Store.FailWrites(nil)
	eventually(t, 10*time.Second, "readyz recovers", func() bool { code, _ := g.ready(); return code == http.StatusOK })
	input["idempotencyKey"] = "k-store-2"
	d, r := place(t, g, tok, input)
	if len(r.Errors) > 0 || d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "OPEN" {
		t.Fatalf("placeOrder after the store recovered: %s %+v", r.Data, r.Errors)
	}
	if n := g.ordersWithRef("PO-STORE"); n != 1 {
		t.Errorf("%d orders in Exact, want 1", n)
	}
}

func errorMessages(r gqlResponse) string {
	var b strings.Builder
	for _, e := range r.Errors {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}

// TestFaultRevokedRefreshToken: the refresh token is revoked and the access
// token then expires. Readiness reports that consent is needed, cached reads
// are served stale, uncached reads and orders get typed errors. Recovery
// needs a person (`exactql auth`), so it is not automatic by design.
func TestFaultRevokedRefreshToken(t *testing.T) {
	t.Parallel()
	clock := &offsetClock{}
	g := startGatewayClock(t, faultEnv, clock.now)
	tok := g.token(gen.RulePriceList)
	base := g.query(tok, groupsQuery, nil)
	if len(base.Errors) > 0 {
		t.Fatalf("baseline: %+v", base.Errors)
	}
	input := warmOrder(t, g, tok, "k-revoked", "PO-REVOKED")

	g.st.Sandbox.Faults().RevokeRefreshTokens()
	clock.advance(11 * time.Minute) // past the 600 s access token

	readStale(t, g, tok, string(base.Data))
	// The stale answer is served while the refresh runs in the background.
	eventually(t, 10*time.Second, "readyz reports consent needed", func() bool {
		code, b := g.ready()
		s, _ := b.Details["exact_token"].(string)
		return code == http.StatusServiceUnavailable && strings.Contains(s, "consent")
	})
	readStale(t, g, tok, string(base.Data))
	r := g.query(tok, `{ product(code: "ART-000250") { id description } }`, nil)
	noInternal(t, "uncached read", r)
	if c := errorCode(r); c != "UPSTREAM_UNAVAILABLE" {
		t.Errorf("uncached read after revocation: code %q (%+v), want UPSTREAM_UNAVAILABLE", c, r.Errors)
	}
	d, r := place(t, g, tok, input)
	noInternal(t, "placeOrder", r)
	if len(r.Errors) == 0 && (d.PlaceOrder.Order == nil || d.PlaceOrder.Order.Status != "PENDING") {
		t.Errorf("placeOrder after revocation: %s, want PENDING or a typed error", r.Data)
	}
	if n := g.ordersWithRef("PO-REVOKED"); n != 0 {
		t.Errorf("%d orders reached Exact without a token", n)
	}
}
