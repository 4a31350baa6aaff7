package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/catalog"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
	"github.com/shopspring/decimal"
)

// mirrorEnv starts the gateway with the mirror on. A tiny share makes the
// steady-state intervals hours long, so no scheduled poll runs during a
// test: whatever the feeds read after the first pass was woken by a webhook.
var mirrorEnv = map[string]string{"EXACTQL_SYNC": "true", "EXACTQL_SYNC_SHARE": "0.001",
	"EXACTQL_CALLER_BUDGET": "100000"}

// waitFor polls cond until it holds or timeout passes. The feeds run in
// the gateway's background goroutines on the real clock and expose no
// completion channel, so the test checks their state; the deadline is a
// failure bound, not a timing assertion.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: not within %s", what, timeout)
		}
	}
}

// waitMirror waits until every feed finished its first full pass and the
// mirror serves every kind of data.
func waitMirror(t *testing.T, g *gateway) {
	t.Helper()
	waitFor(t, 2*time.Minute, "first full pass", func() bool {
		if !g.st.Feeds.Complete() {
			return false
		}
		for k := range catalog.Needs {
			if !g.st.Mirror.Serves(k) {
				return false
			}
		}
		return true
	})
}

// callsOutsideFeeds is the Exact API calls the sandbox answered that no
// feed made: every API call, less the feeds' own (their counters), less
// the webhook subscriptions made at start.
func callsOutsideFeeds(g *gateway) int64 {
	var feedCalls int64
	for _, f := range g.st.Feeds.Status() {
		feedCalls += f.Calls
	}
	api := g.st.Sandbox.CallCount(func(c sandbox.Call) bool {
		return c.Kind == sandbox.KindAPI && !strings.HasPrefix(c.Endpoint, "webhooks/")
	})
	return int64(api) - feedCalls
}

const mirrorProductFields = `id code description extraDescription barcode unit unitDescription fractionAllowed
  price { unitPrice { amount currencyCode } listPrice { amount } discountPercentage quantity source validUntil }
  q10: price(quantity: "10") { unitPrice { amount } }
  priceBreaks { minimumQuantity unitPrice { amount } }
  stock { warehouse { id code isMain } onHand plannedOut plannedIn reserved available }
  availableQuantity itemGroup { id code description } pictureUrl`

const mirrorViewer = `{ viewer { id code name email phone vatNumber currency discountPercentage
  priceList { id code description } paymentCondition defaultShippingMethod { id code description }
  contacts { id firstName lastName fullName email phone isMain }
  invoiceAddress { id type isMain line1 postcode city country } deliveryAddresses { id type isMain line1 city }
  orders(first: 5) { pageInfo { hasNextPage } nodes { id orderNumber status orderDate description
    amount { amount currencyCode } lines { lineNumber productCode quantity unitPrice { amount } amount { amount } } } } } }`

