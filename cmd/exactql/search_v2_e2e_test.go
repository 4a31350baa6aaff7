package main

import (
	"strings"
	"testing"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// TestSearchByBarcodeAndTwoWords (issue 13 point 4): through the gateway,
// a product's barcode finds it first, and a search of two words from its
// description (one of them in another case) finds only products holding
// both words, it among them; before, a barcode found nothing and a
// two-word search returned 0.
func TestSearchByBarcodeAndTwoWords(t *testing.T) {
	g := startGateway(t, mirrorEnv)
	waitMirror(t, g)
	tok := g.token(gen.RuleDefaultPrice)
	type node struct{ ID, Code, Description, ExtraDescription, Barcode string }
	type page struct {
		Products struct {
			TotalCount int
			Nodes      []node
		}
	}
	var first page
	g.mustQuery(tok, `{ products(first: 100) { nodes { id code description extraDescription barcode } } }`, nil, &first)
	var withBarcode, twoWords *node
	for i, n := range first.Products.Nodes {
		if withBarcode == nil && len(n.Barcode) >= 8 {
			withBarcode = &first.Products.Nodes[i]
		}
		if twoWords == nil && len(longWords(n.Description)) >= 2 {
			twoWords = &first.Products.Nodes[i]
		}
	}
	if withBarcode == nil || twoWords == nil {
		t.Fatalf("no product with a barcode (%v) or a two-word description (%v) on the first page", withBarcode, twoWords)
	}

	var byBarcode page
	g.mustQuery(tok, `query($s: String) { products(first: 5, search: $s) { totalCount nodes { id code description extraDescription barcode } } }`,
		map[string]any{"s": withBarcode.Barcode}, &byBarcode)
	if len(byBarcode.Products.Nodes) == 0 || byBarcode.Products.Nodes[0].ID != withBarcode.ID {
		t.Errorf("search %q: %+v; want %s first", withBarcode.Barcode, byBarcode.Products.Nodes, withBarcode.Code)
	}

	words := longWords(twoWords.Description)[:2]
	search := strings.ToUpper(words[0]) + "  " + words[1]
	var byWords page
	g.mustQuery(tok, `query($s: String) { products(first: 100, search: $s) { totalCount nodes { id code description extraDescription barcode } } }`,
		map[string]any{"s": search}, &byWords)
	if byWords.Products.TotalCount == 0 {
		t.Fatalf("search %q found nothing", search)
	}
	found := false
	for _, n := range byWords.Products.Nodes {
		found = found || n.ID == twoWords.ID
		hay := strings.ToLower(strings.Join([]string{n.Code, n.Description, n.ExtraDescription, n.Barcode}, " "))
		for _, w := range words {
			if !strings.Contains(hay, strings.ToLower(w)) {
				t.Errorf("search %q returned %s (%q), which lacks %q", search, n.Code, n.Description, w)
			}
		}
	}
	if !found && byWords.Products.TotalCount <= len(byWords.Products.Nodes) {
		t.Errorf("search %q (%d found) does not find %s", search, byWords.Products.TotalCount, twoWords.Code)
	}
}

// longWords are the words of s of at least 3 letters, without accents
// (a plain substring test then decides a match).
func longWords(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		if len(w) >= 3 && !strings.ContainsAny(w, "éèëöüïáàç()/,.-") {
			out = append(out, w)
		}
	}
	return out
}
