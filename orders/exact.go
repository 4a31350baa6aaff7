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

// NewExact returns the Exact adapter over c.
func NewExact(c *erp.Client) Exact { return exactClient{c: c} }

type exactClient struct{ c *erp.Client }

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
		erp.Eq("OrderedBy", acc), erp.Ge("Created", erp.DateTime(from)))})
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
			f = erp.And(f, erp.Lt("Created", erp.DateTime(before)))
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
