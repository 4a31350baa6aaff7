package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
)

// TestPostgresServeTwoReplicas runs the real wiring twice in production mode
// on one PostgreSQL schema against one sandbox: both replicas serve, they
// share one token chain (one refresh at Exact for both), concurrent
// placeOrder with one key over both replicas makes one order, and the
// division's calls are counted in the shared budget row.
func TestPostgresServeTwoReplicas(t *testing.T) {
	url, _ := testPGSchema(t)
	sb := sandbox.New(sandbox.Options{Data: gen.Options{Seed: 1, Items: 300, Customers: 30, Currency: "EUR"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	const secret = "replica-secret-replica-secret-0123456789"
	env := map[string]string{
		"EXACTQL_MODE":         "production",
		"EXACT_BASE_URL":       "http://" + ln.Addr().String(),
		"EXACT_CLIENT_ID":      sb.ClientID(),
		"EXACT_CLIENT_SECRET":  sb.ClientSecret(),
		"EXACT_REFRESH_TOKEN":  sb.IssueRefreshToken(),
		"EXACT_DIVISION":       fmt.Sprint(sb.Division()),
		"EXACTQL_JWT_SECRET":   secret,
		"EXACTQL_DATABASE_URL": url,
	}
	replicas := []*gateway{startGatewayClock(t, env, nil), startGatewayClock(t, env, nil)}
	if replicas[0].st.Store != nil {
		t.Error("the SQLite store was opened although EXACTQL_DATABASE_URL is set")
	}
	var buyer gen.DemoBuyer
	for _, b := range sb.DemoBuyers() {
		if b.Rule == gen.RulePriceList {
			buyer = b
		}
	}
	tok, err := server.SignToken([]byte(secret), "buyer", buyer.AccountID, buyer.ContactID, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	var pages [2]pageData
	for i, g := range replicas {
		g.mustQuery(tok, pageQuery, map[string]any{"first": 2}, &pages[i])
	}
	if len(pages[0].Products.Nodes) != 2 || pages[0].Products.Nodes[0].Code != pages[1].Products.Nodes[0].Code {
		t.Fatalf("the replicas serve different pages: %+v / %+v", pages[0].Products.Nodes, pages[1].Products.Nodes)
	}
	if n := sb.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindToken }); n != 1 {
		t.Errorf("Exact's token endpoint was called %d times by two replicas; want 1 (one shared chain)", n)
	}

	input := map[string]any{"idempotencyKey": "replica-key", "yourReference": "PO-R",
		"lines": []map[string]any{{"productCode": pages[0].Products.Nodes[0].Code, "quantity": "1"}}}
	var wg sync.WaitGroup
	ids := make([]string, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := replicas[i%2].query(tok, placeOrder, map[string]any{"input": input})
			if len(r.Errors) > 0 {
				t.Errorf("placeOrder %d: %+v", i, r.Errors)
				return
			}
			var d struct {
				PlaceOrder struct{ Order *struct{ ID string } }
			}
			if err := json.Unmarshal(r.Data, &d); err != nil || d.PlaceOrder.Order == nil {
				t.Errorf("placeOrder %d: %s (%v)", i, r.Data, err)
				return
			}
			ids[i] = d.PlaceOrder.Order.ID
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Errorf("placeOrder %d got order %q; want %q", i, id, ids[0])
		}
	}
	posts := sb.CallCount(func(c sandbox.Call) bool { return c.Method == "POST" && c.Endpoint == "salesorder/SalesOrders" })
	if posts != 1 {
		t.Errorf("Exact received %d order POSTs from two replicas; want 1", posts)
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var limit, remaining, api int
	if err := conn.QueryRow(ctx, `SELECT day_limit, day_remaining FROM rate_budget WHERE division = $1`, sb.Division()).Scan(&limit, &remaining); err != nil {
		t.Fatalf("shared budget row: %v", err)
	}
	api = sb.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI })
	if limit-remaining < api {
		t.Errorf("the shared row counts %d calls of the day; the sandbox saw %d", limit-remaining, api)
	}
}

// TestPostgresServeTwoReplicasOneMirror runs the real wiring twice in one
// process (so the race detector sees the mirror's role code) with the mirror
// on: exactly one replica leads, both hold the complete mirror, and after
// the leader stops the other one leads.
func TestPostgresServeTwoReplicasOneMirror(t *testing.T) {
	url, _ := testPGSchema(t)
	sb := sandbox.New(sandbox.Options{Data: gen.Options{Seed: 1, Items: 300, Customers: 30, Currency: "EUR"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	env := map[string]string{
		"EXACTQL_MODE":         "production",
		"EXACT_BASE_URL":       "http://" + ln.Addr().String(),
		"EXACT_CLIENT_ID":      sb.ClientID(),
		"EXACT_CLIENT_SECRET":  sb.ClientSecret(),
		"EXACT_REFRESH_TOKEN":  sb.IssueRefreshToken(),
		"EXACT_DIVISION":       fmt.Sprint(sb.Division()),
		"EXACTQL_JWT_SECRET":   "replica-secret-replica-secret-0123456789",
		"EXACTQL_DATABASE_URL": url,
		"EXACTQL_SYNC":         "true",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	envA := map[string]string{"EXACTQL_ADDR": "127.0.0.1:0", "EXACTQL_DATA_DIR": t.TempDir(), "EXACTQL_LOG_LEVEL": "warn", "EXACTQL_LOG_FORMAT": "json"}
	for k, v := range env {
		envA[k] = v
	}
	cfg, err := loadConfig(envOf(envA))
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan started, 1)
	firstDone := make(chan error, 1)
	go func() { firstDone <- serve(ctx, cfg, io.Discard, testLog(t), func(s started) { first <- s }) }()
	a := <-first
	// The first replica takes the lock before the second starts, so the
	// test knows which one must lead (serve reports ready before its first
	// try for the lock; without this wait either replica may win it).
	waitUntil(t, 30*time.Second, "the first replica leads", func() bool {
		return (&replica{url: a.URL}).metric("exactql_mirror_leader") == 1
	})
	b := startGatewayClock(t, env, nil)
	urls := []string{a.URL, b.st.URL}
	leading := func() []int {
		var out []int
		for i, u := range urls {
			r := &replica{url: u}
			if r.metric("exactql_mirror_leader") == 1 {
				out = append(out, i)
			}
		}
		return out
	}
	waitUntil(t, 2*time.Minute, "both replicas hold the complete mirror", func() bool {
		return a.Feeds.Complete() && b.st.Feeds.Complete()
	})
	if l := leading(); len(l) != 1 || l[0] != 0 {
		t.Fatalf("leaders %v; want the first replica only", l)
	}
	var calls int64
	for _, s := range b.st.Feeds.Status() {
		calls += s.Calls
	}
	if calls != 0 {
		t.Errorf("the follower's feeds made %d Exact calls", calls)
	}
	cancel() // the leader stops (its lock goes with its connection)
	if err := <-firstDone; err != nil {
		t.Errorf("serve: %v", err)
	}
	urls = urls[1:]
	waitUntil(t, 30*time.Second, "the second replica leads", func() bool { l := leading(); return len(l) == 1 })
}
