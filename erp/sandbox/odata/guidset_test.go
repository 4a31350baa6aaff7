package odata

import (
	"fmt"
	"strings"
	"testing"
)

// TestGuidSetMatchesOrChain proves the set lookup for "ID eq guid'…' or …"
// answers exactly as the comparison chain it replaces.
func TestGuidSetMatchesOrChain(t *testing.T) {
	recs := []Record{
		{"ID": g1}, {"ID": strings.ToUpper(g2)}, {"ID": g3}, {"ID": nil}, {"ID": 42}, {},
	}
	for _, expr := range []string{
		fmt.Sprintf("ID eq guid'%s' or ID eq guid'%s'", g1, strings.ToUpper(g2)),
		fmt.Sprintf("ID eq guid'%s' or ID eq guid'%s' or ID eq guid'%s'", strings.ToUpper(g1), g2, g3),
		fmt.Sprintf("(ID eq guid'%s') or (ID eq guid'%s')", g3, g3),
	} {
		t.Run(expr, func(t *testing.T) {
			f, err := ParseFilter(expr, testSet)
			if err != nil {
				t.Fatal(err)
			}
			in, ok := f.root.(*guidInNode)
			if !ok {
				t.Fatalf("root is %T, want *guidInNode", f.root)
			}
			chain := &orNode{}
			for g := range in.set {
				chain.kids = append(chain.kids, &cmpNode{op: opEq, l: in.field, r: &constNode{v: g}})
			}
			for _, r := range recs {
				if got, want := f.Match(r), truthy(chain.eval(r)); got != want {
					t.Errorf("record %v: set says %v, chain %v", r, got, want)
				}
			}
		})
	}
	// Anything else keeps the general evaluation.
	for _, expr := range []string{
		fmt.Sprintf("ID eq guid'%s' or Code eq 'A'", g1),
		fmt.Sprintf("ID eq guid'%s' or ID ne guid'%s'", g1, g2),
		fmt.Sprintf("ID eq guid'%s' or ID eq null", g1),
	} {
		f, err := ParseFilter(expr, testSet)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.root.(*guidInNode); ok {
			t.Errorf("%s: set lookup used", expr)
		}
	}
}
