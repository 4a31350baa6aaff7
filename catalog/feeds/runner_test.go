package feeds_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/store"
)

var t0 = time.Date(2026, 3, 10, 10, 0, 30, 0, time.UTC)

type env struct {
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	clock *erptest.Clock
	dir   string
}

func newEnv(t *testing.T, mod func(*sandbox.Options)) *env {
	t.Helper()
	clock := erptest.NewClock(t0)
	o := sandbox.Options{Clock: clock, Data: gen.Options{Today: t0}, TokenLifetime: 48 * time.Hour}
	if mod != nil {
		mod(&o)
	}
	sb := sandbox.New(o)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, clock: clock, dir: t.TempDir()}
}

// client returns a new Exact client for the sandbox on the fake clock (a
// restarted gateway gets a new one).
func (e *env) client(t *testing.T) *erp.Client {
	t.Helper()
	cfg := oauth2.Config{ClientID: e.sb.ClientID(), ClientSecret: e.sb.ClientSecret(),
		Endpoint: oauth2.Endpoint{TokenURL: e.srv.URL + "/api/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	ts := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: e.sb.IssueRefreshToken()})
	c, err := erp.New(erp.WithBaseURL(e.srv.URL), erp.WithTokenSource(ts), erp.WithDivision(e.sb.Division()), erp.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) store(t *testing.T) *store.SQLite {
	t.Helper()
	s, err := store.Open(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// collect is a subscriber that keeps every change.
type collect struct {
	mu      sync.Mutex
	changes []feeds.Change
	ch      chan feeds.Change
}

func (c *collect) sub(cs []feeds.Change) {
	c.mu.Lock()
	c.changes = append(c.changes, cs...)
	c.mu.Unlock()
	if c.ch != nil {
		for _, x := range cs {
			c.ch <- x
		}
	}
}

func (c *collect) count(feed string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.changes {
		if x.Feed == feed && !x.Deleted {
			n++
		}
	}
	return n
}

func (e *env) runner(t *testing.T, c *erp.Client, s feeds.Store, sub feeds.Subscriber, mod func(*feeds.Options)) *feeds.Runner {
	t.Helper()
	o := feeds.Options{Client: c, Store: s, Subscriber: sub, Now: e.clock.Now,
		// Pacing moves the fake clock instead of waiting.
		Sleep: func(ctx context.Context, d time.Duration) error { e.clock.Advance(d); return ctx.Err() },
		// Scheduled polls never fire by themselves: tests wake feeds.
		After: func(time.Duration) <-chan time.Time { return nil },
	}
	if mod != nil {
		mod(&o)
	}
	r, err := feeds.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func apiCalls(sb *sandbox.Sandbox) []sandbox.Call {
	var out []sandbox.Call
	for _, c := range sb.Calls() {
		if c.Kind == sandbox.KindAPI {
			out = append(out, c)
		}
	}
	return out
}

// TestFirstPassAndRestart: the first full pass of the default sandbox (2,000
// items, 150 customers, 3 warehouses) within 60 calls and never more than
// half of a minute's limit in one minute; a restart then costs at most one
// call per feed and hands every stored row to the subscriber.
func TestFirstPassAndRestart(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	st := e.store(t)
	sub := &collect{}
	r := e.runner(t, e.client(t), st, sub.sub, nil)
	wall := time.Now()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(wall)
	if !r.Complete() {
		t.Fatalf("first pass incomplete: %+v", r.Status())
	}
	calls := apiCalls(e.sb)
	perMinute := map[time.Time]int{}
	var sum int64
	for _, c := range calls {
		perMinute[c.Time.Truncate(time.Minute)]++
	}
	worst := 0
	for _, n := range perMinute {
		worst = max(worst, n)
	}
	for _, s := range r.Status() {
		sum += s.Calls
		if s.ErrorCode != "" {
			t.Errorf("%s: error %s", s.Feed, s.ErrorCode)
		}
	}
	t.Logf("first pass: %d Exact calls, at most %d in one sandbox minute, %s of sandbox time, %s wall time",
		len(calls), worst, e.clock.Now().Sub(t0), elapsed)
	if len(calls) > 60 {
		t.Errorf("first pass made %d calls, want ≤ 60", len(calls))
	}
	if worst > 30 {
		t.Errorf("%d calls in one minute, want ≤ 30 (half of the limit)", worst)
	}
	if sum != int64(len(calls)) {
		t.Errorf("feeds counted %d calls, the sandbox saw %d", sum, len(calls))
	}
	rows := map[string]int{}
	var per []string
	for _, s := range r.Status() {
		rows[s.Feed] = s.Rows
		per = append(per, s.Feed+"="+strconv.FormatInt(s.Calls, 10)+"/"+strconv.Itoa(s.Rows))
	}
	t.Logf("calls/rows per feed: %s", strings.Join(per, " "))
	if rows[feeds.FeedItems] != gen.DefaultItems || rows[feeds.FeedAccounts] < gen.DefaultCustomers || rows[feeds.FeedWarehouses] != gen.DefaultWarehouses {
		t.Errorf("rows %v", rows)
	}
	for _, f := range r.Feeds() {
		if f != feeds.FeedDeleted && rows[f] == 0 {
			t.Errorf("feed %s has no rows", f)
		}
	}
	if sub.count(feeds.FeedItems) != gen.DefaultItems {
		t.Errorf("subscriber saw %d items", sub.count(feeds.FeedItems))
	}

	// Restart: a new client, runner and store handle on the same file.
	e.sb.ResetCalls()
	e.clock.Advance(time.Minute)
	sub2 := &collect{}
	r2 := e.runner(t, e.client(t), e.store(t), sub2.sub, nil)
	if err := r2.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if sub2.count(feeds.FeedItems) != gen.DefaultItems || sub2.count(feeds.FeedStock) != rows[feeds.FeedStock] {
		t.Errorf("restart loaded %d items, %d stock rows", sub2.count(feeds.FeedItems), sub2.count(feeds.FeedStock))
	}
	after := apiCalls(e.sb)
	t.Logf("restart: %d Exact calls for %d feeds", len(after), len(r2.Feeds()))
	for _, s := range r2.Status() {
		if s.Calls > 1 {
			t.Errorf("restart: %s made %d calls", s.Feed, s.Calls)
		}
		if !s.Complete {
			t.Errorf("restart: %s not complete", s.Feed)
		}
	}
	if len(after) > len(r2.Feeds()) {
		t.Errorf("restart made %d calls", len(after))
	}
}

// TestWakeLag: after the first pass, control changes in the sandbox reach
// the subscriber when their feed is woken (as a webhook would).
func TestWakeLag(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Data.Items = 300; o.Data.Customers = 30 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := &collect{}
	r := e.runner(t, e.client(t), e.store(t), sub.sub, func(o *feeds.Options) {
		o.WakeDelay = time.Millisecond
		o.After = time.After // real timers: only the 1 ms wake delay ever fires in this test
	})
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	sub.ch = make(chan feeds.Change, 100)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	wait := func(what string, ok func(feeds.Change) bool) {
		t.Helper()
		start := time.Now()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case c := <-sub.ch:
				if ok(c) {
					t.Logf("%s: seen %s after wake", what, time.Since(start))
					return
				}
			case <-deadline:
				t.Fatalf("%s: not seen", what)
			}
		}
	}
	wh := e.sb.DemoBuyers()[0]
	var item erp.SyncItem
	sub.mu.Lock()
	for _, c := range sub.changes {
		if c.Feed == feeds.FeedItems {
			item = c.Row.(erp.SyncItem)
			break
		}
	}
	var agreement erp.SyncSalesItemPrice
	for _, c := range sub.changes {
		if p, ok := c.Row.(erp.SyncSalesItemPrice); ok && p.Account != "" {
			agreement = p
			break
		}
	}
	var warehouse string
	for _, c := range sub.changes {
		if w, ok := c.Row.(erp.Warehouse); ok {
			warehouse = w.ID
		}
	}
	sub.mu.Unlock()

	if err := e.sb.SetStandardSalesPrice(item.ID, decimal.RequireFromString("42.50")); err != nil {
		t.Fatal(err)
	}
	r.WakeTopic("Items")
	wait("price", func(c feeds.Change) bool {
		it, ok := c.Row.(erp.SyncItem)
		return ok && it.ID == item.ID && it.StandardSalesPrice.Equal(decimal.RequireFromString("42.50"))
	})
	if err := e.sb.SetStock(item.ID, warehouse, decimal.NewFromInt(123)); err != nil {
		t.Fatal(err)
	}
	r.WakeTopic("StockPositions")
	wait("stock", func(c feeds.Change) bool {
		sp, ok := c.Row.(erp.StockPosition)
		return ok && sp.ItemID == item.ID && sp.Warehouse == warehouse && sp.CurrentStock.Equal(decimal.NewFromInt(123))
	})
	newID, err := e.sb.AddItem(sandbox.NewItem{Code: "LAG-1", Description: "Lag item", Price: decimal.NewFromInt(9)})
	if err != nil {
		t.Fatal(err)
	}
	r.WakeTopic("Items")
	wait("new item", func(c feeds.Change) bool { return c.Feed == feeds.FeedItems && c.Key == newID })
	oid, err := e.sb.StaffOrder(wh.AccountID, []sandbox.StaffLine{{ItemID: item.ID, Quantity: decimal.NewFromInt(3)}})
	if err != nil {
		t.Fatal(err)
	}
	r.WakeTopic("SalesOrders")
	wait("staff order", func(c feeds.Change) bool { return c.Feed == feeds.FeedOrders && c.Key == oid })
	if err := e.sb.DeletePriceAgreement(agreement.ID); err != nil {
		t.Fatal(err)
	}
	r.Wake(feeds.FeedDeleted)
	wait("deleted agreement", func(c feeds.Change) bool {
		return c.Feed == feeds.FeedPrices && c.Key == agreement.ID && c.Deleted
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	for _, s := range r.Status() {
		if s.ErrorCode != "" {
			t.Errorf("%s: %s", s.Feed, s.ErrorCode)
		}
	}
}

func TestProjectionScalesWithDailyLimit(t *testing.T) {
	cases := []struct {
		name     string
		dayLimit int
		share    float64
	}{
		{"Exact default", 5000, 0.3},
		{"larger app limit", 50000, 0.3},
		{"small share", 5000, 0.1},
	}
	var prevStock time.Duration
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *sandbox.Options) { o.DayLimit = c.dayLimit; o.Data.Items = 100; o.Data.Customers = 20 })
			r := e.runner(t, e.client(t), e.store(t), nil, func(o *feeds.Options) { o.Share = c.share })
			if err := r.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			p := r.Projection()
			t.Logf("day limit %d, share %.2f: %.0f calls/day projected (%.0f scheduled + %.0f for wake-ups); stock every %s, items every %s, deleted every %s, item groups every %s",
				p.DayLimit, p.Share, p.Total, p.Scheduled, p.WakeAllowance, p.Intervals[feeds.FeedStock], p.Intervals[feeds.FeedItems],
				p.Intervals[feeds.FeedDeleted], p.Intervals[feeds.FeedItemGroups])
			if p.DayLimit != c.dayLimit {
				t.Errorf("day limit %d, want the reported %d", p.DayLimit, c.dayLimit)
			}
			if budget := c.share * float64(c.dayLimit); p.Total > budget || p.Total < 0.9*budget {
				t.Errorf("projected %.1f calls a day, want about %.0f (never above)", p.Total, budget)
			}
			if p.Intervals[feeds.FeedStock] >= p.Intervals[feeds.FeedItems] || p.Intervals[feeds.FeedItems] >= p.Intervals[feeds.FeedItemGroups] {
				t.Errorf("stock should poll most often: %v", p.Intervals)
			}
			if c.name == "larger app limit" && p.Intervals[feeds.FeedStock] >= prevStock {
				t.Errorf("a larger limit should shorten intervals: %s vs %s", p.Intervals[feeds.FeedStock], prevStock)
			}
			prevStock = p.Intervals[feeds.FeedStock]
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Data.Items = 100; o.Data.Customers = 20 })
	c, s := e.client(t), e.store(t)
	for name, o := range map[string]feeds.Options{
		"no client":      {Store: s},
		"no store":       {Client: c},
		"share above 1":  {Client: c, Store: s, Share: 1.5},
		"negative share": {Client: c, Store: s, Share: -0.1},
		"unknown feed":   {Client: c, Store: s, Weights: map[string]float64{"prices": 1}},
		"zero weight":    {Client: c, Store: s, Weights: map[string]float64{feeds.FeedStock: 0}},
	} {
		if _, err := feeds.New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFailuresLoseNothing: Exact errors and store errors leave the
// watermark where it was, show as an error code (never text), and the next
// poll catches up.
func TestFailuresLoseNothing(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Data.Items = 100; o.Data.Customers = 20 })
	ctx := context.Background()
	st := e.store(t)
	sub := &collect{}
	r := e.runner(t, e.client(t), st, sub.sub, func(o *feeds.Options) { o.WakeDelay = time.Nanosecond })
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	code := func(feed string) string {
		for _, s := range r.Status() {
			if s.Feed == feed {
				return s.ErrorCode
			}
		}
		return "?"
	}
	itemID := ""
	for _, c := range sub.changes {
		if c.Feed == feeds.FeedItems {
			itemID = c.Key
		}
	}
	before, _ := st.MirrorStates(ctx)

	// Exact answers 503 (three attempts: the client retries GETs).
	if err := e.sb.SetStandardSalesPrice(itemID, decimal.NewFromInt(77)); err != nil {
		t.Fatal(err)
	}
	e.sb.Faults().FailNext(3, 503)
	poll := func(feed string) {
		r.Wake(feed)
		e.clock.Advance(time.Millisecond)
		_ = r.RunOnce(ctx) // polls every feed due now
	}
	poll(feeds.FeedItems)
	if c := code(feeds.FeedItems); c != "exact_5xx" {
		t.Errorf("after 503s: code %q", c)
	}
	if now, _ := st.MirrorStates(ctx); now[feeds.FeedItems].Watermark != before[feeds.FeedItems].Watermark {
		t.Error("watermark moved on a failed read")
	}
	// The store fails the commit.
	st.FailWrites(func(op string) error {
		if op == store.OpMirrorApply {
			return errors.New("disk full")
		}
		return nil
	})
	poll(feeds.FeedItems)
	if c := code(feeds.FeedItems); c != "store" {
		t.Errorf("after a store failure: code %q", c)
	}
	if now, _ := st.MirrorStates(ctx); now[feeds.FeedItems].Watermark != before[feeds.FeedItems].Watermark {
		t.Error("watermark moved on a failed commit")
	}
	st.FailWrites(nil)
	// 429: the feed waits for the reset.
	e.sb.Faults().Force429(1)
	poll(feeds.FeedItems)
	if c := code(feeds.FeedItems); c != "rate_limited" {
		t.Errorf("after a 429: code %q", c)
	}
	for _, s := range r.Status() {
		if strings.ContainsAny(s.ErrorCode, " :") {
			t.Errorf("error code %q looks like a message", s.ErrorCode)
		}
	}
	// Recovery: the change is applied, nothing was lost.
	e.clock.Advance(2 * time.Minute)
	poll(feeds.FeedItems)
	if c := code(feeds.FeedItems); c != "" {
		t.Errorf("after recovery: code %q", c)
	}
	var got *erp.SyncItem
	_ = st.MirrorRows(ctx, feeds.FeedItems, func(k string, d []byte) error {
		if k == itemID {
			var it erp.SyncItem
			if err := jsonUnmarshal(d, &it); err == nil {
				got = &it
			}
		}
		return nil
	})
	if got == nil || !got.StandardSalesPrice.Equal(decimal.NewFromInt(77)) {
		t.Errorf("stored item after recovery: %+v", got)
	}
}

// TestFirstPassPacedByMinuteShare: with a small minute limit the first pass
// spreads over several minutes, never above half of any minute's limit.
func TestFirstPassPacedByMinuteShare(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.MinuteLimit = 20; o.Data.Items = 1500; o.Data.Customers = 40 })
	r := e.runner(t, e.client(t), e.store(t), nil, nil)
	if err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !r.Complete() {
		t.Fatalf("incomplete: %+v", r.Status())
	}
	perMinute := map[time.Time]int{}
	calls := apiCalls(e.sb)
	for _, c := range calls {
		perMinute[c.Time.Truncate(time.Minute)]++
	}
	t.Logf("%d calls over %d sandbox minutes: %v", len(calls), len(perMinute), perMinute)
	for m, n := range perMinute {
		if n > 10 {
			t.Errorf("minute %s: %d calls, want ≤ 10 (half of 20)", m.Format("15:04"), n)
		}
	}
	if len(perMinute) < 2 {
		t.Errorf("all %d calls in one minute", len(calls))
	}
	if st := e.sb.Stats(); st.RateLimited != 0 {
		t.Errorf("%d × 429", st.RateLimited)
	}
}

