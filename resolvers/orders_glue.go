package resolvers

import (
	"context"
	"errors"

	"github.com/exactql/exactql/graph/model"
	"github.com/exactql/exactql/ordering"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/pricing"
)

// OrderService is the order flow the order resolvers use (*orders.Service).
type OrderService interface {
	Place(ctx context.Context, b orders.Buyer, key string, in ordering.Input) (*orders.Result, error)
	Get(ctx context.Context, b orders.Buyer, id string) (*orders.Order, error)
	List(ctx context.Context, b orders.Buyer, first int, after string) (*orders.Page, error)
}

var _ OrderService = (*orders.Service)(nil)

// buyer returns the order-flow identity of the caller: UNAUTHENTICATED
// without a token, FORBIDDEN for a token without exact_account.
func buyer(ctx context.Context) (orders.Buyer, error) {
	c := FromContext(ctx)
	switch {
	case c.Anonymous:
		return orders.Buyer{}, ErrUnauthenticated
	case c.Account == "":
		return orders.Buyer{}, ErrForbidden
	}
	return orders.Buyer{Account: c.Account, Contact: c.Contact, Subject: c.Subject}, nil
}

// orderErr maps the order service's errors to the presenter's typed errors.
func orderErr(err error) error {
	var ue *orders.UnavailableError
	var ta *orders.TooManyAttemptsError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, orders.ErrForbidden):
		return ErrForbidden
	case errors.Is(err, orders.ErrNotFound):
		return &NotFoundError{What: "order"}
	case errors.Is(err, orders.ErrInvalidKey):
		return BadInputf("idempotencyKey: must be 1 to %d characters", orders.MaxKeyLength)
	case errors.Is(err, orders.ErrInvalidCursor):
		return BadInputf("after: not a valid cursor")
	case errors.Is(err, orders.ErrInvalidPageSize):
		return BadInputf("first: must be from 1 to %d", orders.MaxPageSize)
	case errors.As(err, &ue):
		return &UpstreamError{Err: err}
	case errors.As(err, &ta):
		return &RateLimitedError{RetryAfter: ta.RetryAfter}
	}
	return err
}

func orderInput(in model.PlaceOrderInput) ordering.Input {
	out := ordering.Input{YourReference: in.YourReference, Description: in.Description, Remarks: in.Remarks,
		DeliveryAddressID: in.DeliveryAddressID, ShippingMethodID: in.ShippingMethodID, WarehouseID: in.WarehouseID}
	if in.DeliveryDate != nil {
		d := pricing.Date{Year: in.DeliveryDate.Year, Month: in.DeliveryDate.Month, Day: in.DeliveryDate.Day}
		out.DeliveryDate = &d
	}
	for _, l := range in.Lines {
		if l == nil {
			continue
		}
		out.Lines = append(out.Lines, ordering.Line{ProductID: l.ProductID, ProductCode: l.ProductCode, Quantity: l.Quantity.Decimal, Notes: l.Notes})
	}
	return out
}

func dateModel(d *pricing.Date) *model.Date {
	if d == nil || d.IsZero() {
		return nil
	}
	return &model.Date{Year: d.Year, Month: d.Month, Day: d.Day}
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orderModel maps an order of the order service.
func orderModel(o *orders.Order, account string) *model.SalesOrder {
	m := &model.SalesOrder{ID: o.ID, Status: model.OrderStatus(o.Status), RejectionReason: strPtr(o.RejectionReason),
		OrderDate: dateModel(o.OrderDate), DeliveryDate: dateModel(o.DeliveryDate), YourReference: strPtr(o.YourRef),
		Description: strPtr(o.Description), AccountID: account, ExactOrderID: o.ExactID,
		DeliveryAddressID: o.DeliveryAddressID, ShippingMethodID: o.ShippingMethodID, Currency: o.Currency}
	amount := o.Amount
	m.Amount = &amount
	if o.OrderNumber != 0 {
		n := o.OrderNumber
		m.OrderNumber = &n
	}
	m.KnownLines = make([]*model.SalesOrderLine, 0, len(o.Lines))
	for _, l := range o.Lines {
		m.KnownLines = append(m.KnownLines, &model.SalesOrderLine{LineNumber: l.LineNumber, ProductCode: l.ItemCode,
			Description: strPtr(l.Description), Quantity: model.NewDecimal(l.Quantity),
			UnitPrice: money(l.UnitPrice, o.Currency), Amount: money(l.Amount, o.Currency), ItemID: l.ItemID})
	}
	return m
}

func userErrors(errs []ordering.UserError) []*model.UserError {
	out := make([]*model.UserError, 0, len(errs))
	for _, e := range errs {
		out = append(out, &model.UserError{Field: e.Field, Code: model.UserErrorCode(e.Code), Message: e.Message})
	}
	return out
}
