package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// pessimisticReadSuite runs the read-path end-to-end tests again against a
// sandbox with every pessimistic switch on (exact-online-api.md §5.9) and
// blocking endpoints after 10 errors as Exact does.
const pessimisticReadSuite = "TestReadPathUnderPessimisticSandbox"

// pessimisticRead reports whether t runs inside the pessimistic read suite.
func pessimisticRead(t *testing.T) bool {
	return strings.HasPrefix(t.Name(), pessimisticReadSuite+"/")
}

// suiteEnv is the environment the harness adds for t's suite.
func suiteEnv(t *testing.T) map[string]string {
	if pessimisticRead(t) {
		return map[string]string{"EXACTQL_SANDBOX_PESSIMISTIC": "true", "EXACTQL_SANDBOX_BLOCK_ERRORS": "true"}
	}
	return nil
}

// suiteStarted checks, for a gateway of the pessimistic suite, that the
// switches are on and, when the test ends, that no endpoint was blocked
// and none came near Exact's 10 errors an hour.
func suiteStarted(t *testing.T, g *gateway) {
	if !pessimisticRead(t) {
		return
	}
	st := g.st.Sandbox.Faults().State()
	if !st.SubstringOf501 || !st.RefuseAccountEqNull || st.MaxURLLength == 0 || !st.RepriceLines || st.RemarksLimit == 0 {
		t.Fatalf("pessimistic switches not all on: %+v", st)
	}
	t.Cleanup(func() { noEndpointBlocked(t, g) })
}

// noEndpointBlocked fails t when the sandbox blocked an endpoint or one
// received 5 or more 4xx answers (the gateway's read cap).
func noEndpointBlocked(t *testing.T, g *gateway) {
	t.Helper()
	s := g.st.Sandbox.Stats()
	if s.Blocked > 0 {
		t.Errorf("the sandbox blocked %d calls for too many errors", s.Blocked)
	}
	for ep, byStatus := range s.Calls {
		n := 0
		for status, c := range byStatus {
			if status >= 400 && status < 500 {
				n += c
			}
		}
		if n >= 5 {
			t.Errorf("%s: %d error answers, the read cap is 5", ep, n)
		}
	}
}

// searchRefusedFast: under the substringof switch every search answers
// UPSTREAM_UNAVAILABLE, and Exact sees one refused call in all (no retry,
// no repeat); plain listing still works.
func searchRefusedFast(t *testing.T, g *gateway) {
	t.Helper()
	for _, term := range []string{"schroef", `'A' or 1 eq 1`, "ZÜRICH", "schroef"} {
		r := g.query("", pageQuery, map[string]any{"first": 10, "search": term})
		if code := errorCode(r); code != "UPSTREAM_UNAVAILABLE" {
			t.Errorf("search %q: code %q (%+v), want UPSTREAM_UNAVAILABLE", term, code, r.Errors)
		}
	}
	searches := g.st.Sandbox.CallCount(func(c sandbox.Call) bool {
		return c.Kind == sandbox.KindAPI && strings.Contains(c.Query, "substringof")
	})
	refused := g.st.Sandbox.Stats().Calls["logistics/Items"][501]
	if searches != 1 || refused != 1 {
		t.Errorf("%d search calls reached the sandbox, %d refused; want 1 and 1:%s", searches, refused, g.callLog())
	}
	var p pageData
	g.mustQuery("", pageQuery, map[string]any{"first": 10}, &p)
	if len(p.Products.Nodes) != 10 {
		t.Errorf("listing after the refusal: %d products", len(p.Products.Nodes))
	}
}

// TestReadPathUnderPessimisticSandbox runs the read-path end-to-end tests
// with every pessimistic switch on: prices, stock and paging answer as
// without them, search answers UPSTREAM_UNAVAILABLE at once, and no
// endpoint gets blocked.
func TestReadPathUnderPessimisticSandbox(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"TestPageCallBudget", TestPageCallBudget},
		{"TestConcurrentColdQueriesCoalesce", TestConcurrentColdQueriesCoalesce},
		{"TestEachPriceRuleVisible", TestEachPriceRuleVisible},
		{"TestPublicPrices", TestPublicPrices},
		{"TestHostileSearchIsLiteral", TestHostileSearchIsLiteral},
		{"TestURLsStayShort", TestURLsStayShort},
		{"TestLongMultibyteCodesE2E", TestLongMultibyteCodesE2E},
		{"TestBasePriceRuleE2E", TestBasePriceRuleE2E},
	} {
		t.Run(tc.name, tc.f)
	}
}

// TestPricesSameUnderPessimisticSandbox: every demo buyer's first 60 prices,
// price breaks and stock are the same with every pessimistic switch on as
// without.
func TestPricesSameUnderPessimisticSandbox(t *testing.T) {
	plain := startGateway(t, nil)
	pess := startGateway(t, map[string]string{"EXACTQL_SANDBOX_PESSIMISTIC": "true", "EXACTQL_SANDBOX_BLOCK_ERRORS": "true"})
	const q = `query { products(first: 60) { nodes { code
	  price { unitPrice { amount currencyCode } listPrice { amount } discountPercentage source validUntil }
	  priceBreaks { minimumQuantity unitPrice { amount } }
	  availableQuantity } } }`
	for _, rule := range []string{gen.RuleCustomerPrice, gen.RulePriceList, gen.RuleAccountDiscount, gen.RuleDefaultPrice, gen.RuleOtherCurrency} {
		var a, b json.RawMessage
		plain.mustQuery(plain.token(rule), q, nil, &a)
		pess.mustQuery(pess.token(rule), q, nil, &b)
		var av, bv any
		_ = json.Unmarshal(a, &av)
		_ = json.Unmarshal(b, &bv)
		if diff := cmp.Diff(av, bv); diff != "" {
			t.Errorf("%s: prices differ under the pessimistic sandbox (-plain +pessimistic):\n%s", rule, diff)
		}
	}
	if !strings.Contains(pess.callLog(), " 400 ") {
		t.Errorf("the pessimistic sandbox refused nothing: the comparison proves nothing:%s", pess.callLog())
	}
	noEndpointBlocked(t, pess)
}
