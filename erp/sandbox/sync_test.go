package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// syncRows reads every row of a sync feed newer than since.
func (e *env) syncRows(t *testing.T, at, path, sel string, since int64) []map[string]any {
	t.Helper()
	rows, _ := e.follow(t, e.api(path)+q("$select", sel, "$filter", "Timestamp gt "+strconv.FormatInt(since, 10)+"L"), at)
	return rows
}

func maxTS(t *testing.T, rows []map[string]any) int64 {
	t.Helper()
	var m int64
	for _, r := range rows {
		n, err := strconv.ParseInt(r["Timestamp"].(string), 10, 64)
		if err != nil {
			t.Fatalf("Timestamp %v is not an Int64 string", r["Timestamp"])
		}
		m = max(m, n)
	}
	return m
}

func TestSyncFeedsServed(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	cases := []struct {
		path, sel string
		want      int
	}{
		{PathSyncAccounts, "ID,Name", len(e.sb.sets[gen.PathAccounts])},
		{PathSyncContacts, "ID,Account", len(e.sb.sets[gen.PathContacts])},
		{PathSyncAddresses, "ID,Type", len(e.sb.sets[gen.PathAddresses])},
		{PathSyncOrderHeaders, "OrderID,OrderedBy", len(e.sb.sets[gen.PathSalesOrders])},
		{PathSyncOrderLines, "ID,OrderID", len(e.sb.sets[gen.PathSalesOrderLines])},
		{PathSyncStockPositions, "ItemId,Warehouse,CurrentStock,PlanningIn,PlanningOut,ReservedStock", len(e.sb.sets[gen.PathItemWarehouses])},
		{PathSyncDeleted, "EntityKey,EntityType,DeletedDate", 0},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			rows := e.syncRows(t, at, c.path, c.sel+",Timestamp", 1)
			if len(rows) != c.want {
				t.Errorf("%d rows, want %d", len(rows), c.want)
			}
		})
	}
	// Exact rules: $select and a Timestamp filter are required.
	if r := e.get(t, e.api(PathSyncStockPositions)+q("$filter", "Timestamp gt 1L"), at); r.status != 400 || r.errMsg(t) != msgSelectRequired {
		t.Errorf("without $select: %d %s", r.status, r.body)
	}
	if r := e.get(t, e.api(PathSyncDeleted)+q("$select", "EntityKey"), at); r.status != 400 || r.errMsg(t) != msgSyncFilter {
		t.Errorf("without Timestamp filter: %d %s", r.status, r.body)
	}
	// sync/Inventory/ItemWarehouses carries no quantities at Exact.
	if r := e.get(t, e.api(gen.PathSyncItemWarehouse)+q("$select", "ID,CurrentStock", "$filter", "Timestamp gt 1L"), at); r.status != 400 {
		t.Errorf("ItemWarehouses with CurrentStock: %d %s", r.status, r.body)
	}
}

