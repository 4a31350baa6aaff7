package erp_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

func priceIDs(rows []erp.SalesItemPrice) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return out
}

// TestGeneralPricesWithoutAccountEqNull: with the sandbox refusing
// "Account eq null", the general prices are the same rows as without the
// switch; a burst of concurrent lookups costs one refused call in all, and
// later lookups never send the refused form again.
func TestGeneralPricesWithoutAccountEqNull(t *testing.T) {
	ctx := context.Background()
	opts := sandbox.Options{Data: gen.Options{Items: gen.MinItems, Customers: gen.MinCustomers}, MinuteLimit: 1000}
	ref, _ := sandboxClient(t, opts)
	c, sb := sandboxClient(t, opts)
	var items []string
	for it, err := range ref.Items.List(ctx, erp.Query{Filter: erp.Eq("IsSalesItem", erp.Bool(true)), Top: 40}) {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, it.ID)
	}
	want, err := ref.SalesItemPrices.General(ctx, items)
	if err != nil || len(want) == 0 {
		t.Fatalf("reference: %d rows, %v", len(want), err)
	}

	sb.Faults().SetRefuseAccountEqNull(true)
	var wg sync.WaitGroup
	results := make([][]erp.SalesItemPrice, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.SalesItemPrices.General(ctx, items)
		}()
	}
	wg.Wait()
	for i := range 8 {
		if errs[i] != nil {
			t.Fatalf("lookup %d: %v", i, errs[i])
		}
		if diff := cmp.Diff(priceIDs(want), priceIDs(results[i])); diff != "" {
			t.Errorf("lookup %d: general rows (-want +got):\n%s", i, diff)
		}
		for _, r := range results[i] {
			if r.Account != "" {
				t.Fatalf("lookup %d: an agreement row of %s among the general prices", i, r.Account)
			}
		}
	}
	if !c.ShapeRefused(erp.ShapeAccountEqNull) {
		t.Error("shape not disabled after the refusal")
	}
	st := sb.Stats()
	if n := st.Calls["logistics/SalesItemPrices"][400]; n != 1 {
		t.Errorf("%d refused calls, want exactly 1", n)
	}
	if got := c.Governor().EndpointErrors()["logistics/SalesItemPrices"]; got != 1 {
		t.Errorf("%d errors counted, want 1", got)
	}
	// ForItems with no account takes the same path.
	if rows, err := c.SalesItemPrices.ForItems(ctx, items, ""); err != nil || len(rows) != len(want) {
		t.Errorf("ForItems: %d rows, %v", len(rows), err)
	}
}

// TestSubstringOf501FailsOnceThenFast: a search under the substringof
// switch is refused once (501, not retried); later searches fail without a
// call, with an error that is not transient.
func TestSubstringOf501FailsOnceThenFast(t *testing.T) {
	ctx := context.Background()
	c, sb := sandboxClient(t, sandbox.Options{Data: gen.Options{Items: gen.MinItems, Customers: gen.MinCustomers}})
	sb.Faults().SetSubstringOf501(true)
	search := func() error {
		return c.UseShape(ctx, erp.ShapeSubstringOf, "logistics/Items", func(ctx context.Context) error {
			_, _, err := c.Items.ListPage(ctx, erp.Query{Filter: erp.SubstringOf("schroef", "Description")}, "")
			return err
		})
	}
	for i := range 3 {
		err := search()
		var e *erp.Error
		if !errors.Is(err, erp.ErrShapeRefused) || !errors.As(err, &e) || e.StatusCode != 0 || erp.IsTransient(err) {
			t.Errorf("search %d: %v; want a non-transient ErrShapeRefused", i, err)
		}
	}
	if n := sb.Stats().Calls["logistics/Items"][501]; n != 1 {
		t.Errorf("%d calls answered 501, want 1 (no retry, no repeat)", n)
	}
	// Other item reads still work.
	if _, _, err := c.Items.ListPage(ctx, erp.Query{Top: 1}, ""); err != nil {
		t.Errorf("plain read after the refusal: %v", err)
	}
}