// mirrorBuyers signs tokens for n of the sandbox's accounts (the demo
// buyers first), read through the mirror's index.
func mirrorBuyers(t *testing.T, g *gateway, n int) []string {
	t.Helper()
	var toks []string
	for _, d := range g.st.DemoTokens {
		if d.Rule != gen.RuleBlocked {
			toks = append(toks, d.Token)
		}
	}
	// The accounts are read before any measurement starts.
	var accounts []string
	for a, err := range g.st.Client.Accounts.List(t.Context(), erp.Query{Filter: erp.Eq("Status", erp.String("C"))}) {
		if err != nil {
			t.Fatalf("listing accounts: %v", err)
		}
		if !a.Blocked {
			accounts = append(accounts, a.ID)
		}
	}
	seen := map[string]bool{}
	for _, d := range g.st.DemoTokens {
		seen[strings.ToLower(d.Account)] = true
	}
	for _, a := range accounts {
		if len(toks) >= n {
			break
		}
		if seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		tok, err := server.SignToken([]byte("test-secret-test-secret-test-secret-0123"), "buyer-"+a, a, "", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	for i := 0; len(toks) < n; i++ {
		toks = append(toks, toks[i]) // a small data set: buyers repeat
	}
	return toks
}

// TestMirrorPageViewsCostNoExactCalls (issue 12 "done when", item 5a):
// after the first full pass, 1,000 mixed page views by 50 buyers (search,
// paging, details, quick order by code, viewer with orders) cost no Exact
// call outside the feeds.
func TestMirrorPageViewsCostNoExactCalls(t *testing.T) {
	g := startGateway(t, mirrorEnv)
	waitMirror(t, g)
	var firstPass int64
	for _, f := range g.st.Feeds.Status() {
		firstPass += f.Calls
	}
	t.Logf("first full pass: %d Exact calls over %d feeds", firstPass, len(g.st.Feeds.Feeds()))
	buyers := mirrorBuyers(t, g, 50)

	var first struct {
		Products struct {
			Nodes    []struct{ Code, Description string }
			PageInfo struct{ EndCursor string }
		}
	}
	before := callsOutsideFeeds(g)
	g.mustQuery(buyers[0], `{ products(first: 24) { nodes { code description } pageInfo { endCursor } } }`, nil, &first)
	if len(first.Products.Nodes) < 10 {
		t.Fatalf("first page has %d products", len(first.Products.Nodes))
	}
	var codes []string
	for _, n := range first.Products.Nodes {
		codes = append(codes, n.Code)
	}
	word := strings.Fields(first.Products.Nodes[3].Description)[0]

	views := []struct {
		q    string
		vars func(i int) map[string]any
	}{
		{`query($s: String) { products(first: 24, search: $s) { nodes { ` + mirrorProductFields + ` } } }`,
			func(int) map[string]any { return map[string]any{"s": word} }},
		{`query($a: String) { products(first: 24, after: $a) { nodes { ` + mirrorProductFields + ` } pageInfo { endCursor } } }`,
			func(int) map[string]any { return map[string]any{"a": first.Products.PageInfo.EndCursor} }},
		{`query($c: String) { product(code: $c) { ` + mirrorProductFields + ` } }`,
			func(i int) map[string]any { return map[string]any{"c": codes[i%len(codes)]} }},
		{`query($c: [String!]!) { productsByCode(codes: $c) { code price { unitPrice { amount } } stock { available } availableQuantity } }`,
			func(i int) map[string]any {
				return map[string]any{"c": []string{codes[i%len(codes)], codes[(i+1)%len(codes)], "NO-SUCH-CODE"}}
			}},
		{mirrorViewer, func(int) map[string]any { return nil }},
	}
	const total, workers = 1000, 10
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				v := views[i%len(views)]
				r := g.query(buyers[i%len(buyers)], v.q, v.vars(i))
				if r.status != 200 || len(r.Errors) > 0 {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("view %d: %d %+v", i, r.status, r.Errors))
					mu.Unlock()
				}
			}
		}()
	}
	began := time.Now()
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d page views by %d buyers, %d at a time: %s wall time", total, len(buyers), workers, time.Since(began))
	if len(failures) > 0 {
		t.Fatalf("%d of %d page views failed, first: %s", len(failures), total, failures[0])
	}
	if got := callsOutsideFeeds(g) - before; got != 0 {
		t.Fatalf("%d page views cost %d Exact calls outside the feeds, want 0:%s", total, got, g.callLog())
	}
}

// stripVolatile removes what differs between two gateways by design: the
// time stock was read (asOf) and the response extensions.
func stripVolatile(v any) any {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "asOf")
		for k, e := range x {
			x[k] = stripVolatile(e)
		}
	case []any:
		for i, e := range x {
			x[i] = stripVolatile(e)
		}
	}
	return v
}

func canonical(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(stripVolatile(v), "", " ")
	return string(b)
}

