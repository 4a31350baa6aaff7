package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
)

const productQuery = `query P($code: String) { product(code: $code) { id code description unit
  price { unitPrice { amount currencyCode } source } stock { warehouse { code } available } availableQuantity } }`

const placeOrderMutation = `mutation Place($input: PlaceOrderInput!) {
  placeOrder(input: $input) { order { id status } userErrors { field code message } } }`

// dayStats collects the shop day's outcomes.
type dayStats struct {
	mu        sync.Mutex
	lat       []time.Duration
	start     time.Time
	minutes   []minuteStats
	byAction  map[string]int
	ok, stale int
	codes     map[string]int    // GraphQL error code → count
	codeMsg   map[string]string // GraphQL error code → first message
	transport int
	orders    map[string]string // yourReference → first answer status
	orderErrs map[string]int
	// mirror, when set, tells when the first full pass finished; requests
	// that started after it are counted again in after.
	mirror *mirrorWatch
	after  afterStats
}

// afterStats counts the requests that started once the mirror's first
// full pass had finished.
type afterStats struct {
	total, ok int
	codes     map[string]int
	byAction  map[string]int
	failed    map[string]int // action → answers with an error
}

// minuteStats counts one minute of the day.
type minuteStats struct{ total, ok, stale, limited int }

func (d *dayStats) record(action string, lat time.Duration, r *gqlResponse, err error) {
	startedAt := time.Now().Add(-lat)
	var passDone time.Time
	if d.mirror != nil {
		passDone = d.mirror.Done()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !passDone.IsZero() && startedAt.After(passDone) {
		a := &d.after
		a.total++
		a.byAction[action]++
		switch {
		case err != nil:
			a.codes["transport"]++
			a.failed[action]++
		case len(r.Errors) > 0:
			a.codes[r.Code()]++
			a.failed[action]++
		default:
			a.ok++
		}
	}
	d.lat = append(d.lat, lat)
	m := int(time.Since(d.start) / time.Minute)
	for len(d.minutes) <= m {
		d.minutes = append(d.minutes, minuteStats{})
	}
	ms := &d.minutes[m]
	ms.total++
	switch {
	case err != nil:
	case len(r.Errors) > 0:
		if r.Code() == "RATE_LIMITED" {
			ms.limited++
		}
	default:
		ms.ok++
	}
	if err == nil && r.Stale() {
		ms.stale++
	}
	d.byAction[action]++
	switch {
	case err != nil:
		d.transport++
	case len(r.Errors) > 0:
		d.codes[r.Code()]++
		if _, ok := d.codeMsg[r.Code()]; !ok {
			d.codeMsg[r.Code()] = r.Errors[0].Message
		}
	default:
		d.ok++
	}
	if err == nil && r.Stale() {
		d.stale++
	}
}

// shopper is one buyer's browsing session.
type shopper struct {
	b      buyer
	rng    *rand.Rand
	seen   []string
	cursor string         // endCursor of the last page…
	last   map[string]any // …and that page's variables
	orders int
}

// shopDay runs the compressed shop day against the real budget of 60
// calls a minute.
func (e *env) shopDay(rep *report) error {
	dur := 3*time.Minute + 10*time.Second
	drain := 30 * time.Second
	if e.quick {
		dur, drain = 30*time.Second, 20*time.Second
	}
	const buyers = 200
	const thinkMin, thinkMax = 2 * time.Second, 10 * time.Second
	opts := gatewayOptions{Sandbox: sandboxOptions(2000, 400, today, 60, e.dayLimit)}
	cat, err := loadCatalog(opts.Sandbox)
	if err != nil {
		return err
	}
	shoppers := cat.mixed(buyers)
	kinds := map[string]int{}
	for _, b := range shoppers {
		kinds[b.Kind]++
	}
	g, err := e.gateway("shopday", opts)
	if err != nil {
		return err
	}
	defer g.Close()
	// No ResetCalls: the sandbox is fresh, and the feeds' first pass has
	// started with the gateway.
	st := &dayStats{byAction: map[string]int{}, codes: map[string]int{}, codeMsg: map[string]string{}, orders: map[string]string{}, orderErrs: map[string]int{},
		after: afterStats{codes: map[string]int{}, byAction: map[string]int{}, failed: map[string]int{}}}
	client := newHTTPClient(buyers)
	defer client.CloseIdleConnections()

	e.log("shop day: %d buyers for %s against %d calls/min", len(shoppers), dur, 60)
	ctx, cancel := context.WithTimeout(e.ctx, dur)
	defer cancel()
	start := time.Now()
	st.start = start
	// The gateway started cold a moment ago: its feeds' first pass runs
	// while the buyers arrive.
	st.mirror = watchMirror(ctx, g, 250*time.Millisecond)
	var wg sync.WaitGroup
	for i, b := range shoppers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &shopper{b: b, rng: rand.New(rand.NewPCG(uint64(i), 42))}
			// Arrivals spread over the first think interval.
			if !sleepCtx(ctx, time.Duration(s.rng.Int64N(int64(thinkMax)))) {
				return
			}
			for n := 0; ctx.Err() == nil; n++ {
				s.act(ctx, e.ctx, client, g.URL, cat, st, i, n)
				think := thinkMin + time.Duration(s.rng.Int64N(int64(thinkMax-thinkMin)))
				if !sleepCtx(ctx, think) {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	// Let the order worker write what it accepted, then count.
	e.log("shop day: waiting up to %s for accepted orders to reach Exact", drain)
	refs := map[string]bool{}
	st.mu.Lock()
	for ref, status := range st.orders {
		if status != "REJECTED" {
			refs[ref] = true
		}
	}
	st.mu.Unlock()
	written, dup := countOrders(g.SB, refs)
	deadline := time.Now().Add(drain)
	for written < len(refs) && time.Now().Before(deadline) {
		if !sleepCtx(e.ctx, time.Second) {
			break
		}
		written, dup = countOrders(g.SB, refs)
	}
	calls := g.SB.Calls()
	stats := g.SB.Stats()
	endMetrics := g.metrics(e.ctx, "exactql_mirror_sync_calls_total", "exactql_mirror_projected_calls_per_day")
	feedCalls := feedValues(endMetrics, "exactql_mirror_sync_calls_total")
	projected, hasProjection := endMetrics["exactql_mirror_projected_calls_per_day"]
	bd := breakdown(calls, time.Time{}, feedCalls)
	passDone := st.mirror.Done()

	var apiTimes []time.Time
	for _, c := range calls {
		if c.Kind == sandbox.KindAPI && !c.Time.Before(start) {
			apiTimes = append(apiTimes, c.Time)
		}
	}
	slices.SortFunc(apiTimes, func(a, b time.Time) int { return a.Compare(b) })
	maxWin := maxInWindow(apiTimes, time.Minute)
	// Exact's (and the sandbox's) minutely window is the clock minute.
	clockMin := map[time.Time]int{}
	maxClock := 0
	for _, t := range apiTimes {
		m := t.Truncate(time.Minute)
		clockMin[m]++
		maxClock = max(maxClock, clockMin[m])
	}
	perMinute := make([]int, 0, 5)
	for _, t := range apiTimes {
		m := int(t.Sub(start) / time.Minute)
		for len(perMinute) <= m {
			perMinute = append(perMinute, 0)
		}
		perMinute[m]++
	}

	st.mu.Lock()
	defer st.mu.Unlock()
	total := len(st.lat)
	slices.Sort(st.lat)
	pct := func(n int) string { return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(max(total, 1))) }
	s := rep.section(fmt.Sprintf("Shop day: %d buyers, think time %s–%s, %s, sandbox budget 60 calls/min and %d/day", len(shoppers), thinkMin, thinkMax, elapsed.Round(time.Second), e.dayLimit),
		"figure", "value", "goal / note")
	s.add("requests served", total, fmt.Sprintf("%.1f req/s", float64(total)/elapsed.Seconds()))
	s.add("answered without error", pct(st.ok), fmt.Sprintf("%d requests", st.ok))
	s.add("served stale (extensions.stale)", pct(st.stale), fmt.Sprintf("%d requests", st.stale))
	s.add("RATE_LIMITED", pct(st.codes["RATE_LIMITED"]), fmt.Sprintf("%d requests", st.codes["RATE_LIMITED"]))
	var other []string
	for c, n := range st.codes {
		if c != "RATE_LIMITED" {
			other = append(other, fmt.Sprintf("%s %d", c, n))
		}
	}
	slices.Sort(other)
	if st.transport > 0 {
		other = append(other, fmt.Sprintf("transport %d", st.transport))
	}
	s.add("other errors", pct(total-st.ok-st.codes["RATE_LIMITED"]), strings.Join(other, ", "))
	for _, c := range slices.Sorted(maps.Keys(st.codeMsg)) {
		s.note("first %s message: %s", c, st.codeMsg[c])
	}
	s.add("latency p50 / p99", fmt.Sprintf("%s / %s", fmtDur(percentile(st.lat, .5)), fmtDur(percentile(st.lat, .99))), "")
	s.add("Exact API calls, total", len(apiTimes), fmt.Sprintf("per minute of the run: %v", perMinute))
	s.add("Exact API calls, most in one clock minute (Exact's window)", maxClock, fmt.Sprintf("budget 60: %s", met(maxClock <= 60)))
	s.add("Exact API calls, most in any sliding 60 s", maxWin, "informational: spans two of Exact's windows")
	s.add("HTTP 429 from Exact", stats.RateLimited, fmt.Sprintf("goal 0: %s", met(stats.RateLimited == 0)))
	s.add("orders accepted by the gateway", len(refs), fmt.Sprintf("%d placeOrder requests; answers: %s", st.byAction["order"], fmtCounts(st.orderErrs)))
	s.add("orders written to Exact", written, fmt.Sprintf("exactly once: %s (%d written twice or more, %d not yet written after %s)", met(dup == 0 && written == len(refs)), dup, len(refs)-written, drain))
	if passDone.IsZero() {
		st.mirror.mu.Lock()
		s.add("mirror's first full pass", "not finished", fmt.Sprintf("feeds still in their first pass: %s", st.mirror.lastStatus))
		st.mirror.mu.Unlock()
	} else {
		// The sandbox was fresh when the gateway started: every call before
		// passDone belongs to the first pass or to fallback reads.
		st.mirror.mu.Lock()
		passCalls := 0
		for _, v := range st.mirror.feedCalls {
			passCalls += int(v)
		}
		st.mirror.mu.Unlock()
		feedMin := busiestClockMinute(calls, time.Time{}, passDone, isFeedCall)
		allMin := busiestClockMinute(calls, time.Time{}, passDone, func(c sandbox.Call) bool { return !isOrderCall(c) })
		passSent := 0
		for _, c := range calls {
			if c.Kind == sandbox.KindAPI && c.Time.Before(passDone) && isFeedCall(c) {
				passSent++
			}
		}
		s.add("mirror's first full pass", fmt.Sprintf("%d feed calls at Exact", passSent),
			fmt.Sprintf("done %.1f s after the buyers started (%d feeds; the gateway counted %d feed calls sent); feed calls in its busiest clock minute %d (cap: half of 60: %s), feeds and fallback together %d", passDone.Sub(start).Seconds(), st.mirror.feeds, passCalls, feedMin, met(feedMin <= 30), allMin))
		a := st.after
		var ac []string
		for _, c := range slices.Sorted(maps.Keys(a.codes)) {
			ac = append(ac, fmt.Sprintf("%s %d", c, a.codes[c]))
		}
		s.add("answered without any error, after the first pass", fmt.Sprintf("%.2f %%", 100*float64(a.ok)/float64(max(a.total, 1))),
			fmt.Sprintf("%d of %d requests; goal ≥ 99.9 %%: %s; errors: %s; failed by action: %s", a.ok, a.total, met(a.total > 0 && a.ok*1000 >= a.total*999), orNone(strings.Join(ac, ", ")), fmtCounts(a.failed)))
	}
	s.add("Exact calls of the run by purpose", bd.Total, fmt.Sprintf("feeds %d, orders %d, fallback reads %d", bd.Feeds, bd.Orders, bd.Fallback))
	s.add("feed calls by feed (gateway's exactql_mirror_sync_calls_total)", bd.PerFeedSum, bd.perFeedString()+"; calls sent to Exact (a call the governor refused is not counted)")
	if hasProjection {
		s.add("steady-state projection (/metrics)", fmt.Sprintf("%.0f calls a day", projected),
			fmt.Sprintf("%.1f %% of the %d-call day; goal ≤ 30 %%: %s", 100*projected/float64(e.dayLimit), e.dayLimit, met(projected <= 0.3*float64(e.dayLimit))))
	}
	// The governor spreads what is left of the day (less its 10 % write
	// reserve) evenly until midnight UTC: the read rate of this run.
	left := time.Until(time.Date(start.UTC().Year(), start.UTC().Month(), start.UTC().Day()+1, 0, 0, 0, 0, time.UTC))
	s.note("the governor's even spread of reads at the start (0.9 × %d calls over the %s to midnight UTC, the gateway's rule): %.1f calls a minute; right after midnight it would be %.1f", e.dayLimit, left.Round(time.Minute), 0.9*float64(e.dayLimit)/left.Minutes(), 0.9*float64(e.dayLimit)/1440)
	s.note("Exact calls by endpoint (sandbox's log): %s", bd.endpointString())
	for i, m := range st.minutes {
		pm := func(n int) string { return fmt.Sprintf("%.0f %%", 100*float64(n)/float64(max(m.total, 1))) }
		calls := 0
		if i < len(perMinute) {
			calls = perMinute[i]
		}
		s.add(fmt.Sprintf("minute %d", i+1), fmt.Sprintf("%d requests", m.total),
			fmt.Sprintf("ok %s, stale %s, RATE_LIMITED %s, Exact calls %d", pm(m.ok), pm(m.stale), pm(m.limited), calls))
	}
	var acts []string
	for a, n := range st.byAction {
		acts = append(acts, fmt.Sprintf("%s %d", a, n))
	}
	slices.Sort(acts)
	s.note("requests by action: %s; buyers by price situation: %s", strings.Join(acts, ", "), fmtCounts(kinds))
	s.note("a cold gateway starts the day with the mirror on (EXACTQL_SYNC default): until a feed's first full pass is done its data comes from the fallback (cache and Exact); nothing is compressed: real clock, Exact's real limits, %s of the day", elapsed.Round(time.Second))
	return nil
}

// act performs one shopper action.
func (s *shopper) act(ctx, bg context.Context, c *http.Client, base string, cat *catalog, st *dayStats, who, n int) {
	p := s.rng.Float64()
	switch {
	case p < 0.015 && s.orders == 0:
		s.order(bg, c, base, cat, st, who)
	case p < 0.40:
		vars := map[string]any{"first": 24}
		if s.rng.IntN(2) == 0 && len(cat.Groups) > 0 {
			vars["group"] = cat.Groups[s.rng.IntN(len(cat.Groups))]
		}
		if s.cursor != "" && s.rng.IntN(2) == 0 {
			// The next page of the same listing (a cursor belongs to its query).
			vars = map[string]any{}
			for k, v := range s.last {
				vars[k] = v
			}
			vars["after"] = s.cursor
		}
		s.page(ctx, c, base, "browse", vars, st)
	case p < 0.65:
		s.page(ctx, c, base, "search", map[string]any{"first": 24, "search": cat.Words[s.rng.IntN(len(cat.Words))]}, st)
	default:
		code := cat.Codes[s.rng.IntN(len(cat.Codes))]
		if len(s.seen) > 0 && s.rng.IntN(4) > 0 {
			code = s.seen[s.rng.IntN(len(s.seen))]
		}
		t0 := time.Now()
		r, err := query(ctx, c, base, s.b.Token, productQuery, map[string]any{"code": code})
		if ctx.Err() != nil {
			return
		}
		st.record("product", time.Since(t0), r, err)
	}
}

func (s *shopper) page(ctx context.Context, c *http.Client, base, action string, vars map[string]any, st *dayStats) {
	t0 := time.Now()
	r, err := query(ctx, c, base, s.b.Token, pageQuery, vars)
	if ctx.Err() != nil {
		return // the day ended mid-request: not counted
	}
	st.record(action, time.Since(t0), r, err)
	if err != nil || len(r.Errors) > 0 {
		return
	}
	var p pageData
	if json.Unmarshal(r.Data, &p) != nil {
		return
	}
	s.seen = s.seen[:0]
	for _, n := range p.Products.Nodes {
		s.seen = append(s.seen, n.Code)
	}
	s.cursor, s.last = "", vars
	if p.Products.PageInfo.HasNextPage && p.Products.PageInfo.EndCursor != nil {
		s.cursor = *p.Products.PageInfo.EndCursor
	}
}

// order places one order of up to four seen products; a transport failure
// is retried with the same idempotency key. It runs on bg so that the end of
// the day does not cut an order off midway.
func (s *shopper) order(bg context.Context, c *http.Client, base string, cat *catalog, st *dayStats, who int) {
	s.orders++
	ref := fmt.Sprintf("BENCH-%03d-%d", who, s.orders)
	// Products seen on the last page, or (when no page came through) any
	// from the catalog, as a buyer ordering from a printed price list would.
	pool := s.seen
	if len(pool) == 0 {
		pool = cat.Codes
	}
	var lines []map[string]any
	for _, k := range s.rng.Perm(len(pool))[:min(len(pool), 1+s.rng.IntN(4))] {
		lines = append(lines, map[string]any{"productCode": pool[k], "quantity": fmt.Sprint(1 + s.rng.IntN(5))})
	}
	input := map[string]any{"idempotencyKey": "bench-" + ref, "lines": lines, "yourReference": ref}
	for attempt := 0; attempt < 3; attempt++ {
		t0 := time.Now()
		r, err := query(bg, c, base, s.b.Token, placeOrderMutation, map[string]any{"input": input})
		st.record("order", time.Since(t0), r, err)
		if err != nil {
			continue
		}
		var d struct {
			PlaceOrder *struct {
				Order      *struct{ ID, Status string }
				UserErrors []struct{ Code string }
			}
		}
		_ = json.Unmarshal(r.Data, &d)
		st.mu.Lock()
		switch {
		case d.PlaceOrder != nil && d.PlaceOrder.Order != nil:
			st.orders[ref] = d.PlaceOrder.Order.Status
			st.orderErrs[d.PlaceOrder.Order.Status]++
		case d.PlaceOrder != nil && len(d.PlaceOrder.UserErrors) > 0:
			st.orderErrs["userError "+d.PlaceOrder.UserErrors[0].Code]++
		default:
			st.orderErrs["error "+r.Code()]++
		}
		st.mu.Unlock()
		return
	}
}

// countOrders counts sandbox orders per reference: how many of refs were
// written and how many were written more than once.
func countOrders(sb *sandbox.Sandbox, refs map[string]bool) (written, duplicated int) {
	n := map[string]int{}
	for _, o := range sb.Orders() {
		if r, _ := o["YourRef"].(string); refs[r] {
			n[r]++
		}
	}
	for _, c := range n {
		written++
		if c > 1 {
			duplicated++
		}
	}
	return written, duplicated
}

// maxInWindow returns the most times within any window of length w.
func maxInWindow(sorted []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range sorted {
		for sorted[i].Sub(sorted[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func fmtCounts(m map[string]int) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// sleepCtx waits d; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
