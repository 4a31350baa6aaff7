package odata

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    OrderBy
		wantErr string
	}{
		{name: "empty", in: "", want: nil},
		{name: "one", in: "Code", want: OrderBy{{Field: "Code"}}},
		{name: "desc", in: "Code desc", want: OrderBy{{Field: "Code", Desc: true}}},
		{name: "two with spaces", in: " Code desc ,  Description asc", want: OrderBy{{Field: "Code", Desc: true}, {Field: "Description"}}},
		{name: "unknown field", in: "Code, Foo desc", wantErr: "No property 'Foo' exists in type 'Exact.Web.Api.Models.Logistics.Item' at position 6."},
		{name: "field case matters", in: "code", wantErr: "No property 'code' exists in type 'Exact.Web.Api.Models.Logistics.Item' at position 0."},
		{name: "bad direction", in: "Code DESC", wantErr: "Syntax error in $orderby at position 0: 'asc' or 'desc' expected."},
		{name: "three words", in: "Code desc asc", wantErr: "Syntax error in $orderby at position 0."},
		{name: "empty term", in: "Code,,Stock", wantErr: "Syntax error in $orderby at position 5."},
		{name: "trailing comma", in: "Code,", wantErr: "Syntax error in $orderby at position 5."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOrderBy(tt.in, testSet)
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseOrderBy(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// checkErr fails unless err is nil when want is "" and otherwise a 400
// *Error with message want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var oe *Error
	if !errors.As(err, &oe) {
		t.Fatalf("error = %v (%T), want *Error %q", err, err, want)
	}
	if oe.Status != http.StatusBadRequest {
		t.Errorf("Status = %d, want 400", oe.Status)
	}
	if diff := cmp.Diff(want, oe.Message); diff != "" {
		t.Errorf("message mismatch (-want +got):\n%s", diff)
	}
}

func TestOrderBySort(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	recs := func() []Record {
		return []Record{
			{"ID": "a", "Description": "beta", "Stock": int64(2), "Price": 1.5, "Modified": day(3), "IsSalesItem": true},
			{"ID": "b", "Description": "Alpha", "Stock": int64(2), "Price": nil, "Modified": day(1), "IsSalesItem": false},
			{"ID": "c", "Description": nil, "Stock": int64(1), "Price": 0.5, "Modified": nil},
			{"ID": "d", "Description": "ALPHA", "Stock": int64(3), "Price": 2.0, "Modified": day(2), "IsSalesItem": true},
		}
	}
	tests := []struct {
		name  string
		order string
		want  []string
	}{
		{"none keeps order", "", []string{"a", "b", "c", "d"}},
		{"string asc case-insensitive, nil first, stable", "Description", []string{"c", "b", "d", "a"}},
		{"string desc, nil last", "Description desc", []string{"a", "b", "d", "c"}},
		{"int then string", "Stock desc, Description", []string{"d", "b", "a", "c"}},
		{"double nil first", "Price", []string{"b", "c", "a", "d"}},
		{"datetime", "Modified", []string{"c", "b", "d", "a"}},
		{"datetime desc", "Modified desc", []string{"a", "d", "b", "c"}},
		{"boolean", "IsSalesItem, ID desc", []string{"c", "b", "d", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOrderBy(tt.order, testSet)
			if err != nil {
				t.Fatalf("ParseOrderBy: %v", err)
			}
			rs := recs()
			o.Sort(rs)
			var got []string
			for _, r := range rs {
				got = append(got, r["ID"].(string))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Sort mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSelect(t *testing.T) {
	all := []string{"ID", "Code", "Description", "Stock", "Timestamp", "IsWebshopItem", "Price", "IsSalesItem", "Modified", "Notes"}
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "empty", in: "", want: nil},
		{name: "star", in: "*", want: all},
		{name: "list", in: "Code,ID", want: []string{"Code", "ID"}},
		{name: "spaces", in: " Code , ID ", want: []string{"Code", "ID"}},
		{name: "duplicates dropped", in: "ID,Code,ID", want: []string{"ID", "Code"}},
		{name: "unknown", in: "ID,NumberOfItemPerUnit", wantErr: "Invalid request: No property 'NumberOfItemPerUnit' exists in type 'Exact.Web.Api.Models.Logistics.Item'."},
		{name: "case matters", in: "id", wantErr: "Invalid request: No property 'id' exists in type 'Exact.Web.Api.Models.Logistics.Item'."},
		{name: "empty name", in: "ID,,Code", wantErr: "Invalid request: empty property name in $select."},
		{name: "trailing comma", in: "ID,", wantErr: "Invalid request: empty property name in $select."},
		{name: "star in list", in: "ID,*", wantErr: "Invalid request: No property '*' exists in type 'Exact.Web.Api.Models.Logistics.Item'."},
		{name: "navigation", in: "Item/Code", wantErr: "Invalid request: No property 'Item/Code' exists in type 'Exact.Web.Api.Models.Logistics.Item'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSelect(tt.in, testSet)
			checkErr(t, err, tt.wantErr)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSelect(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
