package webhooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server/webhooks"
	"github.com/exactql/exactql/store"
)

// TestSandboxDeliversToHandler: the sandbox signs a webhook for its own
// change, the handler verifies it and wakes the feed, and the feed's poll
// brings the change to the subscriber.
func TestSandboxDeliversToHandler(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := erptest.NewClock(time.Date(2026, 3, 10, 10, 0, 30, 0, time.UTC))
	sb := sandbox.New(sandbox.Options{Clock: clock, TokenLifetime: 48 * time.Hour,
		Data: gen.Options{Items: 200, Customers: 20, Today: clock.Now()}})
	exact := httptest.NewServer(sb)
	defer exact.Close()
	cfg := oauth2.Config{ClientID: sb.ClientID(), ClientSecret: sb.ClientSecret(),
		Endpoint: oauth2.Endpoint{TokenURL: exact.URL + "/api/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	ts := cfg.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, exact.Client()), &oauth2.Token{RefreshToken: sb.IssueRefreshToken()})
	client, err := erp.New(erp.WithBaseURL(exact.URL), erp.WithTokenSource(ts), erp.WithDivision(sb.Division()), erp.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	changes := make(chan feeds.Change, 1000)
	r, err := feeds.New(feeds.Options{Client: client, Store: st, Now: clock.Now, WakeDelay: time.Millisecond,
		Sleep: func(ctx context.Context, d time.Duration) error { clock.Advance(d); return ctx.Err() },
		Subscriber: func(cs []feeds.Change) {
			for _, c := range cs {
				select {
				case changes <- c:
				default:
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for len(changes) > 0 {
		<-changes
	}
	h, err := webhooks.New(webhooks.Options{Secret: sb.WebhookSecret(), Wake: r.WakeTopic, Division: sb.Division()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/exact", h)
	gw := httptest.NewServer(mux)
	defer gw.Close()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	subs := client.WebhookSubscriptions()
	for _, topic := range []string{"Items", "StockPositions", "SalesOrders"} {
		if _, err := subs.Create(ctx, gw.URL+"/webhooks/exact", topic, "exactql"); err != nil {
			t.Fatal(err)
		}
	}
	sb.WaitWebhooks()
	if s := h.Stats(); s.Validations != 3 {
		t.Errorf("validation requests answered: %+v", s)
	}

	item := sb.DemoBuyers()[0] // any account; the item comes from the catalogue
	var itemID string
	_ = st.MirrorRows(ctx, feeds.FeedItems, func(k string, _ []byte) error {
		if itemID == "" {
			itemID = k
		}
		return nil
	})
	start := time.Now()
	if err := sb.SetStandardSalesPrice(itemID, decimal.RequireFromString("19.99")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, changes, "price change", func(c feeds.Change) bool {
		it, ok := c.Row.(erp.SyncItem)
		return ok && it.ID == itemID && it.StandardSalesPrice.Equal(decimal.RequireFromString("19.99"))
	})
	t.Logf("price change reached the subscriber %s after the change (webhook, wake, poll)", time.Since(start))
	oid, err := sb.StaffOrder(item.AccountID, []sandbox.StaffLine{{ItemID: itemID, Quantity: decimal.NewFromInt(1)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, changes, "staff order", func(c feeds.Change) bool { return c.Feed == feeds.FeedOrders && c.Key == oid })
	sb.WaitWebhooks()
	if s := sb.WebhookStats(); s.Failed != 0 || s.Delivered < 2 {
		t.Errorf("sandbox deliveries %+v", s)
	}
	if s := h.Stats(); s.Refused != 0 || s.Accepted < 2 {
		t.Errorf("handler %+v", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

func waitFor(t *testing.T, ch <-chan feeds.Change, what string, ok func(feeds.Change) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c := <-ch:
			if ok(c) {
				return
			}
		case <-deadline:
			t.Fatalf("%s never reached the subscriber", what)
		}
	}
}