// TestMirrorAnswersMatchFallback (item 5b): the same queries against a
// gateway reading from the mirror and one with EXACTQL_SYNC=false over the
// same generated data give the same JSON on every read field except search
// (the fallback cannot fold accents; its search is Exact's substringof)
// and asOf (when stock was read).
func TestMirrorAnswersMatchFallback(t *testing.T) {
	mirror := startGateway(t, mirrorEnv)
	fallback := startGateway(t, map[string]string{"EXACTQL_SYNC": "false", "EXACTQL_CALLER_BUDGET": "100000"})
	waitMirror(t, mirror)

	var page struct {
		Products struct {
			Nodes    []struct{ Code string }
			PageInfo struct{ EndCursor string }
		}
	}
	fallback.mustQuery("", `{ products(first: 30) { nodes { code } pageInfo { endCursor } } }`, nil, &page)
	codes := []string{}
	for _, n := range page.Products.Nodes {
		codes = append(codes, n.Code)
	}
	queries := []struct {
		name string
		q    string
		vars map[string]any
	}{
		{"page 1", `{ products(first: 30) { edges { cursor node { ` + mirrorProductFields + ` } } pageInfo { hasNextPage endCursor } } }`, nil},
		{"page 2", `query($a: String) { products(first: 30, after: $a) { edges { cursor node { ` + mirrorProductFields + ` } } pageInfo { hasNextPage endCursor } } }`,
			map[string]any{"a": page.Products.PageInfo.EndCursor}},
		{"product by code", `query($c: String) { product(code: $c) { ` + mirrorProductFields + ` } }`, map[string]any{"c": codes[7]}},
		{"quick order", `query($c: [String!]!) { productsByCode(codes: $c) { ` + mirrorProductFields + ` } }`,
			map[string]any{"c": append(append([]string{}, codes[:12]...), "NO-SUCH-CODE", strings.ToLower(codes[3]))}},
		{"reference lists", `{ itemGroups { id code description } warehouses { id code description isMain } shippingMethods { id code description } }`, nil},
		{"viewer", mirrorViewer, nil},
	}
	// The fallback gateway spends Exact's 60-call minute of its sandbox:
	// the buyer-independent lists are compared for the first buyer only.
	first := true
	for _, d := range mirror.st.DemoTokens {
		if d.Rule == gen.RuleBlocked {
			continue
		}
		// The fallback gateway's sandbox has the same data but signs with
		// its own demo token for the same account.
		var ftok string
		for _, fd := range fallback.st.DemoTokens {
			if fd.Account == d.Account {
				ftok = fd.Token
			}
		}
		for _, q := range queries {
			if !first && (q.name == "reference lists" || q.name == "page 2") {
				continue
			}
			m, f := mirror.query(d.Token, q.q, q.vars), fallback.query(ftok, q.q, q.vars)
			if len(m.Errors) > 0 || len(f.Errors) > 0 {
				t.Fatalf("%s %s: errors mirror %+v fallback %+v", d.Rule, q.name, m.Errors, f.Errors)
			}
			if a, b := canonical(t, m.Data), canonical(t, f.Data); a != b {
				t.Errorf("%s %s: mirror and fallback differ:\n%s", d.Rule, q.name, firstDiff(a, b))
			}
		}
		first = false
	}
}

