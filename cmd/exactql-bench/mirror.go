package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
)

// mirrorWatch polls the gateway's /metrics until every mirror feed reports
// its first full pass complete, and remembers when that happened and what
// the feeds had spent by then.
type mirrorWatch struct {
	mu         sync.Mutex
	done       time.Time          // zero until every feed is complete
	feedCalls  map[string]float64 // per feed, at completion
	feeds      int                // feeds seen in /metrics
	lastStatus string             // the last poll's incomplete feeds, for a log line
}

// watchMirror starts polling g's /metrics every interval until ctx ends or
// every feed is complete.
func watchMirror(ctx context.Context, g *gateway, interval time.Duration) *mirrorWatch {
	w := &mirrorWatch{}
	go func() {
		for {
			m := g.metrics(ctx, "exactql_mirror_complete", "exactql_mirror_sync_calls_total")
			complete, calls := feedValues(m, "exactql_mirror_complete"), feedValues(m, "exactql_mirror_sync_calls_total")
			var missing []string
			for f, v := range complete {
				if v != 1 {
					missing = append(missing, f)
				}
			}
			slices.Sort(missing)
			w.mu.Lock()
			w.feeds = len(complete)
			w.lastStatus = strings.Join(missing, ",")
			if len(complete) > 0 && len(missing) == 0 {
				w.done, w.feedCalls = time.Now(), calls
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
			if !sleepCtx(ctx, interval) {
				return
			}
		}
	}()
	return w
}

// Done returns when every feed finished its first pass (zero if not yet).
func (w *mirrorWatch) Done() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done
}

// feedValues picks name{feed="x"} out of scraped metrics as x → value.
func feedValues(m map[string]float64, name string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		rest, ok := strings.CutPrefix(k, name+"{")
		if !ok {
			continue
		}
		_, f, ok := strings.Cut(rest, `feed="`)
		if !ok {
			continue
		}
		f, _, _ = strings.Cut(f, `"`)
		out[f] = v
	}
	return out
}

// isOrderCall reports whether an Exact call belongs to order placement:
// the POST, the search for an earlier attempt and the read-back, all on
// salesorder/SalesOrders or …Lines (the order feeds read sync/SalesOrder/…,
// and the shop day reads no order history).
func isOrderCall(c sandbox.Call) bool {
	return strings.HasPrefix(strings.ToLower(c.Endpoint), "salesorder/")
}

// rereadEndpoints are the small sets the feeds read whole, without a
// $filter (no sync feed exists for them).
var rereadEndpoints = map[string]bool{"logistics/itemgroups": true, "inventory/warehouses": true,
	"sales/shippingmethods": true, "sales/salespricelists": true, "sales/salespricelistperiods": true}

// isFeedCall reports whether an Exact call is a feed's: any sync/
// endpoint, or a whole (unfiltered) read of a set the feeds re-read. The
// fallback reads those sets whole too when it loads them; such a read is
// counted as the feeds' (a few calls at most).
func isFeedCall(c sandbox.Call) bool {
	ep := strings.ToLower(c.Endpoint)
	if strings.HasPrefix(ep, "sync/") {
		return true
	}
	return rereadEndpoints[ep] && !strings.Contains(strings.ToLower(c.Query), "filter")
}

// callBreakdown splits a run's Exact API calls, as the sandbox logged
// them, into the feeds', the order flow's and the rest (fallback reads);
// PerFeed is the gateway's own per-feed counter
// (exactql_mirror_sync_calls_total), Endpoints every endpoint's count.
type callBreakdown struct {
	Total, Feeds, Orders, Fallback int
	PerFeed                        map[string]float64
	PerFeedSum                     int
	Endpoints                      map[string]int
}

func breakdown(calls []sandbox.Call, since time.Time, perFeed map[string]float64) callBreakdown {
	b := callBreakdown{PerFeed: perFeed, Endpoints: map[string]int{}}
	for _, c := range calls {
		if c.Kind != sandbox.KindAPI || c.Time.Before(since) {
			continue
		}
		b.Total++
		b.Endpoints[c.Endpoint]++
		switch {
		case isOrderCall(c):
			b.Orders++
		case isFeedCall(c):
			b.Feeds++
		default:
			b.Fallback++
		}
	}
	for _, v := range perFeed {
		b.PerFeedSum += int(v)
	}
	return b
}

func (b callBreakdown) perFeedString() string {
	var out []string
	for _, f := range slices.Sorted(maps.Keys(b.PerFeed)) {
		out = append(out, fmt.Sprintf("%s %g", f, b.PerFeed[f]))
	}
	return strings.Join(out, ", ")
}

func (b callBreakdown) endpointString() string {
	var out []string
	for _, e := range slices.Sorted(maps.Keys(b.Endpoints)) {
		out = append(out, fmt.Sprintf("%s %d", e, b.Endpoints[e]))
	}
	return strings.Join(out, ", ")
}

// busiestClockMinute is the most calls matching keep within one clock
// minute (Exact's window) in [from, to).
func busiestClockMinute(calls []sandbox.Call, from, to time.Time, keep func(sandbox.Call) bool) int {
	n := map[time.Time]int{}
	best := 0
	for _, c := range calls {
		if c.Kind != sandbox.KindAPI || c.Time.Before(from) || !c.Time.Before(to) || !keep(c) {
			continue
		}
		m := c.Time.Truncate(time.Minute)
		n[m]++
		best = max(best, n[m])
	}
	return best
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
