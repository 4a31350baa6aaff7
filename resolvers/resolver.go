// Package resolvers implements the GraphQL resolvers of the storefront API,
// one file per schema area (gqlgen writes the *.resolvers.go skeletons), the
// caller identity carried in the request context and the error presenter that
// turns errors into the codes of ARCHITECTURE §8.
package resolvers

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/exactql/exactql/catalog"
	"github.com/exactql/exactql/catalog/live"
)

// Deps are the services the resolvers use. cmd fills them in.
type Deps struct {
	// Reader is the shared read path (cache, single-flight, Exact).
	Reader *live.Reader
	// PublicPrices lets anonymous callers see default prices.
	PublicPrices bool
	// Orders is the order service; nil disables placeOrder and order history.
	Orders OrderService
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Mirror is the catalog mirror (EXACTQL_SYNC); nil means the fallback
	// path only. The Reader already asks it first; the resolvers use its
	// index directly for what only the mirror can answer (search ranking,
	// stock filters, sorts, totalCount).
	Mirror *catalog.Mirror
	// PublicURL is the gateway's public base URL (EXACTQL_PUBLIC_URL,
	// without a trailing slash): when set, pictureUrl and thumbnailUrl are
	// absolute URLs under it; when empty they are paths (/images/{id}).
	PublicURL string
}

// Resolver is the root resolver gqlgen calls into.
type Resolver struct {
	Deps Deps
}

// New returns a root resolver over deps.
func New(deps Deps) *Resolver {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Resolver{Deps: deps}
}

type loadersKey struct{}

// AroundOperations gives every GraphQL operation fresh dataloaders for its
// caller (ARCHITECTURE §3.1). Install it with gqlgen's AroundOperations.
func (r *Resolver) AroundOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if r.Deps.Reader != nil {
		c := FromContext(ctx)
		account := ""
		if c.IsBuyer() {
			account = c.Account
		}
		ctx = context.WithValue(ctx, loadersKey{}, live.NewLoaders(r.Deps.Reader, account, r.Deps.PublicPrices))
		var end func()
		ctx, end = r.Deps.Reader.Begin(ctx)
		rh := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			defer end()
			return rh(ctx)
		}
	}
	return next(ctx)
}

// loaders returns the operation's dataloaders (fresh ones if AroundOperations
// was not installed, as in unit tests of single resolvers).
func (r *Resolver) loaders(ctx context.Context) *live.Loaders {
	if l, ok := ctx.Value(loadersKey{}).(*live.Loaders); ok {
		return l
	}
	c := FromContext(ctx)
	account := ""
	if c.IsBuyer() {
		account = c.Account
	}
	return live.NewLoaders(r.Deps.Reader, account, r.Deps.PublicPrices)
}
