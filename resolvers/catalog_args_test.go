package resolvers

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
)

func ptr[T any](v T) *T { return &v }

// TestCatalogArguments: the catalog resolvers refuse bad arguments, and
// answer what only the mirror can answer as UPSTREAM_UNAVAILABLE while there
// is no mirror, before they read anything (the Resolver here has no reader).
func TestCatalogArguments(t *testing.T) {
	t.Parallel()
	q := &queryResolver{New(Deps{})}
	bad := func(want string) func(error) string {
		return func(err error) string {
			var b *apierr.BadInputError
			if !errors.As(err, &b) || !strings.Contains(b.Message, want) {
				return "want BAD_USER_INPUT containing " + want
			}
			return ""
		}
	}
	loading := func(err error) string {
		var u *apierr.UpstreamError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), "mirror") {
			return "want UPSTREAM_UNAVAILABLE (mirror loading)"
		}
		return ""
	}
	tests := []struct {
		name  string
		call  func() error
		check func(error) string
	}{
		{"first 0", func() error { _, err := q.Products(t.Context(), ptr(0), nil, nil, nil, nil, nil, nil); return err }, bad("first")},
		{"first 101", func() error { _, err := q.Products(t.Context(), ptr(101), nil, nil, nil, nil, nil, nil); return err }, bad("first")},
		{"search too short", func() error { _, err := q.Products(t.Context(), nil, nil, ptr(" a "), nil, nil, nil, nil); return err }, bad("at least 2")},
		{"search too long", func() error {
			_, err := q.Products(t.Context(), nil, nil, ptr(strings.Repeat("x", 101)), nil, nil, nil, nil)
			return err
		}, bad("at most 100")},
		{"item group not a GUID", func() error { _, err := q.Products(t.Context(), nil, nil, nil, ptr("G1"), nil, nil, nil); return err }, bad("itemGroup")},
		{"warehouse not a GUID", func() error { _, err := q.Products(t.Context(), nil, nil, nil, nil, nil, ptr("W1"), nil); return err }, bad("inWarehouse")},
		{"unknown sort", func() error {
			_, err := q.Products(t.Context(), nil, nil, nil, nil, nil, nil, ptr(model.ProductSort("PRICE")))
			return err
		}, bad("sort")},
		{"in stock without mirror", func() error { _, err := q.Products(t.Context(), nil, nil, nil, nil, ptr(true), nil, nil); return err }, loading},
		{"other sort without mirror", func() error {
			_, err := q.Products(t.Context(), nil, nil, nil, nil, nil, nil, ptr(model.ProductSortDescription))
			return err
		}, loading},
		{"product needs one key", func() error { _, err := q.Product(t.Context(), nil, nil); return err }, bad("exactly one")},
		{"product not both keys", func() error { _, err := q.Product(t.Context(), ptr("x"), ptr("y")); return err }, bad("exactly one")},
		{"too many codes", func() error { _, err := q.ProductsByCode(t.Context(), make([]string, maxCodes+1)); return err }, bad("codes")},
		{"stock of a non-GUID warehouse", func() error {
			_, err := (&productView{}).Stock(&erp.Item{}, ptr("main"))
			return err
		}, bad("warehouse")},
		{"price at quantity 0", func() error {
			_, err := (&productView{}).Price(&erp.Item{}, &model.Decimal{Decimal: decimal.Zero})
			return err
		}, bad("quantity")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if msg := tt.check(err); msg != "" {
				t.Errorf("got %T %v; %s", err, err, msg)
			}
		})
	}
}

// TestProductsByCodeSkipsImpossibleCodes: codes that cannot be Exact item
// codes answer null without a lookup.
func TestProductsByCodeSkipsImpossibleCodes(t *testing.T) {
	t.Parallel()
	q := &queryResolver{New(Deps{})}
	got, err := q.ProductsByCode(t.Context(), []string{"", "   ", strings.Repeat("x", maxCodeRunes+1)})
	if err != nil || len(got) != 3 || got[0] != nil || got[1] != nil || got[2] != nil {
		t.Errorf("ProductsByCode = %v, %v; want three nulls", got, err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	c := encodeCursor("ART \"1\"", "bolt", "g")
	if code, err := decodeCursor(c, "bolt", "g"); err != nil || code != "ART \"1\"" {
		t.Errorf("decodeCursor = %q, %v", code, err)
	}
	if _, err := decodeCursor(c, "nut", "g"); err == nil {
		t.Error("a cursor of another search was accepted")
	}
	if _, err := decodeCursor("!!", "", ""); err == nil {
		t.Error("garbage accepted")
	}
}
