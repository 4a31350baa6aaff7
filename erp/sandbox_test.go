package erp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// sandboxClient starts the sandbox with opts and returns a client for it
// whose token comes from a fresh consent.
func sandboxClient(t *testing.T, opts sandbox.Options, clientOpts ...erp.Option) (*erp.Client, *sandbox.Sandbox) {
	t.Helper()
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	cfg := oauth2.Config{
		ClientID:     sb.ClientID(),
		ClientSecret: sb.ClientSecret(),
		Endpoint:     oauth2.Endpoint{TokenURL: srv.URL + "/api/oauth2/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	ts := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: sb.IssueRefreshToken()})
	c, err := erp.New(append([]erp.Option{erp.WithBaseURL(srv.URL), erp.WithTokenSource(ts)}, clientOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, sb
}

// TestAgainstSandbox reads every entity set the gateway uses from the
// sandbox through the typed services, discovering the division via current/Me.
func TestAgainstSandbox(t *testing.T) {
	ctx := context.Background()
	c, sb := sandboxClient(t, sandbox.Options{Data: gen.Options{Items: gen.MinItems, Customers: gen.MinCustomers}})
	div, err := c.Division(ctx)
	if err != nil || div != sb.Division() {
		t.Fatalf("Division = %d, %v; want %d", div, err, sb.Division())
	}
	var items []erp.Item
	for it, err := range c.Items.List(ctx, erp.Query{Filter: erp.Eq("IsSalesItem", erp.Bool(true))}) {
		if err != nil {
			t.Fatalf("Items.List: %v", err)
		}
		items = append(items, *it)
	}
	if len(items) <= 60 {
		t.Fatalf("got %d items; want more than one page", len(items))
	}
	ids := make([]string, 0, 60)
	codes := make([]string, 0, 30)
	for _, it := range items[:60] {
		ids = append(ids, it.ID)
		codes = append(codes, it.Code)
	}
	byID, err := c.Items.GetByIDs(ctx, ids)
	if err != nil || len(byID) != 60 {
		t.Fatalf("GetByIDs: %d items, %v", len(byID), err)
	}
	byCode, err := c.Items.GetByCodes(ctx, codes[:30])
	if err != nil || len(byCode) < 30 {
		t.Fatalf("GetByCodes: %d items, %v", len(byCode), err)
	}
	one, err := c.Items.Get(ctx, items[0].ID)
	if err != nil || one.ID != items[0].ID {
		t.Fatalf("Get: %+v, %v", one, err)
	}
	if _, err := c.Items.Get(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, erp.ErrNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
	if _, err := c.SalesItemPrices.ForItems(ctx, ids, ""); err != nil {
		t.Errorf("SalesItemPrices.ForItems: %v", err)
	}
	if _, err := c.ItemWarehouses.ForItems(ctx, ids); err != nil {
		t.Errorf("ItemWarehouses.ForItems: %v", err)
	}
	accounts, _, err := c.Accounts.ListPage(ctx, erp.Query{Top: 5}, "")
	if err != nil || len(accounts) == 0 {
		t.Fatalf("Accounts: %d, %v", len(accounts), err)
	}
	acc := accounts[0]
	if got, err := c.Accounts.GetByCodes(ctx, []string{erp.Code(acc.Code)}); err != nil || len(got) != 1 || got[0].ID != acc.ID {
		t.Errorf("Accounts.GetByCodes(%q) = %v, %v", erp.Code(acc.Code), got, err)
	}
	if _, err := c.Contacts.ForAccount(ctx, acc.ID); err != nil {
		t.Errorf("Contacts: %v", err)
	}
	if _, err := c.Addresses.ForAccount(ctx, acc.ID); err != nil {
		t.Errorf("Addresses: %v", err)
	}
	if _, err := c.SalesItemPrices.ForAccount(ctx, acc.ID); err != nil {
		t.Errorf("SalesItemPrices.ForAccount: %v", err)
	}
	lists, _, err := c.PriceLists.ListPage(ctx, erp.Query{}, "")
	if err != nil {
		t.Fatalf("PriceLists: %v", err)
	}
	if len(lists) > 0 {
		periods, err := c.PriceListPeriods.ForPriceList(ctx, lists[0].ID)
		if err != nil {
			t.Fatalf("PriceListPeriods: %v", err)
		}
		pids := make([]string, len(periods))
		for i, p := range periods {
			pids[i] = p.ID
		}
		if _, err := c.VolumeDiscounts.ForPeriods(ctx, pids); err != nil {
			t.Fatalf("VolumeDiscounts: %v", err)
		}
	}
	whs, _, err := c.Warehouses.ListPage(ctx, erp.Query{}, "")
	if err != nil || len(whs) == 0 {
		t.Fatalf("Warehouses: %v, %v", whs, err)
	}
	sms, _, err := c.ShippingMethods.ListPage(ctx, erp.Query{}, "")
	if err != nil || len(sms) == 0 {
		t.Fatalf("ShippingMethods: %v, %v", sms, err)
	}
	if _, err := c.SalesOrders.Find(ctx, erp.Query{Filter: erp.Eq("YourRef", erp.String("' or 1 eq 1 or YourRef eq '"))}); err != nil {
		t.Errorf("SalesOrders.Find: %v", err)
	}
	s := c.Stats()
	for ep, byStatus := range s.Calls {
		for st, n := range byStatus {
			if st != http.StatusOK {
				t.Errorf("%s: %d calls answered %d", ep, n, st)
			}
		}
	}
}

// TestSandbox500ConcurrentNo429 sends 500 concurrent reads to the sandbox
// with a compressed minute (60 calls per 300 ms): none may be answered 429.
func TestSandbox500ConcurrentNo429(t *testing.T) {
	g := erp.NewGovernor(erp.GovernorOptions{MaxWait: time.Minute, ResetSlack: 5 * time.Millisecond, Window: 300 * time.Millisecond})
	c, sb := sandboxClient(t, sandbox.Options{
		Data:         gen.Options{Items: gen.MinItems, Customers: gen.MinCustomers},
		MinuteLength: 300 * time.Millisecond, MinuteLimit: 60,
		DayLength: time.Hour, DayLimit: 1_000_000,
	}, erp.WithGovernor(g), erp.WithDivision(gen.DefaultDivision))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := 0; i < 500; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.Warehouses.ListPage(context.Background(), erp.Query{}, ""); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		t.Errorf("call failed: %v", err)
	}
	n429 := sb.CallCount(func(c sandbox.Call) bool { return c.Status == http.StatusTooManyRequests })
	if n429 != 0 {
		t.Errorf("sandbox answered %d calls with 429", n429)
	}
	if n := c.Stats().Calls["inventory/Warehouses"][http.StatusOK]; n != 500 {
		t.Errorf("%d calls succeeded, want 500", n)
	}
}
