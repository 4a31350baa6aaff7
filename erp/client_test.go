package erp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"
)

const (
	testDivision = 123
	testToken    = "AAEAA-secret-access-token"
	apiPrefix    = "/api/v1/123/"
)

// setup starts a fake Exact and returns a client for division 123 using a
// static token, the server's mux and a teardown function.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux, string, func()) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	base := []Option{
		WithBaseURL(srv.URL),
		WithDivision(testDivision),
		WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken, TokenType: "Bearer"})),
		WithBackoff(func(int) time.Duration { return 0 }),
	}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, mux, srv.URL, srv.Close
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
}

func testHeaders(t *testing.T, r *http.Request) {
	t.Helper()
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("00000000-0000-0000-0000-%012d", i+1)
	}
	return out
}

func guidOr(field string, ids ...string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = field + " eq guid'" + id + "'"
	}
	return strings.Join(parts, " or ")
}

func TestRequestShape(t *testing.T) {
	ctx := t.Context()
	a, b := ids(2)[0], ids(2)[1]
	tests := []struct {
		name   string
		path   string
		call   func(c *Client) error
		filter string
		sel    []string
		top    string
	}{
		{"Items.Get", "logistics/Items", func(c *Client) error { _, err := c.Items.Get(ctx, a); return err },
			"ID eq guid'" + a + "'", selectFields[Item](), "1"},
		{"Items.GetByIDs", "logistics/Items", func(c *Client) error { _, err := c.Items.GetByIDs(ctx, []string{a, b}); return err },
			guidOr("ID", a, b), selectFields[Item](), ""},
		{"Items.GetByCodes", "logistics/Items", func(c *Client) error { _, err := c.Items.GetByCodes(ctx, []string{"A'1", "B2"}); return err },
			"Code eq 'A''1' or Code eq 'B2'", selectFields[Item](), ""},
		{"Items.List", "logistics/Items", func(c *Client) error {
			for _, err := range c.Items.List(ctx, Query{Filter: Eq("IsSalesItem", Bool(true)), OrderBy: []string{"Code"}}) {
				return err
			}
			return nil
		}, "IsSalesItem eq true", selectFields[Item](), ""},
		{"ItemGroups.Get", "logistics/ItemGroups", func(c *Client) error { _, err := c.ItemGroups.Get(ctx, a); return err },
			"ID eq guid'" + a + "'", []string{"ID", "Code", "Description"}, "1"},
		{"SalesItemPrices.ForItems general", "logistics/SalesItemPrices", func(c *Client) error {
			_, err := c.SalesItemPrices.ForItems(ctx, []string{a, b}, "")
			return err
		}, "(" + guidOr("Item", a, b) + ") and Account eq null", selectFields[SalesItemPrice](), ""},
		{"SalesItemPrices.ForItems account", "logistics/SalesItemPrices", func(c *Client) error {
			_, err := c.SalesItemPrices.ForItems(ctx, []string{a}, b)
			return err
		}, "Item eq guid'" + a + "' and Account eq guid'" + b + "'", selectFields[SalesItemPrice](), ""},
		{"SalesItemPrices.ForAccount", "logistics/SalesItemPrices", func(c *Client) error { _, err := c.SalesItemPrices.ForAccount(ctx, a); return err },
			"Account eq guid'" + a + "'", selectFields[SalesItemPrice](), ""},
		{"PriceLists.GetByIDs", "sales/SalesPriceLists", func(c *Client) error { _, err := c.PriceLists.GetByIDs(ctx, []string{a}); return err },
			"ID eq guid'" + a + "'", []string{"ID", "Code", "Description", "Currency", "Type", "Entity"}, ""},
		{"PriceListPeriods.ForPriceList", "sales/SalesPriceListPeriods", func(c *Client) error {
			_, err := c.PriceListPeriods.ForPriceList(ctx, a)
			return err
		}, "PriceList eq guid'" + a + "'", []string{"ID", "PriceList", "StartDate", "EndDate", "Type", "Currency"}, ""},
		{"VolumeDiscounts.ForPeriods", "sales/SalesPriceListVolumeDiscounts", func(c *Client) error {
			_, err := c.VolumeDiscounts.ForPeriods(ctx, []string{a, b})
			return err
		}, guidOr("PriceListPeriod", a, b), selectFields[SalesPriceListVolumeDiscount](), ""},
		{"ItemWarehouses.ForItems", "inventory/ItemWarehouses", func(c *Client) error { _, err := c.ItemWarehouses.ForItems(ctx, []string{a}); return err },
			"Item eq guid'" + a + "'", selectFields[ItemWarehouse](), ""},
		{"Warehouses.ListPage", "inventory/Warehouses", func(c *Client) error { _, _, err := c.Warehouses.ListPage(ctx, Query{}, ""); return err },
			"", []string{"ID", "Code", "Description", "Main"}, ""},
		{"Warehouses.GetByCodes", "inventory/Warehouses", func(c *Client) error { _, err := c.Warehouses.GetByCodes(ctx, []string{"1"}); return err },
			"Code eq '1'", []string{"ID", "Code", "Description", "Main"}, ""},
		{"Accounts.Get", "crm/Accounts", func(c *Client) error { _, err := c.Accounts.Get(ctx, a); return err },
			"ID eq guid'" + a + "'", selectFields[Account](), "1"},
		{"Accounts.GetByCodes", "crm/Accounts", func(c *Client) error { _, err := c.Accounts.GetByCodes(ctx, []string{"255"}); return err },
			"Code eq '               255'", selectFields[Account](), ""},
		{"Contacts.ForAccount", "crm/Contacts", func(c *Client) error { _, err := c.Contacts.ForAccount(ctx, a); return err },
			"Account eq guid'" + a + "'", selectFields[Contact](), ""},
		{"Addresses.ForAccount", "crm/Addresses", func(c *Client) error { _, err := c.Addresses.ForAccount(ctx, a); return err },
			"Account eq guid'" + a + "'", selectFields[Address](), ""},
		{"ShippingMethods.GetByIDs", "sales/ShippingMethods", func(c *Client) error { _, err := c.ShippingMethods.GetByIDs(ctx, []string{a}); return err },
			"ID eq guid'" + a + "'", []string{"ID", "Code", "Description", "Active"}, ""},
		{"SalesOrders.Find", "salesorder/SalesOrders", func(c *Client) error {
			_, err := c.SalesOrders.Find(ctx, Query{Filter: And(Eq("OrderedBy", mustGUID(a)), Ge("Created", DateTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))))})
			return err
		}, "OrderedBy eq guid'" + a + "' and Created ge datetime'2026-01-02T03:04:05'", selectFields[SalesOrder](), ""},
		{"SalesOrders.Get", "salesorder/SalesOrders", func(c *Client) error { _, err := c.SalesOrders.Get(ctx, a); return err },
			"OrderID eq guid'" + a + "'", selectFields[SalesOrder](), "1"},
		{"SalesOrderLines.ForOrders", "salesorder/SalesOrderLines", func(c *Client) error {
			_, err := c.SalesOrderLines.ForOrders(ctx, []string{a})
			return err
		}, "OrderID eq guid'" + a + "'", selectFields[SalesOrderLine](), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _, teardown := setup(t)
			defer teardown()
			var calls int
			mux.HandleFunc(apiPrefix+tt.path, func(w http.ResponseWriter, r *http.Request) {
				calls++
				testMethod(t, r, http.MethodGet)
				testHeaders(t, r)
				q := r.URL.Query()
				if diff := cmp.Diff(tt.filter, q.Get("$filter")); diff != "" {
					t.Errorf("$filter (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.sel, strings.Split(q.Get("$select"), ",")); diff != "" {
					t.Errorf("$select (-want +got):\n%s", diff)
				}
				if got := q.Get("$top"); got != tt.top {
					t.Errorf("$top = %q, want %q", got, tt.top)
				}
				if strings.Contains(r.URL.RawQuery, "+") {
					t.Errorf("query %q encodes spaces as +", r.URL.RawQuery)
				}
				fmt.Fprint(w, `{"d":{"results":[]}}`)
			})
			err := tt.call(c)
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatalf("call: %v", err)
			}
			if calls != 1 {
				t.Errorf("calls = %d, want 1", calls)
			}
		})
	}
}

