package live

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/orders/validate"
)

// tableUpstream answers from fixed rows and records every call, so a test
// of the read path sees exactly what it asked Exact for.
type tableUpstream struct {
	Upstream // methods not listed here are not used by these tests

	items      []erp.Item
	warehouses []erp.Warehouse
	shipping   []erp.ShippingMethod
	contacts   []erp.Contact
	addresses  []erp.Address
	stock      []erp.ItemWarehouse
	fail       error

	mu    sync.Mutex
	calls []string
	pages []ItemQuery
}

func (u *tableUpstream) note(call string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, call)
	return u.fail
}

func (u *tableUpstream) called() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.calls...)
}

func (u *tableUpstream) ItemsByIDs(_ context.Context, ids []string) ([]erp.Item, error) {
	if err := u.note("ItemsByIDs"); err != nil {
		return nil, err
	}
	var out []erp.Item
	for _, it := range u.items {
		for _, id := range ids {
			if it.ID == id {
				out = append(out, it)
			}
		}
	}
	return out, nil
}

func (u *tableUpstream) ItemsByCodes(_ context.Context, codes []string) ([]erp.Item, error) {
	if err := u.note("ItemsByCodes"); err != nil {
		return nil, err
	}
	var out []erp.Item
	for _, it := range u.items {
		for _, c := range codes {
			if strings.EqualFold(erp.Code(it.Code), erp.Code(c)) {
				out = append(out, it)
			}
		}
	}
	return out, nil
}

func (u *tableUpstream) ItemsPage(_ context.Context, q ItemQuery) ([]erp.Item, bool, error) {
	if err := u.note("ItemsPage"); err != nil {
		return nil, false, err
	}
	u.mu.Lock()
	u.pages = append(u.pages, q)
	u.mu.Unlock()
	return u.items, false, nil
}

func (u *tableUpstream) Warehouses(context.Context) ([]erp.Warehouse, error) {
	return append([]erp.Warehouse(nil), u.warehouses...), u.note("Warehouses")
}

func (u *tableUpstream) ShippingMethods(context.Context) ([]erp.ShippingMethod, error) {
	return append([]erp.ShippingMethod(nil), u.shipping...), u.note("ShippingMethods")
}

func (u *tableUpstream) Contacts(context.Context, string) ([]erp.Contact, error) {
	return append([]erp.Contact(nil), u.contacts...), u.note("Contacts")
}

func (u *tableUpstream) Addresses(context.Context, string) ([]erp.Address, error) {
	return append([]erp.Address(nil), u.addresses...), u.note("Addresses")
}