// TestMirrorSeesSandboxChangesAfterWebhook (item 5c): a price, a stock
// figure, a new item and an order entered by staff, changed through the
// sandbox's control API, show through GraphQL after the sandbox's signed
// webhook woke the feed, long before the feeds' intervals (hours at this
// share).
func TestMirrorSeesSandboxChangesAfterWebhook(t *testing.T) {
	g := startGateway(t, mirrorEnv)
	waitMirror(t, g)
	for _, f := range g.st.Feeds.Status() {
		if f.Interval < time.Hour {
			t.Fatalf("feed %s polls every %s; the test needs intervals above an hour", f.Feed, f.Interval)
		}
	}
	var buyer, account string
	for _, d := range g.st.DemoTokens {
		if d.Rule == gen.RuleDefaultPrice {
			buyer, account = d.Token, d.Account
		}
	}
	var p struct {
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
	g.mustQuery(buyer, `{ products(first: 5) { nodes { id code stock { warehouse { id } onHand } } } }`, nil, &p)
	item := p.Products.Nodes[2]
	sb := g.st.Sandbox

	// Price (Items topic).
	if err := sb.SetStandardSalesPrice(item.ID, decimal.RequireFromString("987.65")); err != nil {
		t.Fatal(err)
	}
	// Stock (StockPositions topic).
	wh := item.Stock[0].Warehouse.ID
	if err := sb.SetStock(item.ID, wh, decimal.RequireFromString("4321")); err != nil {
		t.Fatal(err)
	}
	// A new item (Items topic).
	if _, err := sb.AddItem(sandbox.NewItem{Code: "MIRROR-NEW-1", Description: "Mirror test item", Price: decimal.NewFromInt(12)}); err != nil {
		t.Fatal(err)
	}
	// An order entered by staff (SalesOrders topic).
	orderID, err := sb.StaffOrder(account, []sandbox.StaffLine{{ItemID: item.ID, Quantity: decimal.NewFromInt(3)}})
	if err != nil {
		t.Fatal(err)
	}
	sb.WaitWebhooks()

	q := `query($c: String) { product(code: $c) { price { unitPrice { amount } } stock { warehouse { id } onHand } }
	  added: product(code: "MIRROR-NEW-1") { code }
	  viewer { orders(first: 10) { nodes { id } } } }`
	var last gqlResponse
	waitFor(t, 60*time.Second, "changes visible after the webhooks", func() bool {
		last = g.query(buyer, q, map[string]any{"c": item.Code})
		s := string(last.Data)
		return strings.Contains(s, `"987.65"`) && strings.Contains(s, `"onHand":"4321"`) &&
			strings.Contains(s, `"MIRROR-NEW-1"`) && strings.Contains(strings.ToLower(s), strings.ToLower(orderID))
	})
	if st := sb.WebhookStats(); st.Delivered == 0 {
		t.Fatalf("no webhook delivered: %+v", st)
	}
	if !bytes.Contains(last.Data, []byte("MIRROR-NEW-1")) {
		t.Fatalf("new item missing: %s", last.Data)
	}
}

// firstDiff shows the first differing line of two JSON texts with context.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		if i < len(al) && i < len(bl) && al[i] == bl[i] {
			continue
		}
		from := max(0, i-8)
		return fmt.Sprintf("mirror:\n%s\nfallback:\n%s", strings.Join(al[from:min(len(al), i+4)], "\n"),
			strings.Join(bl[from:min(len(bl), i+4)], "\n"))
	}
	return ""
}