// TestWakeDuringPollNotLost: a webhook that arrives while its feed is being
// read (the change may be newer than the page) gets a poll of its own.
func TestWakeDuringPollNotLost(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Data.Items = 100; o.Data.Customers = 20 })
	var r *feeds.Runner
	armed := false
	r = e.runner(t, e.client(t), e.store(t), func(cs []feeds.Change) {
		if armed && len(cs) > 0 && cs[0].Feed == feeds.FeedStock {
			r.Wake(feeds.FeedStock) // inside the poll, as a concurrent webhook would
		}
	}, func(o *feeds.Options) { o.WakeDelay = time.Second })
	ctx := context.Background()
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	armed = true
	var wh, item string
	_ = e.store(t).MirrorRows(ctx, feeds.FeedStock, func(k string, _ []byte) error {
		if item == "" {
			item, wh, _ = strings.Cut(k, "/")
		}
		return nil
	})
	if err := e.sb.SetStock(item, wh, decimal.NewFromInt(1)); err != nil {
		t.Fatal(err)
	}
	r.Wake(feeds.FeedStock)
	e.clock.Advance(time.Second)
	if err := r.RunOnce(ctx); err != nil { // polls the woken feed
		t.Fatal(err)
	}
	for _, s := range r.Status() {
		if s.Feed == feeds.FeedStock {
			if want := e.clock.Now().Add(time.Second); s.NextPoll.After(want) {
				t.Errorf("next stock poll at %s, want by %s (the wake during the poll)", s.NextPoll, want)
			}
			if s.Calls < 2 {
				t.Errorf("stock calls %d", s.Calls)
			}
		}
	}
}

