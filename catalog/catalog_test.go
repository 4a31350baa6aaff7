package catalog_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/catalog"
	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/catalog/index"
	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/pricing"
	"github.com/exactql/exactql/store"
)

// statusOf returns a fixed feed status: the named feeds complete with rows.
func statusOf(complete ...string) func() []feeds.FeedStatus {
	return func() []feeds.FeedStatus {
		var out []feeds.FeedStatus
		for _, f := range complete {
			out = append(out, feeds.FeedStatus{Feed: f, Complete: true, Rows: 1})
		}
		return out
	}
}

const (
	itemA = "0a000000-0000-4000-8000-000000000001"
	whA   = "0b000000-0000-4000-8000-000000000001"
)

func TestMirrorServesAKindOnlyOnceItsFeedsAreCompleteAndLoaded(t *testing.T) {
	m := catalog.NewMirror(catalog.Options{Status: statusOf(feeds.FeedItems)})
	// Complete in the store, but its rows have not reached the index yet.
	if m.Serves(catalog.DataItems) {
		t.Fatal("served before the stored rows were applied")
	}
	m.Apply([]feeds.Change{{Feed: feeds.FeedItems, Key: itemA, Row: erp.SyncItem{Item: erp.Item{ID: itemA, Code: "A1", Description: "a", IsSalesItem: true}}}})
	if !m.Serves(catalog.DataItems) {
		t.Fatal("items not served after their feed completed and applied")
	}
	if m.Serves(catalog.DataPrices) || m.Serves(catalog.DataStock) {
		t.Fatal("prices or stock served while their feeds are not complete")
	}
	if _, _, ok := m.StockRows([]string{itemA}); ok {
		t.Fatal("stock answered from the mirror before its feed completed")
	}
	items, ok := m.ItemsByCodes([]string{" a1 ", "nope"})
	if !ok || len(items) != 1 || items[0].ID != itemA {
		t.Fatalf("ItemsByCodes = %v, %v", items, ok)
	}
	if m := catalog.NewMirror(catalog.Options{}); m.Serves(catalog.DataItems) {
		t.Fatal("a mirror without feed status served")
	}
}

func TestApplyMapsStockPositionsAndDeletions(t *testing.T) {
	m := catalog.NewMirror(catalog.Options{Status: statusOf(feeds.FeedItems, feeds.FeedStock, feeds.FeedWarehouses)})
	pos := erp.StockPosition{ItemID: itemA, Warehouse: whA, CurrentStock: decimal.NewFromInt(10),
		PlanningOut: decimal.NewFromInt(3), PlanningIn: decimal.NewFromInt(5), ReservedStock: decimal.NewFromInt(1)}
	m.Apply([]feeds.Change{
		{Feed: feeds.FeedWarehouses, Key: whA, Row: erp.Warehouse{ID: whA, Code: "1", Main: true}},
		{Feed: feeds.FeedItems, Key: itemA, Row: erp.SyncItem{Item: erp.Item{ID: itemA, Code: "A1", IsSalesItem: true}}},
		{Feed: feeds.FeedStock, Key: pos.SyncKey(), Row: pos},
	})
	per, _, ok := m.StockRows([]string{itemA, strings.ToUpper(itemA)})
	if !ok || len(per) != 2 || len(per[0]) != 1 || len(per[1]) != 1 {
		t.Fatalf("StockRows = %+v, %v (want the item's one row for each of the two ways it was asked)", per, ok)
	}
	r := per[1][0]
	if r.Item != itemA {
		t.Fatalf("row of %q, want the item's ID in lower case", r.Item)
	}
	if !r.CurrentStock.Equal(decimal.NewFromInt(10)) || !r.PlannedStockOut.Equal(decimal.NewFromInt(3)) ||
		!r.PlannedStockIn.Equal(decimal.NewFromInt(5)) || !r.ReservedStock.Equal(decimal.NewFromInt(1)) {
		t.Fatalf("StockPosition mapped to %+v", r)
	}
	// Deleting the stock row by the runner's key removes it.
	m.Apply([]feeds.Change{{Feed: feeds.FeedStock, Key: pos.SyncKey(), Deleted: true}})
	if per, _, _ := m.StockRows([]string{itemA}); len(per) != 1 || per[0] == nil || len(per[0]) != 0 {
		t.Fatalf("stock row survived its deletion (or no empty row list): %+v", per)
	}
	// A malformed row is dropped, the rest of its batch applies.
	before := m.Dropped()
	m.Apply([]feeds.Change{
		{Feed: feeds.FeedItems, Key: "x", Row: erp.SyncItem{Item: erp.Item{ID: "", Code: "BAD"}}},
		{Feed: feeds.FeedItems, Key: "b", Row: erp.SyncItem{Item: erp.Item{ID: "0a000000-0000-4000-8000-000000000002", Code: "B1", IsSalesItem: true}}},
		{Feed: "unknown", Key: "y", Row: 42},
	})
	if m.Dropped()-before != 2 {
		t.Fatalf("dropped %d rows, want 2 (the malformed item and the unknown row)", m.Dropped()-before)
	}
	if items, _ := m.ItemsByCodes([]string{"B1"}); len(items) != 1 {
		t.Fatal("the good row of a batch with a bad one was not applied")
	}
}

