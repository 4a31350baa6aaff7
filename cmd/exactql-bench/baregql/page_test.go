package baregql

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandlerServesIssue15Page: productPage answers issue 15's nested page
// shape with every node priced.
func TestHandlerServesIssue15Page(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	body := `{"query":"{ productPage(first: 60) { nodes { code description price { unitPrice { amount } } availableQuantity } } }"}`
	resp, err := http.Post(srv.URL+"/graphql", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			ProductPage struct {
				Nodes []struct {
					Code, Description, AvailableQuantity string
					Price                                *struct{ UnitPrice struct{ Amount string } }
				}
			}
		}
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	nodes := out.Data.ProductPage.Nodes
	if len(out.Errors) > 0 || len(nodes) != MaxProducts {
		t.Fatalf("%d nodes, errors %v", len(nodes), out.Errors)
	}
	for i, n := range nodes {
		if n.Code == "" || n.Description == "" || n.AvailableQuantity == "" || n.Price == nil || n.Price.UnitPrice.Amount == "" {
			t.Errorf("node %d incomplete: %+v", i, n)
		}
	}
}