func TestSelectExcludesNavigation(t *testing.T) {
	for _, f := range selectFields[SalesOrder]() {
		if f == "SalesOrderLines" {
			t.Fatal("SalesOrderLines in $select of SalesOrder")
		}
	}
	if diff := cmp.Diff([]string{"UserID", "UserName", "FullName", "CurrentDivision"}, selectFields[Me]()); diff != "" {
		t.Errorf("Me fields (-want +got):\n%s", diff)
	}
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func TestDecodeRecords(t *testing.T) {
	ctx := t.Context()
	c, mux, _, teardown := setup(t)
	defer teardown()
	id := ids(1)[0]
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mod := time.Date(2026, 2, 3, 4, 5, 6, 789e6, time.UTC)
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		// Bare-array d, JSON-escaped dates, a Byte flag and a padded unit.
		fmt.Fprintf(w, `{"d":[{"__metadata":{"uri":"x","type":"Exact.Web.Api.Models.Logistics.Item"},
			"ID":"%s","Code":"12345678","Description":"Schroef","Unit":"stuk    ","IsWebshopItem":1,
			"IsSalesItem":true,"StartDate":"\/Date(%s)\/","EndDate":null,"Modified":"/Date(%s)/",
			"StandardSalesPrice":12.5,"ItemGroup":null,"Barcode":null}]}`, id, ms(day), ms(mod))
	})
	mux.HandleFunc(apiPrefix+"crm/Accounts", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"d":{"results":[{"ID":"%s","Code":"                 8","Name":"Klant","Blocked":false,
			"DiscountSales":0.055,"PriceList":null,"PaymentConditionSales":"15","BankAccounts":{"__deferred":{"uri":"u"}}}]}}`, id)
	})
	mux.HandleFunc(apiPrefix+"inventory/Warehouses", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"d":{"results":[{"ID":"%s","Code":"1","Description":"Main","Main":1}]}}`, id)
	})
	mux.HandleFunc(apiPrefix+"sales/SalesPriceListVolumeDiscounts", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"d":{"results":[{"ID":"%s","Quantity":10,"Discount":0.1,"NewPrice":0,"EntryMethod":1,"BasePrice":null,"BasePriceAmount":12.4,"SalesUnit":"doos    ","NumberOfItemsPerUnit":6},
			{"ID":"%s","Quantity":20,"Discount":0,"NewPrice":"7.25","EntryMethod":2,"BasePrice":"%s","BasePriceAmount":3.5,"NumberOfItemsPerUnit":null}]}}`, id, id, id)
	})
	mux.HandleFunc(apiPrefix+"salesorder/SalesOrders", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"d":{"results":[
			{"OrderID":"%s","OrderNumber":7,"Status":12,"AmountDC":121.5,"OrderDate":"/Date(%s)/","SalesOrderLines":{"__deferred":{"uri":"u"}}},
			{"OrderID":"%s","OrderNumber":8,"SalesOrderLines":{"results":[{"ID":"%s","LineNumber":1,"Quantity":2.5,"UnitPrice":3}]}}]}}`,
			id, ms(day), id, id)
	})

	items, err := c.Items.GetByIDs(ctx, []string{id})
	if err != nil {
		t.Fatalf("Items: %v", err)
	}
	wantItem := Item{ID: id, Code: "12345678", Description: "Schroef", Unit: "stuk    ", IsWebshopItem: true, IsSalesItem: true,
		StartDate: NewTime(day), Modified: NewTime(mod), StandardSalesPrice: decimal.RequireFromString("12.5")}
	if diff := cmp.Diff([]Item{wantItem}, items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	acc, err := c.Accounts.Get(ctx, id)
	if err != nil {
		t.Fatalf("Accounts: %v", err)
	}
	wantAcc := &Account{ID: id, Code: "                 8", Name: "Klant", DiscountSales: decimal.RequireFromString("0.055"), PaymentConditionSales: "15"}
	if diff := cmp.Diff(wantAcc, acc); diff != "" {
		t.Errorf("account (-want +got):\n%s", diff)
	}
	if Code(acc.Code) != "8" {
		t.Errorf("Code(%q) = %q", acc.Code, Code(acc.Code))
	}
	wh, err := c.Warehouses.Get(ctx, id)
	if err != nil || !bool(wh.Main) {
		t.Errorf("warehouse = %+v, %v; want Main", wh, err)
	}
	vd, err := c.VolumeDiscounts.ForPeriods(ctx, []string{id})
	if err != nil {
		t.Fatalf("VolumeDiscounts: %v", err)
	}
	amt, filled := decimal.RequireFromString("3.5"), decimal.RequireFromString("12.4")
	wantVD := []SalesPriceListVolumeDiscount{
		{ID: id, Quantity: decimal.NewFromInt(10), Discount: decimal.RequireFromString("0.1"), NewPrice: decimal.Zero, EntryMethod: 1,
			BasePriceAmount: &filled, SalesUnit: "doos    ", NumberOfItemsPerUnit: decimal.NewFromInt(6)},
		{ID: id, Quantity: decimal.NewFromInt(20), Discount: decimal.Zero, NewPrice: decimal.RequireFromString("7.25"), EntryMethod: 2, BasePrice: id, BasePriceAmount: &amt},
	}
	if diff := cmp.Diff(wantVD, vd); diff != "" {
		t.Errorf("volume discounts (-want +got):\n%s", diff)
	}
	if len(vd) == 2 && (vd[0].HasSetBasePrice() || !vd[1].HasSetBasePrice()) {
		t.Errorf("HasSetBasePrice: null → %v, GUID → %v; want false, true", vd[0].HasSetBasePrice(), vd[1].HasSetBasePrice())
	}
	orders, err := c.SalesOrders.Find(ctx, Query{})
	if err != nil {
		t.Fatalf("SalesOrders: %v", err)
	}
	wantOrders := []SalesOrder{
		{OrderID: id, OrderNumber: 7, Status: OrderStatusOpen, AmountDC: decimal.RequireFromString("121.5"), OrderDate: NewTime(day)},
		{OrderID: id, OrderNumber: 8, SalesOrderLines: LineCollection{{ID: id, LineNumber: 1, Quantity: decimal.RequireFromString("2.5"), UnitPrice: decimal.NewFromInt(3)}}},
	}
	if diff := cmp.Diff(wantOrders, orders); diff != "" {
		t.Errorf("orders (-want +got):\n%s", diff)
	}
}