func TestCollector(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Data.Items = 100; o.Data.Customers = 20 })
	r := e.runner(t, e.client(t), e.store(t), nil, nil)
	if err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(90 * time.Second)
	reg := prometheus.NewRegistry()
	if err := reg.Register(r.Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{}
	for _, mf := range mfs {
		got[mf.GetName()] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			label := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "feed" {
					label = l.GetValue()
				}
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[mf.GetName()][label] = v
		}
	}
	if got["exactql_mirror_rows"][feeds.FeedItems] != 100 {
		t.Errorf("rows{items} = %v", got["exactql_mirror_rows"][feeds.FeedItems])
	}
	if got["exactql_mirror_lag_seconds"][feeds.FeedStock] != 90 {
		t.Errorf("lag{stock} = %v", got["exactql_mirror_lag_seconds"][feeds.FeedStock])
	}
	if got["exactql_mirror_sync_calls_total"][feeds.FeedItems] < 1 || got["exactql_mirror_complete"][feeds.FeedDeleted] != 1 {
		t.Errorf("calls/complete: %v %v", got["exactql_mirror_sync_calls_total"], got["exactql_mirror_complete"])
	}
	if ts := got["exactql_mirror_last_success_timestamp"][feeds.FeedItems]; ts != float64(t0.Unix()) {
		t.Errorf("last success %v, want %d", ts, t0.Unix())
	}
	if p := got["exactql_mirror_projected_calls_per_day"][""]; p <= 0 || p > 1500 {
		t.Errorf("projected %v", p)
	}
	if len(got["exactql_mirror_failing"]) != 0 {
		t.Errorf("failing: %v", got["exactql_mirror_failing"])
	}
}

