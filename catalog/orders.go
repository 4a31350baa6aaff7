package catalog

import (
	"context"
	"iter"
	"strings"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders"
)

// OrdersExact is the order service's Exact (orders.Options.Exact) with the
// order history read from the mirror: Orders and Lines come from the index
// once the order feeds have finished their first pass. CreateOrder,
// OrdersSince and Order always go to Exact: they are the write path's own
// search for an earlier attempt and its read-back (ARCHITECTURE §6.8),
// which must not depend on a feed's lag. An order written through
// CreateOrder is put into the index at once, so the buyer's list shows it
// before the orders feed brings Exact's row (which then replaces it).
type OrdersExact struct {
	m    *Mirror
	live orders.Exact
	loc  *time.Location
}

var _ orders.Exact = (*OrdersExact)(nil)

// NewOrdersExact returns live with the order history read from m. loc is
// the division's time zone, in whose wall-clock time Exact's Created is
// written (exact-online-api.md §5.9).
func NewOrdersExact(m *Mirror, live orders.Exact, loc *time.Location) *OrdersExact {
	if loc == nil {
		loc = time.UTC
	}
	return &OrdersExact{m: m, live: live, loc: loc}
}

// CreateOrder implements orders.Exact.
func (o *OrdersExact) CreateOrder(ctx context.Context, so *erp.NewSalesOrder) (*erp.SalesOrder, error) {
	created, err := o.live.CreateOrder(ctx, so)
	if err == nil && created != nil && created.OrderID != "" && created.OrderedBy != "" {
		// Best effort: the orders feed brings the row anyway.
		_ = o.m.Index().Apply(orderBatch(*created))
	}
	return created, err
}

// OrdersSince implements orders.Exact (always Exact).
func (o *OrdersExact) OrdersSince(ctx context.Context, account string, from time.Time) ([]erp.SalesOrder, error) {
	return o.live.OrdersSince(ctx, account, from)
}

// Order implements orders.Exact (always Exact).
func (o *OrdersExact) Order(ctx context.Context, account, orderID string) (*erp.SalesOrder, error) {
	return o.live.Order(ctx, account, orderID)
}

// Orders implements orders.Exact: from the mirror when it serves orders.
func (o *OrdersExact) Orders(ctx context.Context, account string, before time.Time) iter.Seq2[*erp.SalesOrder, error] {
	if !o.m.Serves(DataOrders) {
		return o.live.Orders(ctx, account, before)
	}
	// Exact compares Created with a datetime literal in the division's
	// wall-clock time; Created holds that wall-clock time as UTC.
	var bound time.Time
	if !before.IsZero() {
		w := before.In(o.loc)
		bound = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.UTC)
	}
	s := o.m.Index().Snapshot()
	return func(yield func(*erp.SalesOrder, error) bool) {
		after := ""
		for {
			page, err := s.Orders(account, 100, after)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range page.Orders {
				h := page.Orders[i].SalesOrder
				if !bound.IsZero() && !h.Created.Time.Before(bound) {
					continue
				}
				h.SalesOrderLines = nil // lines come from Lines, as at Exact
				if !yield(&h, nil) {
					return
				}
			}
			if !page.HasNextPage {
				return
			}
			after = page.EndCursor
		}
	}
}

// Lines implements orders.Exact: the mirror's lines of the orders it holds,
// Exact's for any it does not hold yet.
func (o *OrdersExact) Lines(ctx context.Context, orderIDs []string) ([]erp.SalesOrderLine, error) {
	if !o.m.Serves(DataOrders) {
		return o.live.Lines(ctx, orderIDs)
	}
	s := o.m.Index().Snapshot()
	var out []erp.SalesOrderLine
	var missing []string
	for _, id := range orderIDs {
		ord, ok := s.Order(strings.ToLower(id))
		if !ok {
			missing = append(missing, id)
			continue
		}
		out = append(out, ord.Lines...)
	}
	if len(missing) > 0 {
		rest, err := o.live.Lines(ctx, missing)
		if err != nil {
			return nil, err
		}
		out = append(out, rest...)
	}
	return out, nil
}
