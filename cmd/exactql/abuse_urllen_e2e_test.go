package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// exactHost is Exact's real host: URL lengths are measured as Exact would
// receive them.
const exactHost = "https://start.exactonline.nl"

// longestAPIURL returns the longest URL of the sandbox's API calls on
// Exact's host, __next links (Exact's own) left out.
func longestAPIURL(g *gateway) (int, string) {
	longest, which := 0, ""
	for _, c := range g.st.Sandbox.Calls() {
		if c.Kind != sandbox.KindAPI || strings.Contains(c.Query, "skiptoken") {
			continue
		}
		if n := len(exactHost) + len(c.Path) + 1 + len(c.Query); n > longest {
			longest, which = n, c.Endpoint
		}
	}
	return longest, which
}

// TestLongMultibyteCodesE2E reproduces issue 17 item 7: productsByCode with
// 25 codes of 30 multibyte characters (once 7,216-character URLs). Every
// Exact call stays at or under 2,000 characters, and real codes among them
// are still found.
func TestLongMultibyteCodesE2E(t *testing.T) {
	g := startGateway(t, nil)
	codes := []string{"ZÜRICH-7", "O'NEIL 12"}
	for i := range 23 {
		codes = append(codes, fmt.Sprintf("%02d", i)+strings.Repeat("Ω€", 14)) // 30 characters, 2–3 bytes each
	}
	g.st.Sandbox.ResetCalls()
	var out struct {
		ProductsByCode []*struct{ Code string }
	}
	g.mustQuery(g.token(gen.RuleDefaultPrice), `query($c: [String!]!) { productsByCode(codes: $c) { code } }`,
		map[string]any{"c": codes}, &out)
	if len(out.ProductsByCode) != len(codes) {
		t.Fatalf("%d answers for %d codes", len(out.ProductsByCode), len(codes))
	}
	found := map[string]bool{}
	for _, p := range out.ProductsByCode {
		if p != nil {
			found[p.Code] = true
		}
	}
	if !found["ZÜRICH-7"] || !found["O'NEIL 12"] || len(found) != 2 {
		t.Errorf("found %v, want exactly the two real codes", found)
	}
	n, ep := longestAPIURL(g)
	if n > erp.DefaultMaxURLLength {
		t.Errorf("%s: URL of %d characters, want at most %d:%s", ep, n, erp.DefaultMaxURLLength, g.callLog())
	}
	if n < 1000 {
		t.Errorf("longest URL only %d characters: the codes did not stress the limit", n)
	}
	t.Logf("longest URL: %d characters (%s), %d calls", n, ep, g.apiCalls())
}

// TestBasePriceRuleE2E checks the price-list base rule (ARCHITECTURE §4
// step 2) through GraphQL for the PRICE_LIST demo buyer: a discount row on
// a set base price (BasePrice a GUID) discounts BasePriceAmount; a row on
// the standard sales price (BasePrice null) discounts the default price,
// even where Exact's BasePriceAmount differs from it.
func TestBasePriceRuleE2E(t *testing.T) {
	// The test's own lookups through the gateway's client share the
	// caller budget; keep it out of the way.
	g := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "100000"})
	ctx := context.Background()
	c := g.st.Client
	tok := g.token(gen.RulePriceList)
	var buyer *gen.DemoBuyer
	for _, b := range g.st.Sandbox.DemoBuyers() {
		if b.Rule == gen.RulePriceList {
			buyer = &b
		}
	}
	acc, err := c.Accounts.Get(ctx, buyer.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	periods, err := c.PriceListPeriods.ForPriceList(ctx, acc.PriceList)
	if err != nil {
		t.Fatal(err)
	}
	// Periods valid today (the generated windows end days away from today,
	// so the zone of "today" does not matter here).
	now := time.Now()
	var periodIDs []string
	for _, p := range periods {
		if (p.StartDate.IsZero() || !p.StartDate.Time.After(now)) && (p.EndDate.IsZero() || p.EndDate.Time.After(now)) {
			periodIDs = append(periodIDs, p.ID)
		}
	}
	rows, err := c.VolumeDiscounts.ForPeriods(ctx, periodIDs)
	if err != nil {
		t.Fatal(err)
	}
	// Items whose only item rows are one discount row at quantity 1 in one
	// period (other periods of the item shadow or extend it).
	byItem := map[string][]erp.SalesPriceListVolumeDiscount{}
	for _, r := range rows {
		if r.Item != "" {
			byItem[r.Item] = append(byItem[r.Item], r)
		}
	}
	rowOf := map[string]*erp.SalesPriceListVolumeDiscount{}
	var itemIDs []string
	for item, rs := range byItem {
		if len(rs) == 1 && rs[0].EntryMethod == erp.EntryDiscount && rs[0].Quantity.Equal(decimal.NewFromInt(1)) {
			rowOf[item] = &rs[0]
			itemIDs = append(itemIDs, item)
		}
	}
	items, err := c.Items.GetByIDs(ctx, itemIDs)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, it := range items {
		codes = append(codes, it.Code)
	}
	var out struct {
		ProductsByCode []*struct {
			ID, Code string
			Price    *struct {
				UnitPrice, ListPrice struct{ Amount string }
				Source               string
			}
		}
	}
	g.mustQuery(tok, `query($c: [String!]!) { productsByCode(codes: $c) { id code price { unitPrice { amount } listPrice { amount } source } } }`,
		map[string]any{"c": codes}, &out)
	checked := map[string]int{}
	differing := 0
	for _, p := range out.ProductsByCode {
		if p == nil || p.Price == nil || p.Price.Source != "PRICE_LIST" {
			continue // not sellable, or another rule applies
		}
		it := struct{ Code string }{p.Code}
		d := rowOf[strings.ToLower(p.ID)]
		if d == nil {
			t.Fatalf("%s: no row for product ID %s", p.Code, p.ID)
		}
		got := decimal.RequireFromString(p.Price.UnitPrice.Amount)
		list := decimal.RequireFromString(p.Price.ListPrice.Amount)
		one := decimal.NewFromInt(1)
		if d.HasSetBasePrice() {
			checked["set"]++
			if want := one.Sub(d.Discount).Mul(*d.BasePriceAmount).Round(2); !got.Equal(want) {
				t.Errorf("%s (set base price %s, discount %s): %s, want %s", it.Code, d.BasePriceAmount, d.Discount, got, want)
			}
			continue
		}
		checked["standard"]++
		if want := one.Sub(d.Discount).Mul(list).Round(2); !got.Equal(want) {
			t.Errorf("%s (standard price %s, discount %s): %s, want %s", it.Code, list, d.Discount, got, want)
		}
		if d.BasePriceAmount != nil && !d.BasePriceAmount.Equal(list) {
			differing++
			if wrong := one.Sub(d.Discount).Mul(*d.BasePriceAmount).Round(2); got.Equal(wrong) {
				t.Errorf("%s: priced from BasePriceAmount %s although BasePrice is null", it.Code, d.BasePriceAmount)
			}
		}
	}
	if checked["set"] == 0 || checked["standard"] == 0 || differing == 0 {
		t.Errorf("checked %v, %d with a differing BasePriceAmount: the data does not show the rule", checked, differing)
	}
	t.Logf("checked %v, %d with a differing BasePriceAmount", checked, differing)
}
