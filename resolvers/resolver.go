// Package resolvers implements the GraphQL resolvers of the storefront API,
// one file per schema area (gqlgen writes the *.resolvers.go skeletons), the
// caller identity carried in the request context and the error presenter that
// turns errors into the codes of ARCHITECTURE §8.
package resolvers

// Deps are the services the resolvers use. cmd fills them in; the fields come
// with the read path (loaders, pricing, order service).
type Deps struct{}

// Resolver is the root resolver gqlgen calls into.
type Resolver struct {
	Deps Deps
}

// New returns a root resolver over deps.
func New(deps Deps) *Resolver { return &Resolver{Deps: deps} }
