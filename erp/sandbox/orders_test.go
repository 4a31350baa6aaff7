package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/erp/sandbox/odata"
)

type fixture struct {
	buyer, blocked, foreign gen.DemoBuyer
	item, item2             odata.Record
	address, ship, wh       string
}

func (e *env) fixture(t *testing.T) fixture {
	t.Helper()
	var f fixture
	for _, b := range e.sb.DemoBuyers() {
		switch b.Rule {
		case gen.RuleDefaultPrice:
			f.buyer = b
		case gen.RuleBlocked:
			f.blocked = b
		case gen.RuleOtherCurrency:
			f.foreign = b
		}
	}
	for _, it := range e.sb.sets[gen.PathItems] {
		if it["IsSalesItem"] == true {
			if f.item == nil {
				f.item = it
			} else if f.item2 == nil {
				f.item2 = it
			}
		}
	}
	f.address = e.sb.sets[gen.PathAddresses][0]["ID"].(string)
	f.ship = e.sb.sets[gen.PathShippingMethods][0]["ID"].(string)
	for _, w := range e.sb.sets[gen.PathWarehouses] {
		if truthy(w["Main"]) {
			f.wh = w["ID"].(string)
		}
	}
	if f.buyer.AccountID == "" || f.blocked.AccountID == "" || f.item2 == nil || f.wh == "" {
		t.Fatalf("fixture incomplete: %+v", f)
	}
	return f
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func (f fixture) body(mod func(m map[string]any)) string {
	m := map[string]any{
		"OrderedBy": f.buyer.AccountID, "YourRef": "PO-1", "Description": "Webshop order",
		"Remarks": "call first\nexactql-ref: g-1", "WarehouseID": f.wh,
		"SalesOrderLines": []any{
			map[string]any{"Item": f.item["ID"], "Quantity": 3, "UnitPrice": 1.005},
			map[string]any{"Item": f.item2["ID"], "Quantity": "2.5", "UnitPrice": "10.10", "Notes": "gift"},
		},
	}
	if mod != nil {
		mod(m)
	}
	return mustJSON(m)
}

func line(m map[string]any, i int) map[string]any {
	return m["SalesOrderLines"].([]any)[i].(map[string]any)
}

func TestOrderValidation(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
	at, _ := e.token(t)
	f := e.fixture(t)
	zero := "00000000-0000-0000-0000-000000000000"
	tests := []struct {
		name    string
		mod     func(m map[string]any)
		raw     string
		wantMsg string
	}{
		{name: "not json", raw: "{", wantMsg: "request body"},
		{name: "no OrderedBy", mod: func(m map[string]any) { delete(m, "OrderedBy") }, wantMsg: "OrderedBy: mandatory"},
		{name: "bad OrderedBy", mod: func(m map[string]any) { m["OrderedBy"] = "abc" }, wantMsg: "not a valid GUID"},
		{name: "unknown OrderedBy", mod: func(m map[string]any) { m["OrderedBy"] = zero }, wantMsg: "does not exist"},
		{name: "blocked", mod: func(m map[string]any) { m["OrderedBy"] = f.blocked.AccountID }, wantMsg: "Account is blocked"},
		{name: "no lines", mod: func(m map[string]any) { m["SalesOrderLines"] = []any{} }, wantMsg: "at least one line"},
		{name: "lines missing", mod: func(m map[string]any) { delete(m, "SalesOrderLines") }, wantMsg: "at least one line"},
		{name: "unknown item", mod: func(m map[string]any) { line(m, 1)["Item"] = zero }, wantMsg: "Line 2: Item: item " + zero},
		{name: "no item", mod: func(m map[string]any) { delete(line(m, 0), "Item") }, wantMsg: "Line 1: Item: mandatory"},
		{name: "zero quantity", mod: func(m map[string]any) { line(m, 0)["Quantity"] = 0 }, wantMsg: "Line 1: Quantity: must not be zero"},
		{name: "no quantity", mod: func(m map[string]any) { delete(line(m, 0), "Quantity") }, wantMsg: "Line 1: Quantity"},
		{name: "text quantity", mod: func(m map[string]any) { line(m, 0)["Quantity"] = "lots" }, wantMsg: "numeric"},
		{name: "YourRef 31", mod: func(m map[string]any) { m["YourRef"] = strings.Repeat("é", 31) }, wantMsg: "YourRef: the text is too long (maximum 30"},
		{name: "Description 61", mod: func(m map[string]any) { m["Description"] = strings.Repeat("d", 61) }, wantMsg: "Description: the text is too long (maximum 60"},
		{name: "Remarks 1101", mod: func(m map[string]any) { m["Remarks"] = strings.Repeat("r", 1101) }, wantMsg: "Remarks: the text is too long (maximum 1100"},
		{name: "Notes 1001", mod: func(m map[string]any) { line(m, 1)["Notes"] = strings.Repeat("n", 1001) }, wantMsg: "Line 2: Notes: the text is too long (maximum 1000"},
		{name: "unknown address", mod: func(m map[string]any) { m["DeliveryAddress"] = zero }, wantMsg: "DeliveryAddress: address"},
		{name: "unknown shipping", mod: func(m map[string]any) { m["ShippingMethod"] = zero }, wantMsg: "ShippingMethod: shipping method"},
		{name: "unknown warehouse", mod: func(m map[string]any) { m["WarehouseID"] = zero }, wantMsg: "WarehouseID: warehouse"},
		{name: "bad date", mod: func(m map[string]any) { m["OrderDate"] = "yesterday" }, wantMsg: "OrderDate"},
	}
	before := len(e.sb.Orders())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.raw
			if body == "" {
				body = f.body(tt.mod)
			}
			r := e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, body, nil)
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if msg := r.errMsg(t); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
		})
	}
	if got := len(e.sb.Orders()); got != before {
		t.Errorf("%d orders created by invalid posts", got-before)
	}
	// Boundary lengths pass.
	r := e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, f.body(func(m map[string]any) {
		m["YourRef"], m["Description"], m["Remarks"] = strings.Repeat("é", 30), strings.Repeat("d", 60), strings.Repeat("r", 1100)
		line(m, 0)["Notes"] = strings.Repeat("n", 1000)
	}), nil)
	if r.status != 201 {
		t.Errorf("boundary lengths: %d %s", r.status, r.body)
	}
}

