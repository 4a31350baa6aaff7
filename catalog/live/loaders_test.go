package live

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
)

// fakeUpstream answers the account lookups the buyer needs and counts calls;
// every other method is unused here and fails loudly.
type fakeUpstream struct {
	Upstream     // nil: any other method panics, which the test would report
	accountCalls atomic.Int32
	release      chan struct{} // Accounts waits for it when set
}

const testAccount = "11111111-1111-4111-8111-111111111111"

func (f *fakeUpstream) Accounts(ctx context.Context, ids []string) ([]erp.Account, error) {
	f.accountCalls.Add(1)
	if f.release != nil {
		<-f.release
	}
	return []erp.Account{{ID: testAccount, Name: "Buyer", SalesCurrency: "EUR"}}, nil
}

func (f *fakeUpstream) AccountPrices(ctx context.Context, account string) ([]erp.SalesItemPrice, error) {
	return nil, nil
}

func newTestReader(t *testing.T, up Upstream) *Reader {
	t.Helper()
	c, err := cache.New(cache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return NewReader(up, c, Config{Division: 1, Now: func() time.Time { return time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC) }})
}

// TestBuyerNotPoisonedByCancelledSibling: a Buyer lookup that failed only
// because its (batch sibling's) context was cancelled is not remembered for
// the rest of the request.
func TestBuyerNotPoisonedByCancelledSibling(t *testing.T) {
	up := &fakeUpstream{release: make(chan struct{})}
	l := NewLoaders(newTestReader(t, up), testAccount, false)
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	// The load blocks until released, so the dead context is what ends it.
	if _, err := l.Buyer(dead); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled lookup: err %v", err)
	}
	close(up.release)
	b, err := l.Buyer(context.Background())
	if err != nil || b == nil || b.Account == nil || b.Account.ID != testAccount {
		t.Fatalf("live lookup after a cancelled one: %+v, %v", b, err)
	}
	if b.Pricing.Currency != "EUR" {
		t.Errorf("pricing identity %+v", b.Pricing)
	}
	// Kept for the request from now on: no further upstream call.
	before := up.accountCalls.Load()
	if _, err := l.Buyer(context.Background()); err != nil || up.accountCalls.Load() != before {
		t.Errorf("second live lookup: err %v, calls %d → %d", err, before, up.accountCalls.Load())
	}
}
