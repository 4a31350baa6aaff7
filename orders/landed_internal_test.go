package orders

import (
	"context"
	"encoding/json"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
)

// landedJournal holds one buyer's records; only ByAccount is used by List.
type landedJournal struct {
	Journal
	recs []JournalRecord
}

func (j *landedJournal) ByAccount(context.Context, string, ...string) ([]JournalRecord, error) {
	return j.recs, nil
}

// landedExact holds the buyer's orders in Exact, newest first.
type landedExact struct {
	Exact
	orders []erp.SalesOrder
	since  int
}

func (x *landedExact) Orders(_ context.Context, _ string, before time.Time) iter.Seq2[*erp.SalesOrder, error] {
	return func(yield func(*erp.SalesOrder, error) bool) {
		for i := range x.orders {
			if !before.IsZero() && !x.orders[i].Created.Time.Before(before) {
				continue
			}
			if !yield(&x.orders[i], nil) {
				return
			}
		}
	}
}

func (x *landedExact) OrdersSince(_ context.Context, _ string, from time.Time) ([]erp.SalesOrder, error) {
	x.since++
	var out []erp.SalesOrder
	for _, o := range x.orders {
		if !o.Created.Time.Before(from) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (x *landedExact) Lines(context.Context, []string) ([]erp.SalesOrderLine, error) { return nil, nil }

// TestListLandedPendingOnceAcrossPages: an order the worker has not yet
// found in Exact is PENDING in the journal while Exact holds it, created a
// hour later. Paged one order at a time, it is listed once (from Exact,
// on the first page), not again as PENDING on the next page.
func TestListLandedPendingOnceAcrossPages(t *testing.T) {
	const (
		account = "cccccccc-0000-4000-8000-000000000001"
		gw      = "aaaaaaaa-0000-4000-8000-000000000001"
		landed  = "eeeeeeee-0000-4000-8000-000000000001"
		older   = "eeeeeeee-0000-4000-8000-000000000002"
		middle  = "eeeeeeee-0000-4000-8000-000000000003"
	)
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	raw, _ := json.Marshal(doc{Order: Order{Status: StatusPending, Currency: "EUR"}})
	j := &landedJournal{recs: []JournalRecord{{GatewayID: gw, Account: account, IdempotencyKey: "k", State: StatePending,
		Doc: raw, Created: t0, Updated: t0}}}
	x := &landedExact{orders: []erp.SalesOrder{
		{OrderID: landed, Remarks: RefPrefix + gw, Created: erp.NewTime(t0.Add(time.Hour)), Status: erp.OrderStatusOpen},
		{OrderID: middle, Created: erp.NewTime(t0.Add(30 * time.Minute)), Status: erp.OrderStatusOpen},
		{OrderID: older, Created: erp.NewTime(t0.Add(-time.Hour)), Status: erp.OrderStatusOpen},
	}}
	s := NewService(Options{Journal: j, Exact: x, Catalog: nil, Now: func() time.Time { return t0.Add(2 * time.Hour) }})
	ctx := context.Background()
	var ids []string
	after := ""
	for range 5 {
		p, err := s.List(ctx, Caller{Account: account}, 1, after)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, o := range p.Orders {
			ids = append(ids, o.ID+"/"+o.Status)
		}
		if !p.HasNextPage {
			break
		}
		after = p.Cursors[len(p.Cursors)-1]
	}
	want := []string{gw + "/" + StatusOpen, middle + "/" + StatusOpen, older + "/" + StatusOpen}
	if !slices.Equal(ids, want) {
		t.Errorf("pages listed %v; want %v", ids, want)
	}
	if x.since == 0 {
		t.Errorf("a later page showing a pending order did not look for it in Exact")
	}
}
