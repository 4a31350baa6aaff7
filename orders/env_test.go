package orders_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
	"github.com/exactql/exactql/store"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 11, 28, 9, 0, 30, 0, time.UTC)

// amsterdam is the division's time zone in these tests: the sandbox encodes
// Created in its wall clock, so a gateway reading it as UTC would be an
// hour off and its cursors would skip or repeat orders.
var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// env is one sandbox (alive for the whole test) and one "gateway process":
// store, erp client, catalog and order service. restart replaces the
// gateway process on the same store directory.
type env struct {
	t     *testing.T
	clock *erptest.Clock
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	dir   string

	st     *store.SQLite
	client *erp.Client
	cat    *catalog
	svc    *orders.Service
	opts   orders.Options
}

func newEnv(t *testing.T, mod func(*orders.Options)) *env {
	t.Helper()
	clock := erptest.NewClock(t0)
	sb := sandbox.New(sandbox.Options{
		Data:        gen.Options{Seed: 7, Items: 120, Customers: 20, Warehouses: 2, Today: t0},
		Clock:       clock,
		MinuteLimit: 100000, DayLimit: 10000000,
		Location: amsterdam,
	})
	if pessimistic(t) {
		sb.Faults().SetPessimistic(true)
		switchesOn(t, sb)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	e := &env{t: t, clock: clock, sb: sb, srv: srv, dir: t.TempDir()}
	e.opts = orders.Options{
		Now: clock.Now, Shop: validate.Shop{Location: amsterdam, Currency: "EUR"}, MaxLines: 5,
		Logger:    zerolog.Nop(),
		RetryBase: time.Second, RetryMax: 4 * time.Second, PollInterval: 5 * time.Millisecond,
		LeaseTTL: time.Minute,
	}
	if mod != nil {
		mod(&e.opts)
	}
	e.start(true)
	return e
}

// start opens the store and builds client, catalog and service.
func (e *env) start(seed bool) {
	t := e.t
	t.Helper()
	st, err := store.Open(e.dir, store.WithClock(e.clock.Now))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	e.st = st
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if seed {
		if _, err := erp.SeedToken(ctx, st, e.sb.IssueRefreshToken()); err != nil {
			t.Fatalf("SeedToken: %v", err)
		}
	}
	ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{
		BaseURL: e.srv.URL, ClientID: e.sb.ClientID(), ClientSecret: e.sb.ClientSecret(),
		Store: st, HTTPClient: e.srv.Client(), Now: e.clock.Now,
	})
	c, err := erp.New(erp.WithBaseURL(e.srv.URL), erp.WithDivision(e.sb.Division()), erp.WithTokenSource(ts),
		erp.WithHTTPClient(e.srv.Client()), erp.WithClock(e.clock.Now),
		// The fake clock does not move by itself, so the budget must
		// not depend on time passing.
		erp.WithGovernor(erp.NewGovernor(erp.GovernorOptions{Now: e.clock.Now, MinuteLimit: 100000, DayLimit: 10000000, Burst: 100000})),
		erp.WithBackoff(func(int) time.Duration { return time.Millisecond }))
	if err != nil {
		t.Fatalf("erp.New: %v", err)
	}
	e.client = c
	if e.cat == nil {
		e.cat = newCatalog(c, e.opts.Currency)
	} else {
		e.cat.c = c
	}
	o := e.opts
	o.Journal, o.Exact, o.Catalog = st, orders.NewExactIn(c, o.Location), e.cat
	e.svc = orders.NewService(o)
}

// restart closes the store and starts a new gateway process on the same
// file; the sandbox (Exact) and the warm catalog cache stay.
func (e *env) restart() {
	e.t.Helper()
	if err := e.st.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.start(false)
}

func (e *env) buyer(rule string) orders.Caller {
	e.t.Helper()
	for _, b := range e.sb.DemoBuyers() {
		if b.Rule == rule {
			return orders.Caller{Account: b.AccountID, Contact: b.ContactID, Subject: "user-" + b.Name}
		}
	}
	e.t.Fatalf("no demo buyer with rule %s", rule)
	return orders.Caller{}
}