func TestDecodeInt64AndTolerance(t *testing.T) {
	type row struct {
		Timestamp Int64 `json:"Timestamp"`
		Flag      Flag  `json:"Flag"`
	}
	rows, next, err := decodeCollection[row]([]byte(`{"d":{"results":[{"Timestamp":"9007199254740993","Flag":"1"},{"Timestamp":5,"Flag":false}],"__next":"n"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]row{{9007199254740993, true}, {5, false}}, rows); diff != "" || next != "n" {
		t.Errorf("rows (-want +got):\n%s next %q", diff, next)
	}
	one, _, err := decodeCollection[row]([]byte(`{"d":{"Timestamp":"7","Flag":0}}`))
	if err != nil || len(one) != 1 || one[0].Timestamp != 7 {
		t.Errorf("single entity = %+v, %v", one, err)
	}
	keyed, _, err := decodeCollection[row]([]byte(`{"d":{"1":{"Timestamp":"2"},"0":{"Timestamp":"1"}}}`))
	if diff := cmp.Diff([]row{{Timestamp: 1}, {Timestamp: 2}}, keyed); diff != "" || err != nil {
		t.Errorf("numeric-keyed d (-want +got):\n%s err %v", diff, err)
	}
	for _, bad := range []string{``, `{}`, `{"d":null}`, `<html>Object moved</html>`, `{"d":{"results":[{"Timestamp":"x"}]}}`} {
		if _, _, err := decodeCollection[row]([]byte(bad)); err == nil {
			t.Errorf("decode(%q): no error", bad)
		}
	}
}

func TestCreateSalesOrder(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	id := ids(1)[0]
	var calls int
	mux.HandleFunc(apiPrefix+"salesorder/SalesOrders", func(w http.ResponseWriter, r *http.Request) {
		calls++
		testMethod(t, r, http.MethodPost)
		testHeaders(t, r)
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q", got)
		}
		if got := r.Header.Get("Prefer"); got != "return=representation" {
			t.Errorf("Prefer = %q", got)
		}
		if r.URL.RawQuery != "" {
			t.Errorf("query = %q, want none", r.URL.RawQuery)
		}
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		var body map[string]any
		if err := dec.Decode(&body); err != nil {
			t.Fatalf("body: %v", err)
		}
		want := map[string]any{
			"OrderedBy": id, "YourRef": "PO-1", "DeliveryDate": "2026-03-04T00:00:00",
			"SalesOrderLines": []any{map[string]any{"Item": id, "Quantity": json.Number("2.5"), "UnitPrice": json.Number("10.1"), "Discount": json.Number("0"), "Notes": "n"}},
		}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"d":{"OrderID":"%s","OrderNumber":42,"Status":12,"SalesOrderLines":{"__deferred":{"uri":"u"}}}}`, id)
	})
	dd := NewTime(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC))
	o, err := c.SalesOrders.Create(t.Context(), &NewSalesOrder{
		OrderedBy: id, YourRef: "PO-1", DeliveryDate: &dd,
		SalesOrderLines: []NewSalesOrderLine{{Item: id, Quantity: decimal.RequireFromString("2.5"), UnitPrice: decimal.RequireFromString("10.10"), Notes: "n"}},
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if o.OrderID != id || o.OrderNumber != 42 || calls != 1 {
		t.Errorf("order = %+v after %d calls", o, calls)
	}
	if _, err := c.SalesOrders.Create(t.Context(), &NewSalesOrder{OrderedBy: id}); err == nil || calls != 1 {
		t.Errorf("order without lines: err = %v, calls = %d", err, calls)
	}
}

func TestCreateSalesOrderNeverRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		transient bool
	}{
		{"500", 500, `{"error":{"code":"","message":{"lang":"","value":"boom"}}}`, true},
		{"400 validation", 400, `{"error":{"code":"","message":{"lang":"","value":"Artikel bestaat niet"}}}`, false},
		{"2xx unreadable", 201, `<html/>`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, mux, _, teardown := setup(t)
			defer teardown()
			var calls atomic.Int32
			mux.HandleFunc(apiPrefix+"salesorder/SalesOrders", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := c.SalesOrders.Create(t.Context(), &NewSalesOrder{OrderedBy: ids(1)[0], SalesOrderLines: []NewSalesOrderLine{{Item: ids(1)[0]}}})
			if err == nil {
				t.Fatal("no error")
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("POST sent %d times", n)
			}
			if got := IsTransient(err); got != tc.transient {
				t.Errorf("IsTransient(%v) = %v, want %v", err, got, tc.transient)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	reset := time.Now().Add(40 * time.Second).Truncate(time.Millisecond)
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		wantCalls int32
		check     func(t *testing.T, err error)
	}{
		{"400 body", 400, nil, `{"error":{"code":"X1","message":{"lang":"","value":"Please add a $select or a $top=1 statement to the query string."}}}`, 1,
			func(t *testing.T, err error) {
				var e *Error
				if !errors.As(err, &e) || e.StatusCode != 400 || e.Code != "X1" || !strings.HasPrefix(e.Message, "Please add a $select") || e.Endpoint != "logistics/Items" {
					t.Errorf("err = %#v", err)
				}
				if IsTransient(err) {
					t.Error("400 is transient")
				}
			}},
		{"401", 401, nil, ``, 1, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != 401 {
				t.Errorf("err = %v", err)
			}
		}},
		{"403 reason", 403, http.Header{"Reason": {"NoDivisionAccess"}}, `{"error":{"code":"","message":{"lang":"","value":"Forbidden"}}}`, 1,
			func(t *testing.T, err error) {
				var e *Error
				if !errors.As(err, &e) || e.StatusCode != 403 || e.Reason != "NoDivisionAccess" {
					t.Errorf("err = %v", err)
				}
			}},
		{"404", 404, nil, `{"error":{"code":"","message":{"lang":"","value":"Not found"}}}`, 1, func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		}},
		{"token endpoint shape", 400, nil, `{"error":"invalid_request","error_description":"bad"}`, 1, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.Code != "invalid_request" || e.Message != "bad" {
				t.Errorf("err = %#v", err)
			}
		}},
		{"429", 429, http.Header{"X-RateLimit-Minutely-Limit": {"60"}, "X-RateLimit-Minutely-Remaining": {"0"}, "X-RateLimit-Minutely-Reset": {ms(reset)}}, ``, 1,
			func(t *testing.T, err error) {
				var rl *RateLimitError
				if !errors.As(err, &rl) || !rl.Minutely || !rl.Reset.Equal(reset.Add(time.Second)) || rl.Endpoint != "logistics/Items" {
					t.Errorf("err = %#v, want reset %v", err, reset.Add(time.Second))
				}
			}},
		{"500 retried", 500, nil, `{"error":{"code":"","message":{"lang":"","value":"Internal error"}}}`, 3, func(t *testing.T, err error) {
			var e *Error
			if !errors.As(err, &e) || e.StatusCode != 500 || !IsTransient(err) {
				t.Errorf("err = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mux, _, teardown := setup(t)
			defer teardown()
			var calls atomic.Int32
			mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				for k, v := range tt.header {
					w.Header()[k] = v
				}
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			_, err := c.Items.GetByCodes(t.Context(), []string{"secret-filter-value"})
			if err == nil {
				t.Fatal("no error")
			}
			tt.check(t, err)
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
			msg := err.Error()
			for _, leak := range []string{testToken, "secret-filter-value", "$filter", "127.0.0.1"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q contains %q", msg, leak)
				}
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var calls atomic.Int32
	mux.HandleFunc(apiPrefix+"logistics/ItemGroups", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		fmt.Fprint(w, `{"d":{"results":[{"ID":"x"}]}}`)
	})
	rows, _, err := c.ItemGroups.ListPage(t.Context(), Query{}, "")
	if err != nil || len(rows) != 1 {
		t.Fatalf("rows = %v, err = %v", rows, err)
	}
	if s := c.Stats(); s.TokenRefreshes != 1 || s.Retries != 1 || s.Calls["logistics/ItemGroups"][503] != 1 || s.Calls["logistics/ItemGroups"][200] != 1 {
		t.Errorf("stats = %+v", s)
	}
}

func TestTimeoutRetriedThenTransient(t *testing.T) {
	release := make(chan struct{})
	c, mux, _, teardown := setup(t, WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	defer teardown()
	defer close(release)
	var calls atomic.Int32
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	_, err := c.Items.Get(t.Context(), ids(1)[0])
	if err == nil || !IsTransient(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
	if strings.Contains(err.Error(), "?") || strings.Contains(err.Error(), "guid") {
		t.Errorf("error %q leaks the URL", err)
	}
	if c.Stats().Calls["logistics/Items"][0] != 3 {
		t.Errorf("stats = %+v", c.Stats().Calls)
	}
}

func TestConsentErrorNotRetried(t *testing.T) {
	c, mux, _, teardown := setup(t, WithTokenSource(failingSource{}))
	defer teardown()
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		t.Error("request sent without a token")
	})
	_, err := c.Items.Get(t.Context(), ids(1)[0])
	if !errors.Is(err, ErrConsentRequired) || IsTransient(err) {
		t.Errorf("err = %v, want ErrConsentRequired, not transient", err)
	}
	if n := c.Stats().Calls["logistics/Items"][0]; n != 1 {
		t.Errorf("attempts = %d, want 1", n)
	}
}

type failingSource struct{}

func (failingSource) Token() (*oauth2.Token, error) {
	return nil, fmt.Errorf("store: %w", ErrConsentRequired)
}

func TestGetNotFound(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var calls int
	mux.HandleFunc(apiPrefix+"crm/Accounts", func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprint(w, `{"d":{"results":[]}}`)
	})
	if _, err := c.Accounts.Get(t.Context(), ids(1)[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty result: err = %v", err)
	}
	if _, err := c.Accounts.Get(t.Context(), "' or 1 eq 1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("invalid id: err = %v", err)
	}
	if _, err := c.Contacts.ForAccount(t.Context(), "nope"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("invalid account: err = %v", err)
	}
	if calls != 1 {
		t.Errorf("calls = %d, want 1 (invalid IDs never sent)", calls)
	}
}

func TestPaging(t *testing.T) {
	c, mux, base, teardown := setup(t)
	defer teardown()
	var calls atomic.Int32
	mux.HandleFunc(apiPrefix+"crm/Contacts", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		testHeaders(t, r)
		page, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		next := ""
		if page < 2 {
			next = fmt.Sprintf(`,"__next":"%s%scrm/Contacts?$filter=x&$skiptoken=%d"`, base, apiPrefix, page+1)
		}
		fmt.Fprintf(w, `{"d":{"results":[{"ID":"p%d-a"},{"ID":"p%d-b"}]%s}}`, page, page, next)
	})
	var got []string
	for r, err := range c.Contacts.List(t.Context(), Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.ID)
	}
	want := []string{"p0-a", "p0-b", "p1-a", "p1-b", "p2-a", "p2-b"}
	if diff := cmp.Diff(want, got); diff != "" || calls.Load() != 3 {
		t.Errorf("records (-want +got):\n%s calls %d", diff, calls.Load())
	}

	// Breaking early stops fetching.
	calls.Store(0)
	n := 0
	for _, err := range c.Contacts.List(t.Context(), Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if calls.Load() != 2 {
		t.Errorf("calls after early break = %d, want 2", calls.Load())
	}

	// ListPage hands out the cursor.
	rows, next, err := c.Contacts.ListPage(t.Context(), Query{}, "")
	if err != nil || len(rows) != 2 || !strings.Contains(next, "$skiptoken=1") {
		t.Fatalf("first page = %v, %q, %v", rows, next, err)
	}
	rows, _, err = c.Contacts.ListPage(t.Context(), Query{}, next)
	if err != nil || rows[0].ID != "p1-a" {
		t.Errorf("second page = %v, %v", rows, err)
	}
}

func TestForeignNextRefused(t *testing.T) {
	var evil atomic.Int32
	evilSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { evil.Add(1) }))
	defer evilSrv.Close()
	c, mux, _, teardown := setup(t)
	defer teardown()
	mux.HandleFunc(apiPrefix+"crm/Addresses", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"d":{"results":[{"ID":"a"}],"__next":"%s/api/v1/123/crm/Addresses?$skiptoken=1"}}`, evilSrv.URL)
	})
	_, err := c.Addresses.ForAccount(t.Context(), ids(1)[0])
	if !errors.Is(err, ErrForeignURL) {
		t.Errorf("err = %v, want ErrForeignURL", err)
	}
	if evil.Load() != 0 {
		t.Error("the foreign host was called")
	}
	if strings.Contains(err.Error(), evilSrv.URL) {
		t.Errorf("error %q contains the URL", err)
	}
}

func TestChunking(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var sizes []int
	var mu sync.Mutex
	mux.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		f := r.URL.Query().Get("$filter")
		mu.Lock()
		sizes = append(sizes, strings.Count(f, " eq guid'"))
		mu.Unlock()
		fmt.Fprint(w, `{"d":{"results":[{"ID":"x"}]}}`)
	})
	in := append(ids(60), ids(3)...) // duplicates
	in = append(in, "not-a-guid", strings.ToUpper(ids(1)[0]))
	got, err := c.Items.GetByIDs(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{25, 25, 10}, sizes); diff != "" {
		t.Errorf("chunk sizes (-want +got):\n%s", diff)
	}
	if len(got) != 3 {
		t.Errorf("rows = %d, want one per call", len(got))
	}

	c2, mux2, _, teardown2 := setup(t, WithBatchSize(7))
	defer teardown2()
	var calls atomic.Int32
	mux2.HandleFunc(apiPrefix+"logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, `{"d":{"results":[]}}`)
	})
	if _, err := c2.Items.GetByIDs(t.Context(), ids(15)); err != nil || calls.Load() != 3 {
		t.Errorf("batch size 7: %d calls, err %v", calls.Load(), err)
	}
	if _, err := c2.Items.GetByIDs(t.Context(), nil); err != nil || calls.Load() != 3 {
		t.Errorf("no ids: %d calls, err %v", calls.Load(), err)
	}
}

func TestDivisionDiscovery(t *testing.T) {
	c, mux, _, teardown := setup(t, WithDivision(0))
	defer teardown()
	var meCalls int
	mux.HandleFunc("/api/v1/current/Me", func(w http.ResponseWriter, r *http.Request) {
		meCalls++
		testHeaders(t, r)
		if got := r.URL.Query().Get("$select"); got != "UserID,UserName,FullName,CurrentDivision" {
			t.Errorf("$select = %q", got)
		}
		fmt.Fprint(w, `{"d":{"results":[{"UserID":"u","FullName":"Jan","CurrentDivision":777}]}}`)
	})
	var itemCalls int
	mux.HandleFunc("/api/v1/777/logistics/Items", func(w http.ResponseWriter, r *http.Request) {
		itemCalls++
		fmt.Fprint(w, `{"d":{"results":[]}}`)
	})
	for i := 0; i < 2; i++ {
		if _, err := c.Items.GetByIDs(t.Context(), ids(1)); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := c.Division(t.Context()); err != nil || d != 777 {
		t.Errorf("Division = %d, %v", d, err)
	}
	if meCalls != 1 || itemCalls != 2 {
		t.Errorf("Me calls %d, item calls %d", meCalls, itemCalls)
	}
}

func TestPicture(t *testing.T) {
	c, mux, base, teardown := setup(t)
	defer teardown()
	mux.HandleFunc("/docs/SysImage.aspx", func(w http.ResponseWriter, r *http.Request) {
		testHeaders(t, r)
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG"))
	})
	b, ct, err := c.Picture(t.Context(), base+"/docs/SysImage.aspx?Table=Items&ID=x&_Division_=123")
	if err != nil || !bytes.Equal(b, []byte("\x89PNG")) || ct != "image/png" {
		t.Errorf("Picture = %q, %q, %v", b, ct, err)
	}
	if _, _, err := c.Picture(t.Context(), "https://evil.example/docs/SysImage.aspx"); !errors.Is(err, ErrForeignURL) {
		t.Errorf("foreign picture: err = %v", err)
	}
	if c.Stats().Calls["picture"][200] != 1 {
		t.Errorf("stats = %v", c.Stats().Calls)
	}
}

func TestErrorCapFailsFast(t *testing.T) {
	c, mux, _, teardown := setup(t)
	defer teardown()
	var calls atomic.Int32
	mux.HandleFunc(apiPrefix+"crm/Accounts", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(400)
	})
	for i := 0; i < 7; i++ {
		_, err := c.Accounts.Get(t.Context(), ids(1)[0])
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("call %d: err = %v", i, err)
		}
		if i >= 5 && (!errors.Is(err, ErrEndpointBlocked) || !IsTransient(err)) {
			t.Errorf("call %d: err = %v, want a transient ErrEndpointBlocked", i, err)
		}
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("calls = %d, want 5", n)
	}
	if c.Stats().ErrorCapped != 2 {
		t.Errorf("stats = %+v", c.Stats())
	}
}

type recObserver struct {
	mu    sync.Mutex
	calls []string
}

func (o *recObserver) ObserveCall(endpoint, method string, status int, d time.Duration) {
	o.mu.Lock()
	o.calls = append(o.calls, fmt.Sprintf("%s %s %d", method, endpoint, status))
	o.mu.Unlock()
}

func TestRateHeadersAndObserver(t *testing.T) {
	obs := &recObserver{}
	c, mux, _, teardown := setup(t, WithObserver(obs))
	defer teardown()
	minReset := time.Now().Add(30 * time.Second).Truncate(time.Millisecond)
	dayReset := time.Now().Add(5 * time.Hour).Truncate(time.Millisecond)
	mux.HandleFunc(apiPrefix+"sales/ShippingMethods", func(w http.ResponseWriter, r *http.Request) {
		for k, v := range rateHeaders(100, 77, minReset, 9000, 8500, dayReset) {
			w.Header()[k] = v
		}
		fmt.Fprint(w, `{"d":{"results":[]}}`)
	})
	if _, err := c.ShippingMethods.GetByIDs(t.Context(), ids(1)); err != nil {
		t.Fatal(err)
	}
	s := c.Governor().Snapshot()
	if s.MinuteLimit != 100 || s.MinuteRemaining != 77 || !s.MinuteReset.Equal(minReset) ||
		s.DayLimit != 9000 || s.DayRemaining != 8500 || !s.DayReset.Equal(dayReset) {
		t.Errorf("snapshot = %+v", s)
	}
	if diff := cmp.Diff([]string{"GET sales/ShippingMethods 200"}, obs.calls); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}

func TestNewOptionErrors(t *testing.T) {
	for name, o := range map[string]Option{
		"base":     WithBaseURL("ftp://x"),
		"division": WithDivision(-1),
		"batch":    WithBatchSize(0),
		"http":     WithHTTPClient(nil),
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c, err := New()
	if err != nil || c.base.String() != DefaultBaseURL {
		t.Errorf("default base = %v, %v", c.base, err)
	}
}

// exactFake enforces a minutely budget the way Exact does: fixed windows of
// length window, limit calls each, 429 with only the minutely headers above it.
type exactFake struct {
	limit int
	// advertise, when set, is the minutely limit the headers claim instead
	// of the one enforced (a fake that lies, for the control test).
	advertise int
	window    time.Duration
	mu        sync.Mutex
	count     map[int64]int
	ok        atomic.Int32
	over      atomic.Int32
}

func (f *exactFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	idx := now.UnixNano() / int64(f.window)
	reset := time.Unix(0, (idx+1)*int64(f.window))
	f.mu.Lock()
	f.count[idx]++
	n := f.count[idx]
	f.mu.Unlock()
	h := w.Header()
	shown := f.limit
	if f.advertise > 0 {
		shown = f.advertise
	}
	h.Set("X-RateLimit-Minutely-Limit", strconv.Itoa(shown))
	h.Set("X-RateLimit-Minutely-Remaining", strconv.Itoa(max(shown-n, 0)))
	h.Set("X-RateLimit-Minutely-Reset", ms(reset))
	if n > f.limit {
		f.over.Add(1)
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	h.Set("X-RateLimit-Limit", "1000000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(1000000-int(f.ok.Add(1))))
	h.Set("X-RateLimit-Reset", ms(now.Add(time.Hour)))
	fmt.Fprint(w, `{"d":{"results":[{"ID":"x"}]}}`)
}

// TestConcurrentCallsNeverHit429 sends 500 concurrent reads against a fake
// that allows 60 calls per (compressed, 100 ms) window: none may get a 429.
func TestConcurrentCallsNeverHit429(t *testing.T) {
	testConcurrent(t, 0, 300*time.Millisecond)
}

// testConcurrent runs 500 concurrent reads against a fake allowing 60 calls
// per window. It returns the 429 count; with minuteLimit 0 (the governor's
// default) it fails the test on any.
func testConcurrent(t *testing.T, minuteLimit int, window time.Duration) int32 {
	// The control (minuteLimit != 0) lies in its headers too, so the
	// governor cannot learn the real limit from the first answers and the
	// overshoot does not depend on how many calls happen to be in flight.
	fake := &exactFake{limit: 60, advertise: minuteLimit, window: window, count: map[int64]int{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	g := NewGovernor(GovernorOptions{MinuteLimit: minuteLimit, MaxWait: time.Minute, ResetSlack: 5 * time.Millisecond, Window: window})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 500
	c, err := New(WithBaseURL(srv.URL), WithDivision(1), WithGovernor(g), WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.Items.ListPage(context.Background(), Query{}, ""); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if minuteLimit != 0 {
		return fake.over.Load()
	}
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	if n := fake.over.Load(); n != 0 {
		t.Errorf("%d calls got 429", n)
	}
	if n := fake.ok.Load(); n != 500 {
		t.Errorf("%d calls succeeded, want 500", n)
	}
	if s := c.Stats(); s.RateLimited != 0 || s.Calls["logistics/Items"][200] != 500 {
		t.Errorf("stats = %+v", s.Calls)
	}
	return 0
}

// TestConcurrentFakeDetectsOvershoot shows the fake above can fail: a
// governor that assumes a far higher limit gets 429s from it.
func TestConcurrentFakeDetectsOvershoot(t *testing.T) {
	if n := testConcurrent(t, 1000, 2*time.Second); n == 0 {
		t.Error("no 429 from an over-generous governor: the fake does not enforce its budget")
	}
}

// TestCallGate: a gate refusing a read stops it before the network; writes
// are never gated.
func TestCallGate(t *testing.T) {
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"d":{"OrderID":"11111111-1111-4111-8111-111111111111","OrderNumber":1}}`)
			return
		}
		io.WriteString(w, `{"d":{"results":[]}}`)
	}))
	defer srv.Close()
	refused := errors.New("caller over budget")
	c, err := New(WithBaseURL(srv.URL), WithDivision(1), WithCallGate(func(context.Context) error { return refused }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Items.GetByIDs(t.Context(), []string{"11111111-1111-4111-8111-111111111111"}); !errors.Is(err, refused) {
		t.Errorf("gated read: err %v", err)
	}
	if hits != 0 {
		t.Errorf("gated read reached the server %d times", hits)
	}
	if _, err := c.SalesOrders.Create(t.Context(), &NewSalesOrder{OrderedBy: "11111111-1111-4111-8111-111111111111", SalesOrderLines: []NewSalesOrderLine{{Item: "22222222-2222-4222-8222-222222222222", Quantity: decimal.NewFromInt(1)}}}); err != nil {
		t.Errorf("write: %v", err)
	}
	if hits != 1 {
		t.Errorf("write reached the server %d times, want 1", hits)
	}
}