func TestControlChangesBumpTimestamps(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	item := e.sb.sets[gen.PathItems][3]
	itemID := item["ID"].(string)
	wh := e.sb.sets[gen.PathWarehouses][0]["ID"].(string)
	last := maxTS(t, e.syncRows(t, at, gen.PathSyncItems, "ID,Timestamp", 1))
	lastStock := maxTS(t, e.syncRows(t, at, PathSyncStockPositions, "ItemId,Timestamp", 1))

	if err := e.sb.SetStandardSalesPrice(itemID, decimal.RequireFromString("12.34")); err != nil {
		t.Fatal(err)
	}
	rows := e.syncRows(t, at, gen.PathSyncItems, "ID,StandardSalesPrice,Timestamp", last)
	if len(rows) != 1 || rows[0]["ID"] != itemID || rows[0]["StandardSalesPrice"] != 12.34 {
		t.Errorf("after the price change: %v", rows)
	}
	if err := e.sb.SetStock(itemID, wh, decimal.NewFromInt(77)); err != nil {
		t.Fatal(err)
	}
	rows = e.syncRows(t, at, PathSyncStockPositions, "ItemId,Warehouse,CurrentStock,Timestamp", lastStock)
	if len(rows) != 1 || rows[0]["ItemId"] != itemID || rows[0]["Warehouse"] != wh || rows[0]["CurrentStock"] != 77.0 {
		t.Errorf("after the stock change: %v", rows)
	}
	newID, err := e.sb.AddItem(NewItem{Code: "NEW-1", Description: "New thing", Price: decimal.NewFromInt(5)})
	if err != nil {
		t.Fatal(err)
	}
	rows = e.syncRows(t, at, gen.PathSyncItems, "ID,Code,Timestamp", last)
	if len(rows) != 2 || rows[1]["ID"] != newID || rows[1]["Code"] != "NEW-1" {
		t.Errorf("after adding an item: %v", rows)
	}
	// Bad input changes nothing.
	before := e.sb.maxTS
	for name, err := range map[string]error{
		"duplicate code": func() error { _, err := e.sb.AddItem(NewItem{Code: "new-1", Description: "x"}); return err }(),
		"negative price": e.sb.SetStandardSalesPrice(itemID, decimal.NewFromInt(-1)),
		"unknown item":   e.sb.SetStock("00000000-0000-0000-0000-000000000000", wh, decimal.Zero),
		"no lines":       func() error { _, err := e.sb.StaffOrder(e.sb.DemoBuyers()[0].AccountID, nil); return err }(),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if e.sb.maxTS != before {
		t.Errorf("rejected changes moved the Timestamp from %d to %d", before, e.sb.maxTS)
	}

	// A deleted agreement goes to sync/Deleted with EntityType 8.
	var agreement string
	for _, p := range e.sb.sets[gen.PathSalesItemPrices] {
		if p["Account"] != nil {
			agreement = p["ID"].(string)
			break
		}
	}
	if err := e.sb.DeletePriceAgreement(agreement); err != nil {
		t.Fatal(err)
	}
	del := e.syncRows(t, at, PathSyncDeleted, "EntityKey,EntityType,Timestamp", 1)
	if len(del) != 1 || del[0]["EntityKey"] != agreement || del[0]["EntityType"] != 8.0 {
		t.Errorf("sync/Deleted: %v", del)
	}
	if err := e.sb.DeletePriceAgreement(agreement); err != ErrNoSuchRecord {
		t.Errorf("second delete: %v", err)
	}

	// A staff order appears in both order feeds.
	lastOrder := maxTS(t, e.syncRows(t, at, PathSyncOrderHeaders, "OrderID,Timestamp", 1))
	oid, err := e.sb.StaffOrder(e.sb.DemoBuyers()[0].AccountID, []StaffLine{{ItemID: itemID, Quantity: decimal.NewFromInt(2)}})
	if err != nil {
		t.Fatal(err)
	}
	if h := e.syncRows(t, at, PathSyncOrderHeaders, "OrderID,Timestamp", lastOrder); len(h) != 1 || h[0]["OrderID"] != oid {
		t.Errorf("order headers: %v", h)
	}
	if l := e.syncRows(t, at, PathSyncOrderLines, "OrderID,Quantity,Timestamp", lastOrder-5); len(l) == 0 || l[len(l)-1]["OrderID"] != oid {
		t.Errorf("order lines: %v", l)
	}
}

func TestControlHTTP(t *testing.T) {
	e := newEnv(t, nil)
	item := e.sb.sets[gen.PathItems][0]["ID"].(string)
	wh := e.sb.sets[gen.PathWarehouses][0]["ID"].(string)
	cases := []struct {
		name, path, body string
		want             int
	}{
		{"price", "/sandbox/items/price", `{"item_id":"` + item + `","price":"9.5"}`, 204},
		{"price unknown item", "/sandbox/items/price", `{"item_id":"00000000-0000-0000-0000-000000000000","price":"1"}`, 404},
		{"price unknown field", "/sandbox/items/price", `{"item":"x"}`, 400},
		{"stock", "/sandbox/stock", `{"item_id":"` + item + `","warehouse_id":"` + wh + `","on_hand":"3"}`, 204},
		{"add item", "/sandbox/items", `{"code":"H-1","description":"Via HTTP","price":"2"}`, 200},
		{"add item again", "/sandbox/items", `{"code":"H-1","description":"Via HTTP","price":"2"}`, 400},
		{"delete unknown agreement", "/sandbox/price-agreements/delete", `{"id":"00000000-0000-0000-0000-000000000000"}`, 404},
		{"staff order", "/sandbox/orders", `{"account_id":"` + e.sb.DemoBuyers()[0].AccountID + `","lines":[{"item_id":"` + item + `","quantity":"1"}]}`, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, c.path, "", c.body, nil)
			if r.status != c.want {
				t.Errorf("status %d, want %d: %s", r.status, c.want, r.body)
			}
		})
	}
}

