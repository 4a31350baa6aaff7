package odata

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAppendRecord(t *testing.T) {
	const uri = "https://start.exactonline.nl/api/v1/1/logistics/Items(guid'" + g1 + "')"
	full := Record{
		"ID": g1, "Code": "               255", "Description": "Say \"hi\"\\ O'Brien\n\t\x01 ✓ \u2028",
		"Stock": int64(10), "Timestamp": int64(9007199254740993), "IsWebshopItem": int64(1),
		"Price": 12.5, "IsSalesItem": true,
		"Modified": time.Date(2022, 1, 1, 11, 0, 0, 0, time.UTC), "Notes": nil,
	}
	tests := []struct {
		name   string
		rec    Record
		fields []string
		want   string
	}{
		{
			name: "all fields in set order",
			rec:  full,
			want: `{"__metadata":{"uri":"https://start.exactonline.nl/api/v1/1/logistics/Items(guid'` + g1 + `')","type":"Exact.Web.Api.Models.Logistics.Item"},` +
				`"ID":"` + g1 + `","Code":"               255","Description":"Say \"hi\"\\ O'Brien\n\t\u0001 ✓ \u2028",` +
				`"Stock":10,"Timestamp":"9007199254740993","IsWebshopItem":1,"Price":12.5,"IsSalesItem":true,` +
				`"Modified":"/Date(1641034800000)/","Notes":null}`,
		},
		{
			name:   "selected fields in given order",
			rec:    full,
			fields: []string{"Price", "ID"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"Price":12.5,"ID":"` + g1 + `"}`,
		},
		{
			name:   "empty selection",
			rec:    full,
			fields: []string{},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"}}`,
		},
		{
			name:   "nil values",
			rec:    Record{},
			fields: []string{"ID", "Stock", "Timestamp", "Price", "IsSalesItem", "Modified"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"ID":null,"Stock":null,"Timestamp":null,"Price":null,"IsSalesItem":null,"Modified":null}`,
		},
		{
			name:   "doubles without exponent",
			rec:    Record{"Price": 1234567.891},
			fields: []string{"Price"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"Price":1234567.891}`,
		},
		{
			name:   "whole double, int stored in Double field",
			rec:    Record{"Price": 100.0, "Stock": 3},
			fields: []string{"Price", "Stock"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"Price":100,"Stock":3}`,
		},
		{
			name:   "negative and tiny doubles, NaN",
			rec:    Record{"Price": -0.1, "Notes": math.NaN(), "Code": 1e-9},
			fields: []string{"Price", "Notes", "Code"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"Price":-0.1,"Notes":null,"Code":1e-09}`,
		},
		{
			name:   "wrong kinds and unknown field by Go kind",
			rec:    Record{"Stock": "x", "Timestamp": 1.5, "Extra": true, "Odd": struct{}{}},
			fields: []string{"Stock", "Timestamp", "Extra", "Odd"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"Stock":"x","Timestamp":1.5,"Extra":true,"Odd":null}`,
		},
		{
			name:   "invalid UTF-8 replaced",
			rec:    Record{"Code": "a\xffb"},
			fields: []string{"Code"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"Code":"a\ufffdb"}`,
		},
		{
			name:   "pre-epoch date",
			rec:    Record{"Modified": time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC)},
			fields: []string{"Modified"},
			want:   `{"__metadata":{"uri":"` + uri + `","type":"Exact.Web.Api.Models.Logistics.Item"},"Modified":"/Date(-1000)/"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("[")
			got := AppendRecord(prefix, testSet, tt.rec, tt.fields, uri)
			if diff := cmp.Diff("["+tt.want, string(got)); diff != "" {
				t.Errorf("AppendRecord mismatch (-want +got):\n%s", diff)
			}
			if !json.Valid(got[1:]) {
				t.Errorf("AppendRecord produced invalid JSON: %s", got[1:])
			}
		})
	}
}

// TestAppendRecordRoundTrip decodes the output with encoding/json to prove
// the string escaping is lossless for valid UTF-8.
func TestAppendRecordRoundTrip(t *testing.T) {
	s := "quote\" backslash\\ slash/ ctl\x00\x1f tab\t nl\n uni ✓ é \u2029 <&>"
	got := AppendRecord(nil, testSet, Record{"Code": s}, []string{"Code"}, "u\"ri")
	var v struct {
		Metadata struct {
			URI  string `json:"uri"`
			Type string `json:"type"`
		} `json:"__metadata"`
		Code string
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("Unmarshal(%s): %v", got, err)
	}
	if diff := cmp.Diff(s, v.Code); diff != "" {
		t.Errorf("Code mismatch (-want +got):\n%s", diff)
	}
	if v.Metadata.URI != "u\"ri" || v.Metadata.Type != testSet.TypeName {
		t.Errorf("metadata = %+v", v.Metadata)
	}
}

func TestErrorBody(t *testing.T) {
	e := &Error{Status: 400, Message: "No property 'a\"b' exists."}
	want := `{"error":{"code":"","message":{"lang":"","value":"No property 'a\"b' exists."}}}`
	if diff := cmp.Diff(want, string(e.Body())); diff != "" {
		t.Errorf("Body mismatch (-want +got):\n%s", diff)
	}
}
