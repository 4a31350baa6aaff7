package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
	"github.com/shopspring/decimal"
)

// lagDayLimit is the daily limit the lag test's sandbox reports: high
// enough that the feeds' derived intervals are short (sync/Deleted's at
// most 60 s) at the default EXACTQL_SYNC_SHARE of 0.3. The intervals scale
// with the limit Exact reports, as on a real division with a raised limit.
const lagDayLimit = 100_000

// lagSlack is added to a feed's interval as the failure bound of "visible
// within the interval": the scheduled poll itself, the answer's commit to
// the store and the index, and this test's own polling on a loaded
// machine. The measured lags are logged.
const lagSlack = 10 * time.Second

// TestMirrorLagWithoutWebhook (issue 12, lag): with no webhook at all (a
// production-mode gateway against a sandbox nobody subscribed), a changed
// StandardSalesPrice, a stock figure, a new item and a staff-entered order
// become visible through GraphQL within their feeds' scheduled intervals,
// and a deleted customer price agreement (sync/Deleted, no webhook topic)
// stops applying within 60 s, because the reported daily limit puts the
// Deleted feed's interval at or below 60 s.
func TestMirrorLagWithoutWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the feeds' scheduled polls (about a minute)")
	}
	if pessimisticRead(t) {
		t.Skip("runs against its own sandbox")
	}
	data := gen.DefaultOptions()
	data.Items, data.Customers, data.Currency = 300, 30, "EUR"
	sb := sandbox.New(sandbox.Options{Data: data, MinuteLimit: 1000, DayLimit: lagDayLimit})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	const secret = "lag-test-secret-lag-test-secret-0123456"
	g := startGatewayClock(t, map[string]string{
		"EXACTQL_MODE":          "production",
		"EXACT_BASE_URL":        "http://" + ln.Addr().String(),
		"EXACT_CLIENT_ID":       sb.ClientID(),
		"EXACT_CLIENT_SECRET":   sb.ClientSecret(),
		"EXACT_REFRESH_TOKEN":   sb.IssueRefreshToken(),
		"EXACT_DIVISION":        fmt.Sprint(sb.Division()),
		"EXACTQL_JWT_SECRET":    secret,
		"EXACTQL_SYNC":          "true",
		"EXACTQL_CALLER_BUDGET": "100000",
	}, nil)
	waitMirror(t, g)

	interval := map[string]time.Duration{}
	for _, f := range g.st.Feeds.Status() {
		interval[f.Feed] = f.Interval
	}
	p := g.st.Feeds.Projection()
	t.Logf("reported day limit %d, share %.2f: projected %.0f calls a day; intervals %v", p.DayLimit, p.Share, p.Total, p.Intervals)
	if p.DayLimit != lagDayLimit {
		t.Fatalf("the feeds plan with a day limit of %d; the sandbox reports %d", p.DayLimit, lagDayLimit)
	}
	if interval[feeds.FeedDeleted] > time.Minute {
		t.Fatalf("sync/Deleted polls every %s at a %d-call day; the test needs ≤ 60 s", interval[feeds.FeedDeleted], lagDayLimit)
	}
	if p.Total > p.Share*float64(p.DayLimit) {
		t.Errorf("projected %.0f calls a day, above the share %.0f", p.Total, p.Share*float64(p.DayLimit))
	}

	tok := func(rule string) (string, string) {
		for _, b := range sb.DemoBuyers() {
			if b.Rule == rule {
				s, err := server.SignToken([]byte(secret), "lag-"+rule, b.AccountID, b.ContactID, time.Hour, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				return s, b.AccountID
			}
		}
		t.Fatalf("no demo buyer with rule %s", rule)
		return "", ""
	}
	buyer, account := tok(gen.RuleDefaultPrice)
	agreementBuyer, agreementAccount := tok(gen.RuleCustomerPrice)

	var page struct {
		Products struct {
			Nodes []struct {
				ID, Code string
				Stock    []struct {
					Warehouse struct{ ID string }
					OnHand    string
				}
			}
		}
	}
	g.mustQuery(buyer, `{ products(first: 5) { nodes { id code stock { warehouse { id } onHand } } } }`, nil, &page)
	if len(page.Products.Nodes) < 3 || len(page.Products.Nodes[1].Stock) == 0 {
		t.Fatalf("too few products or no stock rows: %+v", page.Products.Nodes)
	}
	priced, stocked := page.Products.Nodes[0], page.Products.Nodes[1]
	wh := stocked.Stock[0].Warehouse.ID

	// A product the agreement buyer has an agreement on, shown as
	// CUSTOMER_PRICE now; every agreement row of that item and account is
	// deleted below.
	ds := gen.Generate(data)
	codes := map[string]string{}
	for _, it := range ds.Sets[gen.PathItems] {
		id, _ := it["ID"].(string)
		code, _ := it["Code"].(string)
		codes[strings.ToLower(id)] = code
	}
	agreementRows := map[string][]string{} // item code → price row IDs
	for _, r := range ds.Sets[gen.PathSalesItemPrices] {
		acc, _ := r["Account"].(string)
		item, _ := r["Item"].(string)
		id, _ := r["ID"].(string)
		if strings.EqualFold(acc, agreementAccount) && codes[strings.ToLower(item)] != "" {
			c := codes[strings.ToLower(item)]
			agreementRows[c] = append(agreementRows[c], id)
		}
	}
	const sourceQ = `query($c: String) { product(code: $c) { price { source unitPrice { amount } } } }`
	type sourceData struct {
		Product *struct {
			Price *struct {
				Source    string
				UnitPrice struct{ Amount string }
			}
		}
	}
	agreementCode := ""
	for c := range agreementRows {
		var d sourceData
		g.mustQuery(agreementBuyer, sourceQ, map[string]any{"c": c}, &d)
		if d.Product != nil && d.Product.Price != nil && d.Product.Price.Source == "CUSTOMER_PRICE" {
			agreementCode = c
			break
		}
	}
	if agreementCode == "" {
		t.Fatalf("no product shows a CUSTOMER_PRICE to the agreement buyer (%d items with agreement rows)", len(agreementRows))
	}
	deliveredBefore := sb.WebhookStats().Delivered

	// The changes, all at once.
	t0 := time.Now()
	if err := sb.SetStandardSalesPrice(priced.ID, decimal.RequireFromString("987.65")); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetStock(stocked.ID, wh, decimal.RequireFromString("4321")); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.AddItem(sandbox.NewItem{Code: "LAG-NEW-1", Description: "Lag test item", Price: decimal.NewFromInt(12)}); err != nil {
		t.Fatal(err)
	}
	orderID, err := sb.StaffOrder(account, []sandbox.StaffLine{{ItemID: priced.ID, Quantity: decimal.NewFromInt(3)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range agreementRows[agreementCode] {
		if err := sb.DeletePriceAgreement(id); err != nil {
			t.Fatalf("deleting agreement row %s: %v", id, err)
		}
	}

	type change struct {
		name    string
		bound   time.Duration
		visible func() bool
		lag     time.Duration
	}
	has := func(tok, q string, vars map[string]any, want string) func() bool {
		return func() bool {
			r := g.query(tok, q, vars)
			return len(r.Errors) == 0 && strings.Contains(strings.ToLower(string(r.Data)), strings.ToLower(want))
		}
	}
	changes := []*change{
		{name: "StandardSalesPrice", bound: max(interval[feeds.FeedItems], interval[feeds.FeedPrices]),
			visible: has(buyer, `query($c: String) { product(code: $c) { price { unitPrice { amount } } } }`, map[string]any{"c": priced.Code}, `"987.65"`)},
		{name: "stock figure", bound: interval[feeds.FeedStock],
			visible: has(buyer, `query($c: String) { product(code: $c) { stock { onHand } } }`, map[string]any{"c": stocked.Code}, `"4321"`)},
		{name: "new item", bound: interval[feeds.FeedItems],
			visible: has(buyer, `{ product(code: "LAG-NEW-1") { code } }`, nil, `"LAG-NEW-1"`)},
		{name: "staff order", bound: interval[feeds.FeedOrders],
			visible: has(buyer, `{ viewer { orders(first: 20) { nodes { id } } } }`, nil, orderID)},
		{name: "deleted agreement", bound: interval[feeds.FeedDeleted],
			visible: func() bool {
				r := g.query(agreementBuyer, sourceQ, map[string]any{"c": agreementCode})
				return len(r.Errors) == 0 && strings.Contains(string(r.Data), `"source"`) && !strings.Contains(string(r.Data), "CUSTOMER_PRICE")
			}},
	}
	var longest time.Duration
	for _, c := range changes {
		longest = max(longest, c.bound)
	}
	waitFor(t, longest+lagSlack, "every change visible", func() bool {
		all := true
		for _, c := range changes {
			if c.lag == 0 && c.visible() {
				c.lag = time.Since(t0)
			}
			all = all && c.lag != 0
		}
		return all
	})
	for _, c := range changes {
		t.Logf("%s: visible after %.1f s (feed interval %s)", c.name, c.lag.Seconds(), c.bound)
		if c.lag > c.bound+lagSlack {
			t.Errorf("%s: visible after %s, beyond its feed's interval %s (+%s)", c.name, c.lag.Round(100*time.Millisecond), c.bound, lagSlack)
		}
	}
	if c := changes[4]; c.lag > time.Minute+lagSlack {
		t.Errorf("the deleted agreement still applied %s after the deletion; want within 60 s", c.lag.Round(100*time.Millisecond))
	}
	if d := sb.WebhookStats().Delivered; d != deliveredBefore {
		t.Errorf("%d webhook notifications were delivered; the test measures polling without any", d-deliveredBefore)
	}
}