// TestNeedsCoverEveryKindAndField: the table of which feeds each kind of
// data needs names only real feeds, and every field maps to kinds in it.
func TestNeedsCoverEveryKindAndField(t *testing.T) {
	known := map[string]bool{}
	for _, f := range []string{feeds.FeedItemGroups, feeds.FeedWarehouses, feeds.FeedShippingMethods, feeds.FeedPriceLists,
		feeds.FeedPriceListPeriods, feeds.FeedItems, feeds.FeedPrices, feeds.FeedVolumeDiscounts, feeds.FeedStock,
		feeds.FeedAccounts, feeds.FeedContacts, feeds.FeedAddresses, feeds.FeedOrders, feeds.FeedOrderLines} {
		known[f] = true
	}
	for k, need := range catalog.Needs {
		if len(need) == 0 || k.String() == "" {
			t.Errorf("kind %d: no feeds or no name", k)
		}
		for _, f := range need {
			if !known[f] {
				t.Errorf("kind %s needs unknown feed %q", k, f)
			}
		}
	}
	for field, kinds := range catalog.Fields {
		for _, k := range kinds {
			if _, ok := catalog.Needs[k]; !ok {
				t.Errorf("%s needs kind %d, which has no feeds", field, k)
			}
		}
	}
	if got := catalog.FieldNeeds("Product", "price"); len(got) != 1 || got[0] != catalog.DataPrices {
		t.Errorf("Product.price needs %v", got)
	}
}