// hookSink records webhook POSTs.
type hookSink struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.mu.Unlock()
}

func TestWebhookSubscriptionsAndSignedDelivery(t *testing.T) {
	e := newEnv(t, nil)
	at, _ := e.token(t)
	sink := &hookSink{}
	hs := httptest.NewServer(sink)
	defer hs.Close()
	sub := e.do(t, http.MethodPost, e.api(PathWebhookSubscriptions), at, `{"CallbackURL":"`+hs.URL+`/webhooks/exact","Topic":"Items"}`, nil)
	if sub.status != 201 {
		t.Fatalf("subscribe: %d %s", sub.status, sub.body)
	}
	if r := e.do(t, http.MethodPost, e.api(PathWebhookSubscriptions), at, `{"CallbackURL":"`+hs.URL+`/webhooks/exact","Topic":"Items"}`, nil); r.status != 400 {
		t.Errorf("duplicate subscription: %d", r.status)
	}
	if r := e.do(t, http.MethodPost, e.api(PathWebhookSubscriptions), at, `{"CallbackURL":"`+hs.URL+`","Topic":"Prices"}`, nil); r.status != 400 {
		t.Errorf("unknown topic: %d", r.status)
	}
	e.sb.WaitWebhooks()
	item := e.sb.sets[gen.PathItems][0]["ID"].(string)
	if err := e.sb.SetStandardSalesPrice(item, decimal.NewFromInt(3)); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitWebhooks()
	sink.mu.Lock()
	bodies := sink.bodies
	sink.mu.Unlock()
	if len(bodies) != 2 || len(bodies[0]) != 0 {
		t.Fatalf("want a validation POST then one notification, got %q", bodies)
	}
	var msg struct {
		Content  json.RawMessage
		HashCode string
	}
	if err := json.Unmarshal(bodies[1], &msg); err != nil {
		t.Fatal(err)
	}
	if msg.HashCode != Sign(DefaultWebhookSecret, msg.Content) || len(msg.HashCode) != 64 || strings.ToUpper(msg.HashCode) != msg.HashCode {
		t.Errorf("HashCode %q does not sign the content", msg.HashCode)
	}
	var c map[string]any
	_ = json.Unmarshal(msg.Content, &c)
	if c["Topic"] != "Items" || c["Key"] != item || c["Action"] != "Update" {
		t.Errorf("content %v", c)
	}
	// List and delete.
	list := e.get(t, e.api(PathWebhookSubscriptions)+q("$select", "ID,Topic,CallbackURL"), at).page(t)
	if len(list.D.Results) != 1 {
		t.Fatalf("list: %v", list.D.Results)
	}
	id := list.D.Results[0]["ID"].(string)
	if r := e.do(t, http.MethodDelete, e.api(PathWebhookSubscriptions+"(guid'"+id+"')"), at, "", nil); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := e.do(t, http.MethodDelete, e.api(PathWebhookSubscriptions+"(guid'"+id+"')"), at, "", nil); r.status != 404 {
		t.Errorf("second delete: %d", r.status)
	}
	if st := e.sb.WebhookStats(); st.Validations != 1 || st.Delivered != 1 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
}