// posts counts order POSTs the sandbox received. The path is matched, not
// Call.Endpoint: calls refused by maintenance are logged without an endpoint.
func (e *env) posts() int {
	return e.sb.CallCount(func(c sandbox.Call) bool {
		return c.Method == "POST" && strings.HasSuffix(c.Path, "/salesorder/SalesOrders")
	})
}

// ordersWithRef returns the sandbox's orders whose Remarks carry the
// gateway order ID.
func (e *env) ordersWithRef(gatewayID string) []map[string]any {
	var out []map[string]any
	for _, r := range e.sb.Orders() {
		if rem, _ := r["Remarks"].(string); strings.Contains(rem, orders.RefPrefix+gatewayID) {
			out = append(out, r)
		}
	}
	return out
}

// sellableItems returns n items that are sellable today and priced for the
// buyer, skipping the first skip of them.
func (e *env) sellableItems(b orders.Caller, n int, fraction bool) []erp.Item {
	e.t.Helper()
	ctx := context.Background()
	acct, err := e.cat.Account(ctx, b.Account)
	if err != nil {
		e.t.Fatalf("Account: %v", err)
	}
	today := civil.Today(e.clock.Now(), time.UTC)
	var out []erp.Item
	for it, err := range e.client.Items.List(ctx, erp.Query{Filter: erp.Eq("IsSalesItem", erp.Bool(true)), OrderBy: []string{"Code"}}) {
		if err != nil {
			e.t.Fatalf("Items.List: %v", err)
		}
		if !validate.Sellable(*it, today, false) || it.IsFractionAllowedItem != fraction {
			continue
		}
		data, err := e.cat.OrderPrices(ctx, acct, []erp.Item{*it})
		if err != nil {
			e.t.Fatalf("OrderPrices: %v", err)
		}
		if _, ok := pricing.Resolve(pricing.Context{Today: today, DivisionCurrency: "EUR"}, pricing.TermsFromAccount(*acct, "EUR"), data[0], decimal.NewFromInt(1)); !ok {
			continue
		}
		out = append(out, *it)
		if len(out) == n {
			return out
		}
	}
	e.t.Fatalf("found only %d sellable priced items (fraction=%t)", len(out), fraction)
	return nil
}

// catalog implements orders.Catalog over the erp client with a cache that
// never expires: validation data stays available while Exact is down, as
// the gateway's stale-if-error cache does.
type catalog struct {
	c        *erp.Client
	currency string
	mu       sync.Mutex
	memo     map[string]any
}

func newCatalog(c *erp.Client, currency string) *catalog {
	return &catalog{c: c, currency: currency, memo: map[string]any{}}
}

func memo[T any](c *catalog, key string, load func() (T, error)) (T, error) {
	c.mu.Lock()
	v, ok := c.memo[key]
	c.mu.Unlock()
	if ok {
		return v.(T), nil
	}
	got, err := load()
	if err != nil {
		return got, err
	}
	c.mu.Lock()
	c.memo[key] = got
	c.mu.Unlock()
	return got, nil
}

func (c *catalog) Account(ctx context.Context, id string) (*erp.Account, error) {
	return memo(c, "account/"+strings.ToLower(id), func() (*erp.Account, error) { return c.c.Accounts.Get(ctx, id) })
}

func (c *catalog) Addresses(ctx context.Context, account string) ([]erp.Address, error) {
	return memo(c, "addresses/"+strings.ToLower(account), func() ([]erp.Address, error) { return c.c.Addresses.ForAccount(ctx, account) })
}

func (c *catalog) ShippingMethods(ctx context.Context) ([]erp.ShippingMethod, error) {
	return memo(c, "shipping", func() ([]erp.ShippingMethod, error) {
		var out []erp.ShippingMethod
		for m, err := range c.c.ShippingMethods.List(ctx, erp.Query{}) {
			if err != nil {
				return nil, err
			}
			out = append(out, *m)
		}
		return out, nil
	})
}

func (c *catalog) Warehouses(ctx context.Context) ([]erp.Warehouse, error) {
	return memo(c, "warehouses", func() ([]erp.Warehouse, error) {
		var out []erp.Warehouse
		for w, err := range c.c.Warehouses.List(ctx, erp.Query{}) {
			if err != nil {
				return nil, err
			}
			out = append(out, *w)
		}
		return out, nil
	})
}