// TestRestartServesFromStoredRows (issue 12 item 5d): after a restart on
// the same store the feeds make at most one call each, and the mirror
// answers the same reads as before the restart without any Exact call.
func TestRestartServesFromStoredRows(t *testing.T) {
	clock := erptest.NewClock(erptest.Start)
	env := erptest.Setup(t, erptest.Options{Clock: clock,
		Sandbox: sandbox.Options{Data: gen.Options{Items: 300, Customers: 30, Today: erptest.Start}}})
	dir := t.TempDir()
	ctx := context.Background()

	start := func() (*feeds.Runner, *live.Reader) {
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		var r *feeds.Runner
		m := catalog.NewMirror(catalog.Options{Index: index.New(index.Config{}), Now: clock.Now,
			Status: func() []feeds.FeedStatus { return r.Status() }})
		r, err = feeds.New(feeds.Options{Client: env.Client, Store: st, Subscriber: m.Apply, Now: clock.Now,
			Sleep: func(ctx context.Context, d time.Duration) error { clock.Advance(d); return ctx.Err() },
			After: func(time.Duration) <-chan time.Time { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		c, err := cache.New(cache.Options{MaxCostBytes: 1 << 24})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		rd := live.NewReader(live.ExactUpstream{C: env.Client}, c, live.Config{Division: env.Sandbox.Division(),
			Now: clock.Now, Mirror: m})
		return r, rd
	}
	// reads walks every product page and prices each for a buyer on a
	// price list, returning the answers as JSON.
	reads := func(rd *live.Reader) string {
		var acct string
		for _, b := range env.Sandbox.DemoBuyers() {
			if b.Rule == gen.RulePriceList {
				acct = b.AccountID
			}
		}
		b, err := rd.BuyerData(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		var out []any
		q := live.ItemQuery{Limit: 50}
		for {
			p, err := rd.ItemsPage(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			data, err := rd.PriceData(ctx, b, p.Items)
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range p.Items {
				price, ok := pricing.Resolve(pricing.Context{Today: rd.Today(), DivisionCurrency: "EUR"}, b.Pricing, data[i], decimal.NewFromInt(10))
				out = append(out, it.Code, ok, price.UnitPrice.String())
			}
			if !p.More {
				break
			}
			q.AfterCode = p.Items[len(p.Items)-1].Code
		}
		j, _ := json.Marshal(out)
		return string(j)
	}
	apiCalls := func() int {
		return env.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Kind == sandbox.KindAPI })
	}

	r1, rd1 := start()
	if err := r1.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if !r1.Complete() {
		t.Fatalf("first pass incomplete: %+v", r1.Status())
	}
	n := apiCalls()
	before := reads(rd1)
	if got := apiCalls() - n; got != 0 {
		t.Fatalf("reads after the first pass cost %d Exact calls", got)
	}
	if !strings.Contains(before, "true") {
		t.Fatalf("no product priced: %.300s", before)
	}

	clock.Advance(time.Minute)
	n = apiCalls()
	r2, rd2 := start()
	if err := r2.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	restart := apiCalls() - n
	if restart > len(r2.Feeds()) {
		t.Fatalf("restart cost %d Exact calls for %d feeds", restart, len(r2.Feeds()))
	}
	for _, s := range r2.Status() {
		if s.Calls > 1 {
			t.Errorf("restart: feed %s made %d calls", s.Feed, s.Calls)
		}
	}
	n = apiCalls()
	if after := reads(rd2); after != before {
		t.Fatalf("answers after the restart differ:\nbefore %.400s\nafter  %.400s", before, after)
	}
	if got := apiCalls() - n; got != 0 {
		t.Fatalf("reads after the restart cost %d Exact calls", got)
	}
	t.Logf("restart: %d Exact calls for %d feeds", restart, len(r2.Feeds()))
}

// TestMirrorPriceDataMemoOnlyForTheIndexItem: the mirror hands out the
// price rules' memo only with its own copy of the item; a caller pricing a
// different copy (one read from Exact before the items feed had it) gets
// fresh answers for that copy.
func TestMirrorPriceDataMemoOnlyForTheIndexItem(t *testing.T) {
	t.Parallel()
	const (
		acct = "0c000000-0000-4000-8000-000000000001"
		list = "0d000000-0000-4000-8000-000000000001"
		per  = "0e000000-0000-4000-8000-000000000001"
	)
	m := catalog.NewMirror(catalog.Options{Status: statusOf(feeds.FeedItems, feeds.FeedPrices, feeds.FeedAccounts,
		feeds.FeedPriceLists, feeds.FeedPriceListPeriods, feeds.FeedVolumeDiscounts)})
	it := erp.Item{ID: itemA, Code: "A1", Description: "a", IsSalesItem: true, StandardSalesPrice: decimal.NewFromInt(20)}
	m.Apply([]feeds.Change{
		{Feed: feeds.FeedItems, Key: itemA, Row: erp.SyncItem{Item: it}},
		{Feed: feeds.FeedPrices, Key: "p1", Row: erp.SyncSalesItemPrice{SalesItemPrice: erp.SalesItemPrice{ID: "0f000000-0000-4000-8000-000000000001",
			Item: itemA, Account: acct, Quantity: decimal.NewFromInt(1), Price: decimal.NewFromInt(12), Currency: "EUR"}}},
		{Feed: feeds.FeedAccounts, Key: acct, Row: erp.SyncAccount{Account: erp.Account{ID: acct, PriceList: list}}},
		{Feed: feeds.FeedPriceLists, Key: list, Row: erp.SalesPriceList{ID: list, Code: "PL"}},
		{Feed: feeds.FeedPriceListPeriods, Key: per, Row: erp.SalesPriceListPeriod{ID: per, PriceList: list, Type: erp.PeriodBasic}},
		{Feed: feeds.FeedVolumeDiscounts, Key: "vd", Row: erp.SyncVolumeDiscount{}},
	})
	terms := pricing.Terms{AccountID: acct, PriceList: list}
	own, ok := m.PriceData(terms, []erp.Item{it})
	if !ok || len(own) != 1 || own[0].Memo == nil || len(own[0].AccountRows) != 1 {
		t.Fatalf("PriceData for the mirror's own item = %+v, %v (want the agreement row and a memo)", own, ok)
	}
	again, _ := m.PriceData(terms, []erp.Item{it})
	if again[0].Memo != own[0].Memo {
		t.Fatal("a second read of the same state, buyer and item got another memo")
	}
	other := it
	other.StandardSalesPrice = decimal.NewFromInt(25)
	theirs, ok := m.PriceData(terms, []erp.Item{other})
	if !ok || theirs[0].Memo != nil || !theirs[0].Item.StandardSalesPrice.Equal(other.StandardSalesPrice) {
		t.Fatalf("PriceData for another copy of the item = %+v, %v (want that copy and no memo)", theirs, ok)
	}
}

// TestServesAsksTheRunnerUntilServing: until a kind is served every read
// asks the feed status; once served it stays served without asking again
// (feeds only ever complete, applied rows stay seen).
func TestServesAsksTheRunnerUntilServing(t *testing.T) {
	t.Parallel()
	asked, complete := 0, false
	m := catalog.NewMirror(catalog.Options{Status: func() []feeds.FeedStatus {
		asked++
		return []feeds.FeedStatus{{Feed: feeds.FeedItems, Complete: complete}}
	}})
	for range 3 {
		if m.Serves(catalog.DataItems) {
			t.Fatal("served before its feed completed")
		}
	}
	if asked != 3 {
		t.Fatalf("status asked %d times for 3 reads before serving, want 3", asked)
	}
	complete = true
	for range 3 {
		if !m.Serves(catalog.DataItems) {
			t.Fatal("not served after its feed completed (with no rows to load)")
		}
	}
	if asked != 4 {
		t.Fatalf("status asked %d times in all, want 4 (once more, then never while serving)", asked)
	}
}
