package cache

import (
	"errors"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct {
		name     string
		division int
		kind     string
		parts    []string
		want     string
	}{
		{name: "kind only", division: 123, kind: "warehouses", want: "123/warehouses"},
		{name: "one part", division: 7, kind: "item", parts: []string{"0b6c…"}, want: "7/item/0b6c…"},
		{name: "separator escaped", division: 7, kind: "item", parts: []string{"a/b", "c"}, want: "7/item/a%2Fb/c"},
		{name: "percent escaped", division: 7, kind: "x%", parts: []string{"50%"}, want: "7/x%25/50%25"},
		{name: "empty part kept", division: 7, kind: "item", parts: []string{"", "c"}, want: "7/item//c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.division, tt.kind, tt.parts...); got != tt.want {
				t.Errorf("Key = %q, want %q", got, tt.want)
			}
		})
	}
	// Distinct part lists never collide.
	if Key(1, "k", "a/b", "c") == Key(1, "k", "a", "b/c") {
		t.Error("escaping does not separate parts")
	}
	if Key(1, "k", "x") == Key(2, "k", "x") {
		t.Error("divisions share keys")
	}
}

func TestBuyerKey(t *testing.T) {
	a, err := BuyerKey(5, "price", "acc-A", "item-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuyerKey(5, "price", "acc-B", "item-1")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("buyers share key %q", a)
	}
	if want := "5/price/b=acc-A/item-1"; a != want {
		t.Errorf("BuyerKey = %q, want %q", a, want)
	}
	for _, buyer := range []string{"", "  "} {
		if _, err := BuyerKey(5, "price", buyer, "item-1"); !errors.Is(err, ErrNoBuyer) {
			t.Errorf("BuyerKey(%q) err = %v, want ErrNoBuyer", buyer, err)
		}
	}
}