func (u *tableUpstream) ItemWarehouses(_ context.Context, ids []string) ([]erp.ItemWarehouse, error) {
	if err := u.note("ItemWarehouses"); err != nil {
		return nil, err
	}
	var out []erp.ItemWarehouse
	for _, w := range u.stock {
		for _, id := range ids {
			if w.Item == id {
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// readerAt is a Reader over up at 2026-11-28 12:00 UTC in Amsterdam, with
// its own cache.
func readerAt(t *testing.T, up Upstream, shop validate.Shop) (*Reader, *erptest.Clock) {
	t.Helper()
	c, err := cache.New(cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	clock := erptest.NewClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	return NewReader(up, c, Config{Division: 7, Shop: shop, Now: clock.Now}), clock
}

const (
	idBolt = "aaaaaaaa-0000-4000-8000-000000000001"
	idNut  = "aaaaaaaa-0000-4000-8000-000000000002"
)

func day(y int, m time.Month, d int) erp.Time {
	return erp.NewTime(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

func TestReaderSellable(t *testing.T) {
	t.Parallel()
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		it          *erp.Item
		webshopOnly bool
		want        bool
	}{
		{"nil", nil, false, false},
		{"sales item", &erp.Item{IsSalesItem: true}, false, true},
		{"not a sales item", &erp.Item{}, false, false},
		{"ended yesterday", &erp.Item{IsSalesItem: true, EndDate: day(2026, 11, 27)}, false, false},
		{"ends today", &erp.Item{IsSalesItem: true, EndDate: day(2026, 11, 28)}, false, true},
		{"starts tomorrow", &erp.Item{IsSalesItem: true, StartDate: day(2026, 11, 29)}, false, false},
		{"webshop only, not flagged", &erp.Item{IsSalesItem: true}, true, false},
		{"webshop only, flagged", &erp.Item{IsSalesItem: true, IsWebshopItem: true}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := readerAt(t, &tableUpstream{}, validate.Shop{WebshopOnly: tt.webshopOnly, Location: amsterdam})
			if got := r.Sellable(tt.it); got != tt.want {
				t.Errorf("Sellable = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReaderShopDefaults: a Reader made without a shop prices in EUR on
// UTC's calendar, as the order service does.
func TestReaderShopDefaults(t *testing.T) {
	t.Parallel()
	r, clock := readerAt(t, &tableUpstream{}, validate.Shop{})
	if got := r.Config().Currency; got != validate.DefaultCurrency {
		t.Errorf("currency %q", got)
	}
	clock.Set(time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC))
	if got := r.Today().String(); got != "2026-11-28" {
		t.Errorf("today %s", got)
	}
	if got := r.PublicBuyer().Pricing.Currency; got != validate.DefaultCurrency {
		t.Errorf("public buyer's currency %q", got)
	}
}

func TestReaderItemsInOrderAndCached(t *testing.T) {
	t.Parallel()
	up := &tableUpstream{items: []erp.Item{{ID: idBolt, Code: "BOLT"}, {ID: idNut, Code: "NUT"}}}
	r, _ := readerAt(t, up, validate.Shop{})
	ctx := t.Context()
	const unknown = "aaaaaaaa-0000-4000-8000-0000000000ff"
	got, err := r.Items(ctx, []string{idNut, unknown, idBolt})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] == nil || got[0].ID != idNut || got[1] != nil || got[2] == nil || got[2].ID != idBolt {
		t.Fatalf("Items = %v", got)
	}
	// Known and absent IDs are both remembered: no second call to Exact.
	if _, err := r.Items(ctx, []string{idBolt, unknown}); err != nil {
		t.Fatal(err)
	}
	// By code, in the caller's spelling; the items read by ID seeded the
	// code cache, so this asks Exact nothing either.
	byCode, err := r.ItemsByCode(ctx, []string{"nut", "bolt"})
	if err != nil {
		t.Fatal(err)
	}
	if byCode[0] == nil || byCode[0].ID != idNut || byCode[1] == nil || byCode[1].ID != idBolt {
		t.Fatalf("ItemsByCode = %v", byCode)
	}
	if diff := cmp.Diff([]string{"ItemsByIDs"}, up.called()); diff != "" {
		t.Errorf("calls to Exact (-want +got):\n%s", diff)
	}
}

func TestReaderItemsPageQuery(t *testing.T) {
	t.Parallel()
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	up := &tableUpstream{items: []erp.Item{{ID: idBolt, Code: "BOLT"}}}
	r, clock := readerAt(t, up, validate.Shop{WebshopOnly: true, Location: amsterdam})
	clock.Set(time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC)) // 00:30 on the 29th in Amsterdam
	q := ItemQuery{Search: "bo", ItemGroup: "g", AfterCode: "A", Limit: 24}
	for range 2 {
		if p, err := r.ItemsPage(t.Context(), q); err != nil || len(p.Items) != 1 {
			t.Fatalf("ItemsPage = %+v, %v", p, err)
		}
	}
	want := []ItemQuery{{Search: "bo", ItemGroup: "g", AfterCode: "A", Limit: 24, Today: "2026-11-29", WebshopOnly: true}}
	if diff := cmp.Diff(want, up.pages); diff != "" {
		t.Errorf("queries sent (the second page came from the cache) (-want +got):\n%s", diff)
	}
	// Another day is another page.
	clock.Advance(24 * time.Hour)
	if _, err := r.ItemsPage(t.Context(), q); err != nil || len(up.pages) != 2 || up.pages[1].Today != "2026-11-30" {
		t.Errorf("next day: %v, %+v", err, up.pages)
	}
}

func TestReaderReferenceOrder(t *testing.T) {
	t.Parallel()
	up := &tableUpstream{
		warehouses: []erp.Warehouse{{ID: "w3", Code: "C"}, {ID: "w2", Code: " B"}, {ID: "w1", Code: "Z", Main: true}},
		shipping: []erp.ShippingMethod{{ID: "s1", Code: "UPS", Active: true}, {ID: "s2", Code: "OLD"},
			{ID: "s3", Code: "DHL ", Active: true}},
		contacts: []erp.Contact{{ID: "B", FullName: "Bo"}, {ID: "a", FullName: "Bo"}, {ID: "m", FullName: "Zed", IsMainContact: true},
			{ID: "c", FullName: "Al"}},
		addresses: []erp.Address{{ID: "d2", Type: erp.AddressDelivery}, {ID: "i", Type: erp.AddressInvoice},
			{ID: "d1", Type: erp.AddressDelivery, Main: true}, {ID: "D0", Type: erp.AddressDelivery}},
	}
	r, _ := readerAt(t, up, validate.Shop{})
	ctx := t.Context()
	ids := func(n int, id func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = id(i)
		}
		return out
	}
	ws, err1 := r.Warehouses(ctx)
	ms, err2 := r.ShippingMethods(ctx)
	cs, err3 := r.Contacts(ctx, "acc")
	as, err4 := r.Addresses(ctx, "acc")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{
		"warehouses": ids(len(ws), func(i int) string { return ws[i].ID }),
		"shipping":   ids(len(ms), func(i int) string { return ms[i].ID }),
		"contacts":   ids(len(cs), func(i int) string { return cs[i].ID }),
		"addresses":  ids(len(as), func(i int) string { return as[i].ID }),
	}
	want := map[string][]string{
		"warehouses": {"w1", "w2", "w3"},      // main first, then by trimmed code
		"shipping":   {"s3", "s1"},            // active only, by code
		"contacts":   {"m", "c", "a", "B"},    // main first, then name, then ID
		"addresses":  {"d1", "i", "D0", "d2"}, // main first, then type, then ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestReaderStock(t *testing.T) {
	t.Parallel()
	up := &tableUpstream{stock: []erp.ItemWarehouse{{Item: idBolt, Warehouse: "w1"}, {Item: idBolt, Warehouse: "w2"}}}
	r, clock := readerAt(t, up, validate.Shop{})
	read := clock.Now()
	got, err := r.Stock(t.Context(), []string{idBolt, idNut})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0].Rows) != 2 || got[1].Rows == nil || len(got[1].Rows) != 0 || !got[0].At.Equal(read) {
		t.Fatalf("Stock = %+v", got)
	}
	// An item without rows is a cached empty entry, not absent.
	clock.Advance(time.Second)
	if _, err := r.Stock(t.Context(), []string{idNut}); err != nil {
		t.Fatal(err)
	}
	if n := len(up.called()); n != 1 {
		t.Errorf("%d calls to Exact, want 1: %v", n, up.called())
	}
}

func TestReaderUpstreamErrorIsReturned(t *testing.T) {
	t.Parallel()
	boom := &erp.Error{StatusCode: 503, Endpoint: "logistics/Items"}
	r, _ := readerAt(t, &tableUpstream{fail: boom}, validate.Shop{})
	_, err := r.Items(t.Context(), []string{idBolt})
	if e := (*erp.Error)(nil); !errors.As(err, &e) || e.StatusCode != 503 {
		t.Errorf("Items error = %v, want the upstream's 503", err)
	}
}

// TestLoadersPrefetchStock: a page's stock is one batched lookup, and the
// fields then read it from the request's memo without asking again.
func TestLoadersPrefetchStock(t *testing.T) {
	t.Parallel()
	up := &tableUpstream{stock: []erp.ItemWarehouse{{Item: idBolt, Warehouse: "w1"}}}
	r, _ := readerAt(t, up, validate.Shop{})
	l := NewLoaders(r, "", false)
	items := []erp.Item{{ID: idBolt}, {ID: idNut}}
	if err := l.Prefetch(t.Context(), items, false, false); err != nil || len(up.called()) != 0 {
		t.Fatalf("Prefetch of nothing: %v, calls %v", err, up.called())
	}
	if err := l.Prefetch(t.Context(), items, true, true); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if _, err := l.Stock(t.Context(), it.ID); err != nil {
			t.Fatal(err)
		}
		// An anonymous caller without public prices sees none.
		if _, ok, err := l.PriceData(t.Context(), it); ok || err != nil {
			t.Errorf("PriceData = %v, %v; want no prices", ok, err)
		}
		if _, ok := l.Prefetched(it.ID); ok {
			t.Error("prices prefetched for a caller who sees none")
		}
	}
	if diff := cmp.Diff([]string{"ItemWarehouses"}, up.called()); diff != "" {
		t.Errorf("calls to Exact (-want +got):\n%s", diff)
	}
}

// TestLoadersFailedPrefetchIsNotKept: a prefetch that failed leaves the
// fields to ask (and report) on their own.
func TestLoadersFailedPrefetchIsNotKept(t *testing.T) {
	t.Parallel()
	up := &tableUpstream{fail: &erp.Error{StatusCode: 503}}
	r, _ := readerAt(t, up, validate.Shop{})
	l := NewLoaders(r, "", false)
	if err := l.Prefetch(t.Context(), []erp.Item{{ID: idBolt}}, false, true); err == nil {
		t.Fatal("Prefetch hid the upstream error")
	}
	up.mu.Lock()
	up.fail = nil
	up.mu.Unlock()
	if _, err := l.Stock(t.Context(), idBolt); err != nil {
		t.Errorf("Stock after a failed prefetch: %v", err)
	}
	if n := len(up.called()); n != 2 {
		t.Errorf("%d calls, want 2 (the failed prefetch, then the field's own)", n)
	}
	// Not an Exact item ID: nil without a lookup.
	if it, err := l.Item(t.Context(), "not-a-guid"); it != nil || err != nil || len(up.called()) != 2 {
		t.Errorf("Item(not a GUID) = %v, %v", it, err)
	}
}
