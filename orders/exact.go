package orders

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/exactql/exactql/erp"
)

// Exact is what the order service needs from Exact Online. NewExact adapts
// an *erp.Client; tests may use the same adapter against the sandbox.
type Exact interface {
	// CreateOrder POSTs one order to salesorder/SalesOrders, exactly once.
	CreateOrder(ctx context.Context, o *erp.NewSalesOrder) (*erp.SalesOrder, error)
	// OrdersSince returns the headers of the account's orders created at or
	// after from (the search for an earlier attempt, ARCHITECTURE §6.8).
	OrdersSince(ctx context.Context, account string, from time.Time) ([]erp.SalesOrder, error)
	// Order returns one of the account's orders with its lines, or an error
	// wrapping erp.ErrNotFound (also when the order is another account's).
	Order(ctx context.Context, account, orderID string) (*erp.SalesOrder, error)
	// Orders iterates over the account's order headers, newest first
	// (Created, then OrderID, descending), created before before (no bound
	// when zero).
	Orders(ctx context.Context, account string, before time.Time) iter.Seq2[*erp.SalesOrder, error]
	// Lines returns the lines of the given orders.
	Lines(ctx context.Context, orderIDs []string) ([]erp.SalesOrderLine, error)
}

// NewExact returns the Exact adapter over c for a division in UTC; use
// NewExactIn with the division's time zone (EXACTQL_TIMEZONE).
func NewExact(c *erp.Client) Exact { return NewExactIn(c, time.UTC) }

// NewExactIn returns the Exact adapter over c for a division in time zone
// loc: Exact compares Created with datetime literals in the division's
// local wall-clock time (exact-online-api.md §5.9), so instants are written
// in loc.
func NewExactIn(c *erp.Client, loc *time.Location) Exact {
	if loc == nil {
		loc = time.UTC
	}
	return exactClient{c: c, loc: loc}
}

type exactClient struct {
	c   *erp.Client
	loc *time.Location
}

// exactDateTime writes the instant t as a datetime literal of the division's
// wall clock in loc.
func exactDateTime(t time.Time, loc *time.Location) erp.Value {
	l := t.In(loc)
	return erp.DateTime(time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC))
}

// exactInstant reads an Exact Created or Modified value, the division's
// wall clock in loc encoded as if it were UTC, as an instant. In the hour a
// clock goes back the wall time is ambiguous; time.Date picks one of the
// two instants, at most an hour off, which the order worker's day-wide
// search window absorbs.
func exactInstant(t erp.Time, loc *time.Location) time.Time {
	if !t.Valid() {
		return time.Time{}
	}
	u := t.Time.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), loc)
}

func (e exactClient) CreateOrder(ctx context.Context, o *erp.NewSalesOrder) (*erp.SalesOrder, error) {
	return e.c.SalesOrders.Create(ctx, o)
}

func (e exactClient) OrdersSince(ctx context.Context, account string, from time.Time) ([]erp.SalesOrder, error) {
	acc, err := erp.GUID(account)
	if err != nil {
		return nil, fmt.Errorf("orders.OrdersSince: %w", err)
	}
	// The window is widened to whole seconds by the datetime literal, which
	// only makes the search wider.
	out, err := e.c.SalesOrders.Find(ctx, erp.Query{Filter: erp.And(
		erp.Eq("OrderedBy", acc), erp.Ge("Created", exactDateTime(from, e.loc)))})
	if err != nil {
		return nil, fmt.Errorf("orders.OrdersSince: %w", err)
	}
	return out, nil
}

func (e exactClient) Order(ctx context.Context, account, orderID string) (*erp.SalesOrder, error) {
	acc, err := erp.GUID(account)
	if err != nil {
		return nil, fmt.Errorf("orders.Order: %w", erp.ErrNotFound)
	}
	id, err := erp.GUID(orderID)
	if err != nil {
		return nil, fmt.Errorf("orders.Order: %w", erp.ErrNotFound)
	}
	rows, _, err := e.c.SalesOrders.ListPage(ctx, erp.Query{Filter: erp.And(erp.Eq("OrderID", id), erp.Eq("OrderedBy", acc)), Top: 1}, "")
	if err != nil {
		return nil, fmt.Errorf("orders.Order: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("orders.Order: %w", erp.ErrNotFound)
	}
	o := rows[0]
	lines, err := e.c.SalesOrderLines.ForOrders(ctx, []string{o.OrderID})
	if err != nil {
		return nil, fmt.Errorf("orders.Order: %w", err)
	}
	o.SalesOrderLines = lines
	return &o, nil
}

func (e exactClient) Orders(ctx context.Context, account string, before time.Time) iter.Seq2[*erp.SalesOrder, error] {
	return func(yield func(*erp.SalesOrder, error) bool) {
		acc, err := erp.GUID(account)
		if err != nil {
			yield(nil, fmt.Errorf("orders.Orders: %w", err))
			return
		}
		f := erp.Eq("OrderedBy", acc)
		if !before.IsZero() {
			f = erp.And(f, erp.Lt("Created", exactDateTime(before, e.loc)))
		}
		for o, err := range e.c.SalesOrders.List(ctx, erp.Query{Filter: f, OrderBy: []string{"Created desc", "OrderID desc"}}) {
			if err != nil {
				yield(nil, fmt.Errorf("orders.Orders: %w", err))
				return
			}
			if !yield(o, nil) {
				return
			}
		}
	}
}

func (e exactClient) Lines(ctx context.Context, orderIDs []string) ([]erp.SalesOrderLine, error) {
	if len(orderIDs) == 0 {
		return nil, nil
	}
	out, err := e.c.SalesOrderLines.ForOrders(ctx, orderIDs)
	if err != nil {
		return nil, fmt.Errorf("orders.Lines: %w", err)
	}
	return out, nil
}
