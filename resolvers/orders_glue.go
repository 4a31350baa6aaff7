package resolvers

import (
	"context"
	"errors"

	"github.com/exactql/exactql/apierr"
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
		return orders.Caller{}, apierr.ErrUnauthenticated
	case c.Account == "":
		return orders.Caller{}, apierr.ErrForbidden
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
		return apierr.ErrForbidden
	case errors.Is(err, orders.ErrNotFound):
		return &apierr.NotFoundError{What: "order"}
	case errors.Is(err, orders.ErrInvalidKey):
		return apierr.BadInputf("idempotencyKey: must be 1 to %d characters", orders.MaxKeyLength)
	case errors.Is(err, orders.ErrInvalidCursor):
		return apierr.BadInputf("after: not a valid cursor")
	case errors.Is(err, orders.ErrInvalidPageSize):
		return apierr.BadInputf("first: must be from 1 to %d", orders.MaxPageSize)
	case errors.As(err, &ue):
		return &apierr.UpstreamError{Err: err}
	case errors.As(err, &ta):
		return &apierr.RateLimitedError{RetryAfter: ta.RetryAfter}
	}
	return err
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
		line := previewLineModel(v, vl)
		if e, err := l.Stock(ctx, vl.Item.ID); err == nil {
			d := model.NewDecimal(availableOf(e.Rows))
			line.AvailableQuantity = &d
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}
