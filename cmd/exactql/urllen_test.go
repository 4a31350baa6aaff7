package main

import (
	"strings"
	"testing"

	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestURLsStayShort: every Exact call of a 60-product page with prices and
// stock keeps its URL (on Exact's real host) under 2,000 characters, the
// practical limit of exact-online-api.md §3.5.
func TestURLsStayShort(t *testing.T) {
	g := startGateway(t, nil)
	var p pageData
	g.mustQuery(g.token(gen.RulePriceList), pageQuery, map[string]any{"first": 60}, &p)
	const host = "https://start.exactonline.nl"
	longest := 0
	for _, c := range g.st.Sandbox.Calls() {
		// __next links are Exact's own (they add a $skiptoken).
		if c.Kind != sandbox.KindAPI || strings.Contains(c.Query, "skiptoken") {
			continue
		}
		n := len(host) + len(c.Path) + 1 + len(c.Query)
		longest = max(longest, n)
		if n > 2000 {
			t.Errorf("%s: URL of %d characters", c.Endpoint, n)
		}
	}
	t.Logf("longest URL: %d characters", longest)
}
