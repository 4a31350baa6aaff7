package main

import (
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/google/go-cmp/cmp"
)

func TestFeedValues(t *testing.T) {
	m := map[string]float64{
		`exactql_mirror_complete{feed="items"}`:           1,
		`exactql_mirror_complete{feed="stock_positions"}`: 0,
		`exactql_mirror_sync_calls_total{feed="items"}`:   7,
		`exactql_mirror_projected_calls_per_day`:          1499,
	}
	got := feedValues(m, "exactql_mirror_complete")
	if diff := cmp.Diff(map[string]float64{"items": 1, "stock_positions": 0}, got); diff != "" {
		t.Errorf("feedValues (-want +got):\n%s", diff)
	}
}

func TestBreakdownClassifiesCalls(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	api := func(sec int, method, ep, q string) sandbox.Call {
		return sandbox.Call{Time: t0.Add(time.Duration(sec) * time.Second), Method: method, Endpoint: ep, Query: q, Kind: sandbox.KindAPI}
	}
	calls := []sandbox.Call{
		{Time: t0, Endpoint: "oauth2/token", Kind: sandbox.KindToken}, // not an API call
		api(0, "GET", "sync/Logistics/Items", "$select=ID&$filter=Timestamp+gt+1"),
		api(1, "GET", "logistics/ItemGroups", "$select=ID,Code"),                      // the feed's whole re-read
		api(2, "GET", "logistics/ItemGroups", "$select=ID&$filter=ID+eq+guid'x'"),     // a fallback lookup
		api(3, "GET", "logistics/SalesItemPrices", "$filter=Item+eq+guid'y'"),         // fallback
		api(40, "POST", "salesorder/SalesOrders", ""),                                 // order
		api(41, "GET", "salesorder/SalesOrders", "$filter=YourRef+eq+'R'"),            // order search
		api(42, "GET", "sync/SalesOrder/SalesOrderHeaders", "$filter=Timestamp+gt+0"), // feed
	}
	b := breakdown(calls, time.Time{}, map[string]float64{"items": 2, "sales_orders": 1})
	if b.Total != 7 || b.Feeds != 3 || b.Orders != 2 || b.Fallback != 2 || b.PerFeedSum != 3 {
		t.Errorf("breakdown = total %d, feeds %d, orders %d, fallback %d, per-feed sum %d; want 7, 3, 2, 2, 3",
			b.Total, b.Feeds, b.Orders, b.Fallback, b.PerFeedSum)
	}
	// Clock minutes: 10:00 holds the calls at +0…+3 s (4 non-order calls),
	// 10:01 the rest.
	if got := busiestClockMinute(calls, time.Time{}, t0.Add(time.Hour), func(c sandbox.Call) bool { return !isOrderCall(c) }); got != 4 {
		t.Errorf("busiest clock minute = %d, want 4", got)
	}
	if got := busiestClockMinute(calls, time.Time{}, t0.Add(time.Hour), isFeedCall); got != 2 {
		t.Errorf("busiest clock minute of feed calls = %d, want 2", got)
	}
	if got := busiestClockMinute(calls, time.Time{}, t0.Add(2*time.Second), isFeedCall); got != 2 {
		t.Errorf("feed calls before +2 s = %d, want 2", got)
	}
}