// TestMirrorSearchArguments (item 4): schema-v2's search (every word,
// accent- and case-folded), inStock, sort and totalCount are answered from
// the index without Exact calls; the fallback answers what it can and
// refuses the rest with UPSTREAM_UNAVAILABLE.
func TestMirrorSearchArguments(t *testing.T) {
	g := startGateway(t, mirrorEnv)
	waitMirror(t, g)
	tok := g.token(gen.RuleDefaultPrice)
	type conn struct {
		Products struct {
			TotalCount int
			Nodes      []struct {
				Code, Description string
				AvailableQuantity string
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	walk := func(args string) (codes []string, descs []string, total int) {
		after := ""
		for {
			var c conn
			g.mustQuery(tok, `query($a: String) { products(first: 100, after: $a`+args+`) { totalCount nodes { code description availableQuantity } pageInfo { hasNextPage endCursor } } }`,
				map[string]any{"a": nullable(after)}, &c)
			total = c.Products.TotalCount
			for _, n := range c.Products.Nodes {
				codes = append(codes, n.Code)
				descs = append(descs, n.Description)
				if strings.Contains(args, "inStock") && (n.AvailableQuantity == "0" || strings.HasPrefix(n.AvailableQuantity, "-")) {
					t.Errorf("inStock listed %s with available %s", n.Code, n.AvailableQuantity)
				}
			}
			if !c.Products.PageInfo.HasNextPage {
				return
			}
			after = c.Products.PageInfo.EndCursor
		}
	}
	before := callsOutsideFeeds(g)
	all, _, total := walk("")
	if len(all) == 0 || total != len(all) {
		t.Fatalf("totalCount %d, walked %d products", total, len(all))
	}
	_, descs, _ := walk(`, sort: DESCRIPTION`)
	for i := 1; i < len(descs); i++ {
		if strings.ToLower(descs[i-1]) > strings.ToLower(descs[i]) && !strings.ContainsAny(descs[i-1]+descs[i], "éèëöüïáàç") {
			t.Fatalf("sort DESCRIPTION: %q before %q", descs[i-1], descs[i])
		}
	}
	inStock, _, inStockTotal := walk(`, inStock: true`)
	if inStockTotal != len(inStock) || inStockTotal == 0 || inStockTotal >= total {
		t.Fatalf("inStock: totalCount %d, walked %d, of %d products", inStockTotal, len(inStock), total)
	}
	// A description word, upper-cased with an accent added, still matches.
	var word string
	for _, d := range descs {
		for _, w := range strings.Fields(d) {
			if len(w) >= 4 && strings.Contains(w, "e") && !strings.ContainsAny(w, "éèë") {
				word = w
				break
			}
		}
		if word != "" {
			break
		}
	}
	folded := strings.ToUpper(strings.Replace(word, "e", "é", 1))
	found, _, foundTotal := walk(`, search: "` + folded + `"`)
	if foundTotal == 0 || foundTotal != len(found) {
		t.Fatalf("search %q (for %q): totalCount %d, walked %d", folded, word, foundTotal, len(found))
	}
	if got := callsOutsideFeeds(g) - before; got != 0 {
		t.Fatalf("index queries cost %d Exact calls", got)
	}

	fb := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "100000"})
	for _, q := range []string{`{ products(first: 5) { totalCount } }`, `{ products(first: 5, inStock: true) { nodes { code } } }`,
		`{ products(first: 5, sort: RELEVANCE) { nodes { code } } }`} {
		if code := errorCode(fb.query(tok2(fb), q, nil)); code != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("fallback %s: error code %q, want UPSTREAM_UNAVAILABLE", q, code)
		}
	}
	var c conn
	fb.mustQuery(tok2(fb), `{ products(first: 5, sort: CODE) { nodes { code } } }`, nil, &c)
	if len(c.Products.Nodes) != 5 {
		t.Fatalf("fallback list: %d products", len(c.Products.Nodes))
	}
}

func tok2(g *gateway) string { return g.token(gen.RuleDefaultPrice) }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestMirrorStaleOnlyPastTheBound (item 3): an answer from the mirror says
// extensions.stale and staleSeconds only when the data it used is older
// than its bound (stock 5 min, prices 15 min), not while the feeds are
// current.
func TestMirrorStaleOnlyPastTheBound(t *testing.T) {
	clock := &offsetClock{}
	g := startGatewayClock(t, mirrorEnv, clock.now)
	waitMirror(t, g)
	tok := g.token(gen.RulePriceList)
	stockQ := `{ products(first: 3) { nodes { code stock { onHand } } } }`
	priceQ := `{ products(first: 3) { nodes { code price { unitPrice { amount } } } } }`
	for _, q := range []string{stockQ, priceQ} {
		if r := g.query(tok, q, nil); len(r.Errors) > 0 || isStale(r) {
			t.Fatalf("fresh mirror: errors %+v, extensions %v", r.Errors, r.Extensions)
		}
	}
	clock.advance(6 * time.Minute) // past the stock bound, within the price bound
	r := g.query(tok, stockQ, nil)
	secs, _ := r.Extensions["staleSeconds"].(float64)
	if len(r.Errors) > 0 || !isStale(r) || secs < 360 {
		t.Fatalf("stock 6 minutes old: errors %+v, extensions %v (want stale, staleSeconds ≥ 360)", r.Errors, r.Extensions)
	}
	if r := g.query(tok, priceQ, nil); len(r.Errors) > 0 || isStale(r) {
		t.Fatalf("prices 6 minutes old (bound 15): errors %+v, extensions %v", r.Errors, r.Extensions)
	}
}