func TestOrderCreate(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
	at, _ := e.token(t)
	f := e.fixture(t)
	var planned float64
	for _, iw := range e.sb.sets[gen.PathItemWarehouses] {
		if iw["Item"] == f.item["ID"] && iw["Warehouse"] == f.wh {
			planned = iw["PlannedStockOut"].(float64)
		}
	}
	post := func(body string, prefer bool) apiResult {
		h := map[string]string{}
		if prefer {
			h["Prefer"] = "return=representation"
		}
		return e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, body, h)
	}
	r1 := post(f.body(nil), true)
	if r1.status != 201 {
		t.Fatalf("post: %d %s", r1.status, r1.body)
	}
	d1 := r1.json(t)["d"].(map[string]any)
	lines := d1["SalesOrderLines"].(map[string]any)["results"].([]any)
	type lineView struct {
		LineNumber          float64
		Quantity, UnitPrice float64
		AmountFC            float64
		Notes               any
	}
	var gotLines []lineView
	for _, l := range lines {
		m := l.(map[string]any)
		gotLines = append(gotLines, lineView{m["LineNumber"].(float64), m["Quantity"].(float64), m["UnitPrice"].(float64), m["AmountFC"].(float64), m["Notes"]})
	}
	wantLines := []lineView{{1, 3, 1.01, 3.03, nil}, {2, 2.5, 10.10, 25.25, "gift"}}
	if diff := cmp.Diff(wantLines, gotLines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	// Amounts: AmountFCExclVat is the sum of the lines, AmountFC adds VAT;
	// Created is the division's wall clock (Amsterdam by default) as epoch ms.
	wantVAT := 0.0
	for _, l := range lines {
		wantVAT += l.(map[string]any)["VATAmount"].(float64)
	}
	if d1["AmountFCExclVat"] != 28.28 || d1["AmountFC"] != float64(int64((28.28+wantVAT)*100+0.5))/100 || wantVAT <= 0 ||
		d1["Status"] != float64(12) || d1["StatusDescription"] != "Open" ||
		d1["YourRef"] != "PO-1" || d1["OrderedBy"] != f.buyer.AccountID || d1["Currency"] == nil ||
		d1["Created"] != "/Date("+strconv.FormatInt(wallClock(t0, defaultLocation()).UnixMilli(), 10)+")/" ||
		d1["Created"] == "/Date("+strconv.FormatInt(t0.UnixMilli(), 10)+")/" {
		t.Errorf("order %v", d1)
	}
	if loc := r1.header.Get("Location"); !strings.HasSuffix(loc, "(guid'"+d1["OrderID"].(string)+"')") {
		t.Errorf("Location %q", loc)
	}

	// Without Prefer most properties are null but the key is set.
	e.clock.Advance(time.Minute)
	r2 := post(f.body(func(m map[string]any) {
		m["YourRef"] = "PO-2"
		delete(line(m, 0), "UnitPrice") // priced at StandardSalesPrice
		m["SalesOrderLines"] = m["SalesOrderLines"].([]any)[:1]
	}), false)
	if r2.status != 201 {
		t.Fatalf("post 2: %d %s", r2.status, r2.body)
	}
	d2 := r2.json(t)["d"].(map[string]any)
	if d2["OrderID"] == nil || d2["OrderNumber"] != nil || d2["YourRef"] != nil {
		t.Errorf("bare answer %v", d2)
	}
	if _, ok := d2["SalesOrderLines"].(map[string]any)["__deferred"]; !ok {
		t.Errorf("bare answer lines %v", d2["SalesOrderLines"])
	}

	// Both are visible to filtered GETs; order numbers increase.
	sel := "OrderID,OrderNumber,YourRef,AmountFCExclVat,Remarks"
	byRef := e.get(t, e.api("salesorder/SalesOrders")+q("$select", sel, "$filter", "YourRef eq 'PO-2'"), at).page(t).D.Results
	if len(byRef) != 1 || byRef[0]["OrderID"] != d2["OrderID"] {
		t.Fatalf("by YourRef: %v", byRef)
	}
	if byRef[0]["OrderNumber"].(float64) != d1["OrderNumber"].(float64)+1 {
		t.Errorf("order numbers %v then %v", d1["OrderNumber"], byRef[0]["OrderNumber"])
	}
	price := f.item["StandardSalesPrice"].(float64)
	if got, want := byRef[0]["AmountFCExclVat"].(float64), float64(int64(price*3*100+0.5))/100; got != want {
		t.Errorf("AmountFC without UnitPrice = %v, want %v", got, want)
	}
	created := wallClock(t0.Add(30*time.Second), defaultLocation()).Format("2006-01-02T15:04:05")
	mine := e.get(t, e.api("salesorder/SalesOrders")+q("$select", sel, "$filter",
		"OrderedBy eq guid'"+f.buyer.AccountID+"' and Created ge datetime'"+created+"' and substringof('exactql-ref: g-1',Remarks) eq true"), at).page(t).D.Results
	if len(mine) != 1 || mine[0]["OrderID"] != d2["OrderID"] {
		t.Errorf("by OrderedBy+Created+Remarks: %v", mine)
	}
	// Lines via navigation and $expand.
	nav := e.get(t, e.api("salesorder/SalesOrders(guid'"+d1["OrderID"].(string)+"')/SalesOrderLines")+q("$select", "LineNumber,Item"), at).page(t).D.Results
	if len(nav) != 2 {
		t.Errorf("navigation lines: %v", nav)
	}
	exp := e.get(t, e.api("salesorder/SalesOrders")+q("$select", "OrderID,SalesOrderLines/Item", "$expand", "SalesOrderLines", "$filter", "YourRef eq 'PO-1'"), at).page(t).D.Results
	if len(exp) != 1 {
		t.Fatalf("expand: %v", exp)
	}
	el := exp[0]["SalesOrderLines"].(map[string]any)["results"].([]any)
	if len(el) != 2 || el[0].(map[string]any)["Item"] != f.item["ID"] || len(el[0].(map[string]any)) != 2 {
		t.Errorf("expanded lines %v", el)
	}
	// Stock planned out in the main warehouse: 3 + 3.
	found := false
	for _, iw := range e.sb.sets[gen.PathItemWarehouses] {
		if iw["Item"] == f.item["ID"] && iw["Warehouse"] == f.wh {
			found = true
			if iw["PlannedStockOut"].(float64) != planned+6 {
				t.Errorf("PlannedStockOut %v, want %v", iw["PlannedStockOut"], planned+6)
			}
		}
	}
	if !found {
		t.Error("no ItemWarehouses row for the item in the main warehouse")
	}
	if st := e.sb.Stats(); st.OrdersCreated != 2 {
		t.Errorf("OrdersCreated = %d", st.OrdersCreated)
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit, o.DayLimit = 10000, 10000 })
	at, _ := e.token(t)
	f := e.fixture(t)
	before := len(e.sb.Orders())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				var req *http.Request
				if (g+i)%3 == 0 {
					req, _ = http.NewRequest(http.MethodPost, e.srv.URL+e.api("salesorder/SalesOrders"), strings.NewReader(f.body(nil)))
					req.Header.Set("Content-Type", "application/json")
				} else {
					req, _ = http.NewRequest(http.MethodGet, e.srv.URL+e.api("inventory/ItemWarehouses")+q("$select", "PlannedStockOut", "$filter", "Item eq guid'"+f.item["ID"].(string)+"'"), nil)
				}
				req.Header.Set("Accept", "application/json")
				req.Header.Set("Authorization", "Bearer "+at)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 201 {
					t.Errorf("%s: %d", req.Method, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	orders := e.sb.Orders()
	posted := 0
	for g := range 8 {
		for i := range 10 {
			if (g+i)%3 == 0 {
				posted++
			}
		}
	}
	if len(orders) != before+posted {
		t.Errorf("orders %d, want %d", len(orders), before+posted)
	}
	seen := map[int64]bool{}
	for _, o := range orders {
		n := o["OrderNumber"].(int64)
		if seen[n] {
			t.Errorf("duplicate OrderNumber %d", n)
		}
		seen[n] = true
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"/Date(1641034800000)/", time.UnixMilli(1641034800000).UTC(), true},
		{"/Date(1641034800000+0100)/", time.UnixMilli(1641034800000).UTC(), true},
		{"/Date(-1000)/", time.UnixMilli(-1000).UTC(), true},
		{"2019-02-17T20:45:34", time.Date(2019, 2, 17, 20, 45, 34, 0, time.UTC), true},
		{"2019-02-17T20:45:34.5", time.Date(2019, 2, 17, 20, 45, 34, 5e8, time.UTC), true},
		{"2019-02-17T20:45:34+01:00", time.Date(2019, 2, 17, 19, 45, 34, 0, time.UTC), true},
		{"2019-02-17", time.Date(2019, 2, 17, 0, 0, 0, 0, time.UTC), true},
		{"/Date(abc)/", time.Time{}, false},
		{"/Date(1", time.Time{}, false},
		{"17-02-2019", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDate(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestOrderCurrencyAndNetPriceHook: a posted Currency is kept (and a bad
// one refused like Exact's validation), and the NetPrice hook re-prices
// lines with Discount and amounts to match.
func TestOrderCurrencyAndNetPriceHook(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MinuteLimit = 1000 })
	at, _ := e.token(t)
	f := e.fixture(t)
	post := func(body string) apiResult {
		return e.do(t, http.MethodPost, e.api("salesorder/SalesOrders"), at, body, map[string]string{"Prefer": "return=representation"})
	}
	r := post(f.body(func(m map[string]any) { m["Currency"] = "USD" }))
	if r.status != 201 || r.json(t)["d"].(map[string]any)["Currency"] != "USD" {
		t.Fatalf("Currency USD: %d %s", r.status, r.body)
	}
	if r := post(f.body(func(m map[string]any) { m["Currency"] = "euro" })); r.status != 400 {
		t.Errorf("Currency euro: %d %s; want 400", r.status, r.body)
	}
	code := strings.TrimSpace(f.item["Code"].(string))
	e.sb.SetNetPriceHook(func(c string, unit decimal.Decimal) decimal.Decimal {
		if c == code {
			return unit.Div(decimal.NewFromInt(2))
		}
		return unit
	})
	r = post(f.body(func(m map[string]any) {
		line(m, 0)["UnitPrice"] = 10
		line(m, 0)["Discount"] = 0
	}))
	if r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	l0 := r.json(t)["d"].(map[string]any)["SalesOrderLines"].(map[string]any)["results"].([]any)[0].(map[string]any)
	if l0["UnitPrice"] != 10.0 || l0["NetPrice"] != 5.0 || l0["Discount"] != 0.5 || l0["AmountFC"] != 15.0 {
		t.Errorf("re-priced line %v %v %v %v; want 10 → 5 (discount 0.5), amount 15", l0["UnitPrice"], l0["NetPrice"], l0["Discount"], l0["AmountFC"])
	}
	e.sb.SetNetPriceHook(nil)
	r = post(f.body(nil))
	l0 = r.json(t)["d"].(map[string]any)["SalesOrderLines"].(map[string]any)["results"].([]any)[0].(map[string]any)
	if l0["NetPrice"] != l0["UnitPrice"] {
		t.Errorf("hook removed, still re-priced: %v", l0)
	}
}
