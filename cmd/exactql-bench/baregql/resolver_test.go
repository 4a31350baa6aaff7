package baregql

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHandlerServesProducts(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		first string
		want  int
	}{
		{"default", "", MaxProducts},
		{"24", "(first: 24)", 24},
		{"clamped", "(first: 1000)", MaxProducts},
		{"negative", "(first: -3)", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"query":"{ products` + tc.first + ` { id code description unit price } }"}`
			resp, err := http.Post(srv.URL+"/graphql", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Data struct {
					Products []Product
				}
				Errors []any
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatal(err)
			}
			if len(out.Errors) > 0 {
				t.Fatalf("errors: %v", out.Errors)
			}
			if got := len(out.Data.Products); got != tc.want {
				t.Fatalf("got %d products, want %d", got, tc.want)
			}
			if tc.want > 0 {
				if diff := cmp.Diff(*NewResolver().products[0], out.Data.Products[0]); diff != "" {
					t.Errorf("first product (-want +got):\n%s", diff)
				}
			}
		})
	}
}