func (c *catalog) Items(ctx context.Context, ids []string) ([]*erp.Item, error) {
	out := make([]*erp.Item, len(ids))
	for i, id := range ids {
		it, err := memo(c, "item/"+strings.ToLower(id), func() (*erp.Item, error) {
			rows, err := c.c.Items.GetByIDs(ctx, []string{id})
			if err != nil || len(rows) == 0 {
				return nil, err
			}
			return &rows[0], nil
		})
		if err != nil {
			return nil, err
		}
		out[i] = it
	}
	return out, nil
}

func (c *catalog) ItemsByCode(ctx context.Context, codes []string) ([]*erp.Item, error) {
	out := make([]*erp.Item, len(codes))
	for i, code := range codes {
		it, err := memo(c, "code/"+strings.ToLower(code), func() (*erp.Item, error) {
			rows, err := c.c.Items.GetByCodes(ctx, []string{code})
			if err != nil || len(rows) == 0 {
				return nil, err
			}
			return &rows[0], nil
		})
		if err != nil {
			return nil, err
		}
		out[i] = it
	}
	return out, nil
}

func (c *catalog) OrderPrices(ctx context.Context, acct *erp.Account, items []erp.Item) ([]pricing.Data, error) {
	agreements, err := memo(c, "agreements/"+strings.ToLower(acct.ID), func() ([]erp.SalesItemPrice, error) {
		return c.c.SalesItemPrices.ForAccount(ctx, acct.ID)
	})
	if err != nil {
		return nil, err
	}
	var periods []erp.SalesPriceListPeriod
	var discounts []erp.SalesPriceListVolumeDiscount
	if acct.PriceList != "" {
		if periods, err = memo(c, "periods/"+strings.ToLower(acct.PriceList), func() ([]erp.SalesPriceListPeriod, error) {
			return c.c.PriceListPeriods.ForPriceList(ctx, acct.PriceList)
		}); err != nil {
			return nil, err
		}
		ids := make([]string, len(periods))
		for i, p := range periods {
			ids[i] = p.ID
		}
		if discounts, err = memo(c, "discounts/"+strings.ToLower(acct.PriceList), func() ([]erp.SalesPriceListVolumeDiscount, error) {
			return c.c.VolumeDiscounts.ForPeriods(ctx, ids)
		}); err != nil {
			return nil, err
		}
	}
	out := make([]pricing.Data, len(items))
	for i, it := range items {
		def, err := memo(c, "defaults/"+strings.ToLower(it.ID), func() ([]erp.SalesItemPrice, error) {
			// All the item's rows, filtered here: the general rows are
			// those without an Account, and "Account eq null" is not
			// relied on (UNCONFIRMED at Exact; refused by the
			// pessimistic sandbox).
			id, err := erp.GUID(it.ID)
			if err != nil {
				return nil, err
			}
			var general []erp.SalesItemPrice
			for r, err := range c.c.SalesItemPrices.List(ctx, erp.Query{Filter: erp.Eq("Item", id)}) {
				if err != nil {
					return nil, err
				}
				if r.Account == "" {
					general = append(general, *r)
				}
			}
			return general, nil
		})
		if err != nil {
			return nil, err
		}
		d := pricing.Data{Item: it, DefaultRows: def, Periods: periods}
		for _, a := range agreements {
			if strings.EqualFold(a.Item, it.ID) {
				d.AccountRows = append(d.AccountRows, a)
			}
		}
		for _, v := range discounts {
			if strings.EqualFold(v.Item, it.ID) || (v.Item == "" && strings.EqualFold(v.ItemGroup, it.ItemGroup)) {
				d.Discounts = append(d.Discounts, v)
			}
		}
		out[i] = d
	}
	return out, nil
}

var _ orders.Catalog = (*catalog)(nil)

func sp(s string) *string { return &s }

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func lineID(it erp.Item, qty string) validate.Line {
	return validate.Line{ProductID: sp(it.ID), Quantity: dec(qty)}
}

func lineCode(it erp.Item, qty string) validate.Line {
	return validate.Line{ProductCode: sp(erp.Code(it.Code)), Quantity: dec(qty)}
}

func keyf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
