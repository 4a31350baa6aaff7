package resolvers

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestWants: a list prefetches prices and stock only when some field below
// it, in fragments too, reads them (catalog.Fields says which).
func TestWants(t *testing.T) {
	t.Parallel()
	product := &ast.Definition{Name: "Product"}
	field := func(name string, kids ...ast.Selection) *ast.Field {
		return &ast.Field{Name: name, ObjectDefinition: product, SelectionSet: kids}
	}
	doc := &ast.QueryDocument{Fragments: ast.FragmentDefinitionList{
		{Name: "Stocked", SelectionSet: ast.SelectionSet{field("availableQuantity")}},
	}}
	tests := []struct {
		name          string
		selection     ast.SelectionSet
		prices, stock bool
	}{
		{"codes only", ast.SelectionSet{field("code"), field("description")}, false, false},
		{"price", ast.SelectionSet{field("code"), field("price")}, true, false},
		{"stock in an inline fragment", ast.SelectionSet{&ast.InlineFragment{SelectionSet: ast.SelectionSet{field("stock")}}}, false, true},
		{"stock in a named fragment", ast.SelectionSet{&ast.FragmentSpread{Name: "Stocked"}}, false, true},
		{"price breaks below nodes", ast.SelectionSet{&ast.Field{Name: "nodes", SelectionSet: ast.SelectionSet{field("priceBreaks")}}}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{Doc: doc})
			ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Name: "products"},
				Selections: tt.selection}})
			if prices, stock := wants(ctx); prices != tt.prices || stock != tt.stock {
				t.Errorf("wants = prices %v, stock %v; want %v, %v", prices, stock, tt.prices, tt.stock)
			}
		})
	}
	// Outside a field (a resolver called directly): prefetch both.
	if prices, stock := wants(t.Context()); !prices || !stock {
		t.Errorf("without a field context: %v %v, want both", prices, stock)
	}
}
