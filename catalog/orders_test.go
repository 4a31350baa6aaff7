package catalog_test

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/catalog"
	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/erp"
)

// liveOrders is the Exact side of OrdersExact in a test: reads count, and
// CreateOrder returns a fixed order.
type liveOrders struct {
	reads   int
	created erp.SalesOrder
}

func (l *liveOrders) CreateOrder(context.Context, *erp.NewSalesOrder) (*erp.SalesOrder, error) {
	o := l.created
	return &o, nil
}
func (l *liveOrders) OrdersSince(context.Context, string, time.Time) ([]erp.SalesOrder, error) {
	l.reads++
	return nil, nil
}
func (l *liveOrders) Order(context.Context, string, string) (*erp.SalesOrder, error) {
	l.reads++
	return nil, erp.ErrNotFound
}
func (l *liveOrders) Orders(context.Context, string, time.Time) iter.Seq2[*erp.SalesOrder, error] {
	l.reads++
	return func(func(*erp.SalesOrder, error) bool) {}
}
func (l *liveOrders) Lines(context.Context, []string) ([]erp.SalesOrderLine, error) {
	l.reads++
	return nil, errors.New("no lines at Exact in this test")
}

const acct = "0c000000-0000-4000-8000-000000000001"

func order(n int, created time.Time) erp.SyncSalesOrderHeader {
	id := "0d000000-0000-4000-8000-00000000000" + string(rune('0'+n))
	return erp.SyncSalesOrderHeader{SalesOrder: erp.SalesOrder{OrderID: id, OrderNumber: n, OrderedBy: acct,
		Created: erp.Time{Time: created}}}
}

func TestOrdersExactReadsHistoryFromTheMirror(t *testing.T) {
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Skip("no time zone data")
	}
	m := catalog.NewMirror(catalog.Options{Status: statusOf(feeds.FeedOrders, feeds.FeedOrderLines, feeds.FeedItems)})
	// Created is the division's wall-clock time stored as UTC.
	o1, o2, o3 := order(1, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)), order(2, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
		order(3, time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC))
	line := erp.SyncSalesOrderLine{SalesOrderLine: erp.SalesOrderLine{ID: "0e000000-0000-4000-8000-000000000001", OrderID: o2.OrderID,
		LineNumber: 1, ItemCode: "A1", Quantity: decimal.NewFromInt(2)}}
	m.Apply([]feeds.Change{{Feed: feeds.FeedItems, Key: itemA, Row: erp.SyncItem{Item: erp.Item{ID: itemA, Code: "A1", IsSalesItem: true}}},
		{Feed: feeds.FeedOrders, Key: o1.OrderID, Row: o1}, {Feed: feeds.FeedOrders, Key: o2.OrderID, Row: o2},
		{Feed: feeds.FeedOrders, Key: o3.OrderID, Row: o3}, {Feed: feeds.FeedOrderLines, Key: line.ID, Row: line}})
	live := &liveOrders{}
	x := catalog.NewOrdersExact(m, live, amsterdam)
	ctx := context.Background()

	var got []int
	for o, err := range x.Orders(ctx, acct, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o.OrderNumber)
	}
	if len(got) != 3 || got[0] != 3 || got[2] != 1 {
		t.Fatalf("orders newest first: %v", got)
	}
	// before is an instant; 2026-03-02 09:00 in Amsterdam is 08:00 UTC.
	got = nil
	for o, err := range x.Orders(ctx, acct, time.Date(2026, 3, 2, 8, 0, 1, 0, time.UTC)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, o.OrderNumber)
	}
	if len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Fatalf("orders created before 09:00:01 Amsterdam on 2 March: %v, want [2 1]", got)
	}
	lines, err := x.Lines(ctx, []string{o2.OrderID, o1.OrderID})
	if err != nil || len(lines) != 1 || lines[0].ItemCode != "A1" {
		t.Fatalf("lines = %+v, %v", lines, err)
	}
	if live.reads != 0 {
		t.Fatalf("the order history asked Exact %d times", live.reads)
	}

	// A written order is in the history at once, before the feed brings it.
	live.created = order(4, time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)).SalesOrder
	if _, err := x.CreateOrder(ctx, &erp.NewSalesOrder{}); err != nil {
		t.Fatal(err)
	}
	for o, err := range x.Orders(ctx, acct, time.Time{}) {
		if err != nil || o.OrderNumber != 4 {
			t.Fatalf("newest order after a write: %+v, %v", o, err)
		}
		break
	}
	// The write path's own search and read-back always ask Exact.
	_, _ = x.OrdersSince(ctx, acct, time.Time{})
	_, _ = x.Order(ctx, acct, o1.OrderID)
	if live.reads != 2 {
		t.Fatalf("OrdersSince and Order asked Exact %d times, want 2", live.reads)
	}

	// Before the order feeds complete, everything goes to Exact.
	cold := catalog.NewOrdersExact(catalog.NewMirror(catalog.Options{Status: statusOf()}), live, amsterdam)
	for range cold.Orders(ctx, acct, time.Time{}) {
	}
	if live.reads != 3 {
		t.Fatalf("a cold mirror did not send Orders to Exact")
	}
}