// flakyStore fails MirrorStates while broken is set.
type flakyStore struct {
	feeds.Store
	mu     sync.Mutex
	broken bool
}

func (s *flakyStore) MirrorStates(ctx context.Context) (map[string]feeds.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return nil, errors.New("database is locked")
	}
	return s.Store.MirrorStates(ctx)
}

// TestRunRetriesAnUnreadableStore: the feeds do not stop when the store
// cannot be read at start; they show "store" and try again.
func TestRunRetriesAnUnreadableStore(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Data.Items = 100; o.Data.Customers = 20 })
	fs := &flakyStore{Store: e.store(t), broken: true}
	slept, resume, idle := make(chan time.Duration), make(chan struct{}), make(chan struct{}, 1)
	r := e.runner(t, e.client(t), fs, nil, func(o *feeds.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			select {
			case slept <- d:
			case <-ctx.Done():
				return ctx.Err()
			}
			<-resume
			return ctx.Err()
		}
		o.After = func(time.Duration) <-chan time.Time {
			select {
			case idle <- struct{}{}:
			default:
			}
			return nil
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-slept
	for _, s := range r.Status() {
		if s.ErrorCode != "store" {
			t.Errorf("%s: code %q while the store is unreadable", s.Feed, s.ErrorCode)
		}
	}
	fs.mu.Lock()
	fs.broken = false
	fs.mu.Unlock()
	resume <- struct{}{}
	<-idle
	if !r.Complete() {
		t.Errorf("not complete after the store recovered: %+v", r.Status())
	}
	for _, s := range r.Status() {
		if s.ErrorCode != "" {
			t.Errorf("%s: code %q after recovery", s.Feed, s.ErrorCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
