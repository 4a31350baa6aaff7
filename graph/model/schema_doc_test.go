package model_test

import (
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/graph"
)

// TestScalarsDocumented checks what introspection (GraphiQL's docs pane,
// GraphQL Code Generator) shows for the custom scalars: the descriptions and
// @specifiedBy URLs of the storefront contract (schema-v2), word for word.
func TestScalarsDocumented(t *testing.T) {
	const rfc3339 = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
	type doc struct {
		Description    string
		SpecifiedByURL string
	}
	tests := []struct {
		scalar string
		want   doc
	}{
		{"Decimal", doc{Description: `A decimal number as a JSON string ("12.50", "2.5"), never a float. Inputs also accept JSON numbers.`}},
		{"Date", doc{Description: "A calendar date, YYYY-MM-DD (2026-11-28).", SpecifiedByURL: rfc3339}},
		{"DateTime", doc{Description: "An instant, RFC 3339 in UTC (2026-11-28T09:30:00Z).", SpecifiedByURL: rfc3339}},
	}
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	for _, tt := range tests {
		t.Run(tt.scalar, func(t *testing.T) {
			def := schema.Types[tt.scalar]
			if def == nil {
				t.Fatalf("schema has no type %s", tt.scalar)
			}
			typ := introspection.WrapTypeFromDef(schema, def)
			var got doc
			if d := typ.Description(); d != nil {
				got.Description = *d
			}
			if u := typ.SpecifiedByURL(); u != nil {
				got.SpecifiedByURL = *u
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("introspection of %s (-want +got):\n%s", tt.scalar, diff)
			}
		})
	}
}
