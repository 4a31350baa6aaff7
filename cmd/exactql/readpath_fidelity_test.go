package main

import (
	"context"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestNotStartedItemNotSellable: a sales item whose StartDate is still to
// come (ARCHITECTURE §3) is neither listed nor found by ID or code, while
// it exists at Exact.
func TestNotStartedItemNotSellable(t *testing.T) {
	g := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "100000"})
	ctx := context.Background()
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Truncate(24 * time.Hour)
	var future []erp.Item
	for it, err := range g.st.Client.Items.List(ctx, erp.Query{Filter: erp.And(erp.Eq("IsSalesItem", erp.Bool(true)),
		erp.Ge("StartDate", erp.DateTime(tomorrow)))}) {
		if err != nil {
			t.Fatal(err)
		}
		future = append(future, *it)
	}
	if len(future) == 0 {
		t.Fatal("the sandbox has no sales item that starts later: the test proves nothing")
	}
	tok := g.token(gen.RuleDefaultPrice)
	for _, it := range future {
		var out struct {
			ByCode, ByID *struct{ Code string }
			Codes        []*struct{ Code string }
		}
		g.mustQuery(tok, `query($c: String, $id: ID, $cs: [String!]!) { byCode: product(code: $c) { code } byID: product(id: $id) { code } codes: productsByCode(codes: $cs) { code } }`,
			map[string]any{"c": erp.Code(it.Code), "id": it.ID, "cs": []string{erp.Code(it.Code)}}, &out)
		if out.ByCode != nil || out.ByID != nil || len(out.Codes) != 1 || out.Codes[0] != nil {
			t.Errorf("%s (starts %s) is sellable: %+v", it.Code, it.StartDate.Time.Format(time.DateOnly), out)
		}
	}
	// Nor is it on any catalog page.
	listed := map[string]bool{}
	after := ""
	for {
		var p pageData
		vars := map[string]any{"first": 100}
		if after != "" {
			vars["after"] = after
		}
		g.mustQuery(tok, pageQuery, vars, &p)
		for _, n := range p.Products.Nodes {
			listed[n.Code] = true
		}
		if !p.Products.PageInfo.HasNextPage || p.Products.PageInfo.EndCursor == nil {
			break
		}
		after = *p.Products.PageInfo.EndCursor
	}
	if len(listed) < 100 {
		t.Fatalf("only %d products listed", len(listed))
	}
	for _, it := range future {
		if listed[erp.Code(it.Code)] {
			t.Errorf("%s (not started) is listed", it.Code)
		}
	}
}
