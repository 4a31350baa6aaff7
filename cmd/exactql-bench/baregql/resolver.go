package baregql

import (
	"context"
	"fmt"
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
)

// MaxProducts is the most products the baseline returns (its whole catalog).
const MaxProducts = 60

// Resolver answers the baseline schema from a fixed in-memory catalog.
type Resolver struct {
	products []*Product
	// page is the same catalog in issue 15's nested page shape.
	page []*PageProduct
}

// NewResolver returns a resolver over a catalog of MaxProducts products.
func NewResolver() *Resolver {
	r := &Resolver{products: make([]*Product, MaxProducts)}
	for i := range r.products {
		r.products[i] = &Product{
			ID:          fmt.Sprintf("3f2b%04d-0000-4000-8000-%012d", i, i),
			Code:        fmt.Sprintf("ART-%05d", 10000+i),
			Description: fmt.Sprintf("Roestvrijstalen schroef %d x %d mm", 3+i%5, 10+i),
			Unit:        "pc",
			Price:       fmt.Sprintf("%d.%02d", 1+i%17, (i*37)%100),
		}
		p := r.products[i]
		r.page = append(r.page, &PageProduct{Code: p.Code, Description: p.Description,
			Price: &PagePrice{UnitPrice: &PageMoney{Amount: p.Price}}, AvailableQuantity: fmt.Sprint((i * 53) % 500)})
	}
	return r
}

// Query returns the query resolver.
func (r *Resolver) Query() QueryResolver { return queryResolver{r} }

type queryResolver struct{ r *Resolver }

// Products returns the first products of the catalog; first is clamped to
// 0…MaxProducts.
func (q queryResolver) Products(_ context.Context, first *int) ([]*Product, error) {
	n := MaxProducts
	if first != nil {
		n = max(0, min(*first, MaxProducts))
	}
	return q.r.products[:n], nil
}

// ProductPage returns the first products of the catalog as issue 15's
// nested page; first is clamped to 0…MaxProducts.
func (q queryResolver) ProductPage(_ context.Context, first *int) (*ProductPage, error) {
	n := MaxProducts
	if first != nil {
		n = max(0, min(*first, MaxProducts))
	}
	return &ProductPage{Nodes: q.r.page[:n]}, nil
}

// Handler returns the baseline's GraphQL handler: gqlgen with the POST
// transport, a query cache and automatic persisted queries, as a production
// gqlgen server would be set up.
func Handler() http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: NewResolver()}))
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", srv)
	return mux
}
