package resolvers

import (
	"context"
	"errors"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
)

// OrderService is the order flow the order resolvers use (*orders.Service).
type OrderService interface {
	Place(ctx context.Context, b orders.Caller, key string, in validate.Input) (*orders.Result, error)
	Get(ctx context.Context, b orders.Caller, id string) (*orders.Order, error)
	List(ctx context.Context, b orders.Caller, first int, after string) (*orders.Page, error)
	Preview(ctx context.Context, b orders.Caller, in validate.Input) (*orders.Preview, error)
}

var _ OrderService = (*orders.Service)(nil)

// buyer returns the order-flow identity of the caller: UNAUTHENTICATED
// without a token, FORBIDDEN for a token without exact_account.
func buyer(ctx context.Context) (orders.Caller, error) {
	c := FromContext(ctx)
	switch {
	case c.Anonymous:
		return orders.Caller{}, ErrUnauthenticated
	case c.Account == "":
		return orders.Caller{}, ErrForbidden
	}
	return orders.Caller{Account: c.Account, Contact: c.Contact, Subject: c.Subject}, nil
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

func orderInput(in model.PlaceOrderInput) validate.Input {
	out := validate.Input{YourReference: in.YourReference, Description: in.Description, Remarks: in.Remarks,
		DeliveryAddressID: in.DeliveryAddressID, ShippingMethodID: in.ShippingMethodID, WarehouseID: in.WarehouseID}
	if in.DeliveryDate != nil {
		d := civil.Date{Year: in.DeliveryDate.Year, Month: in.DeliveryDate.Month, Day: in.DeliveryDate.Day}
		out.DeliveryDate = &d
	}
	for _, l := range in.Lines {
		if l == nil {
			continue
		}
		out.Lines = append(out.Lines, validate.Line{ProductID: l.ProductID, ProductCode: l.ProductCode, Quantity: l.Quantity.Decimal, Notes: l.Notes})
	}
	return out
}

// previewInput maps previewOrder's input onto the order input placeOrder
// validates (no key, no texts: those are placeOrder's own).
func previewInput(in model.OrderPreviewInput) validate.Input {
	return orderInput(model.PlaceOrderInput{Lines: in.Lines, DeliveryAddressID: in.DeliveryAddressID,
		ShippingMethodID: in.ShippingMethodID, WarehouseID: in.WarehouseID, DeliveryDate: in.DeliveryDate})
}

// previewModel maps a preview. Each line's available stock is read through
// the request's loaders (cached like Product.availableQuantity); a figure
// that cannot be had is null, never an error: the preview's prices and
// errors stand on their own.
func (r *Resolver) previewModel(ctx context.Context, p *orders.Preview) *model.OrderPreview {
	out := &model.OrderPreview{Lines: make([]*model.OrderPreviewLine, 0, len(p.Lines)), UserErrors: userErrors(p.UserErrors)}
	if len(p.Lines) > 0 {
		out.Amount = money(p.Amount, p.Currency)
	}
	l := r.loaders(ctx)
	v := r.view(ctx)
	for _, vl := range p.Lines {
		line := &model.OrderPreviewLine{Index: vl.Index, Product: v.product(vl.Item), Quantity: model.NewDecimal(vl.Quantity),
			UnitPrice: money(vl.Price.UnitPrice, vl.Price.Currency), Amount: money(vl.Amount, vl.Price.Currency),
			Source: model.PriceSource(vl.Price.Source)}
		if e, err := l.Stock(ctx, vl.Item.ID); err == nil {
			d := model.NewDecimal(availableOf(e.Rows))
			line.AvailableQuantity = &d
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}

// availableOf sums the positive available quantity (current stock less
// planned stock out) over an item's warehouse rows, as
// Product.availableQuantity does.
func availableOf(rows []erp.ItemWarehouse) decimal.Decimal {
	sum := decimal.Zero
	for _, row := range rows {
		if a := row.CurrentStock.Sub(row.PlannedStockOut); a.IsPositive() {
			sum = sum.Add(a)
		}
	}
	return sum
}

func dateModel(d *civil.Date) *model.Date {
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
		DeliveryAddressID: o.DeliveryAddressID, ShippingMethodID: o.ShippingMethodID, Currency: o.Currency,
		IdempotencyKey: strPtr(o.IdempotencyKey), Validated: o.Validated}
	if !o.Updated.IsZero() {
		u := model.NewDateTime(o.Updated)
		m.UpdatedAt = &u
	}
	if o.DeliveryAddress != nil {
		m.KnownDeliveryAddress = addressModel(*o.DeliveryAddress)
	}
	if sm := o.ShippingMethod; sm != nil {
		m.KnownShippingMethod = &model.ShippingMethod{ID: sm.ID, Code: erp.Code(sm.Code), Description: sm.Description}
	}
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
			UnitPrice: money(l.UnitPrice, o.Currency), Amount: money(l.Amount, o.Currency), ItemID: l.ItemID, KnownItem: l.Item})
	}
	return m
}

func userErrors(errs []validate.UserError) []*model.UserError {
	out := make([]*model.UserError, 0, len(errs))
	for _, e := range errs {
		out = append(out, &model.UserError{Field: e.Field, Code: model.UserErrorCode(e.Code), Message: e.Message})
	}
	return out
}
