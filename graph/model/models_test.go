package model

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp"
)

func str(s string) *string { return &s }

func TestProductFields(t *testing.T) {
	p := &Product{Item: erp.Item{
		ID: "a1", Code: "  ART-1 ", Description: "Bolt", Unit: "pc      ",
		Barcode: "8712345678906", IsFractionAllowedItem: true,
	}}
	type view struct {
		ID, Code, Description, Unit string
		Extra, Barcode, UnitDesc    *string
		Fraction                    bool
	}
	got := view{p.ID(), p.Code(), p.Description(), p.Unit(), p.ExtraDescription(), p.Barcode(), p.UnitDescription(), p.FractionAllowed()}
	want := view{ID: "a1", Code: "ART-1", Description: "Bolt", Unit: "pc", Barcode: str("8712345678906"), Fraction: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Product (-want +got):\n%s", diff)
	}
}

func TestCustomerFields(t *testing.T) {
	tests := []struct {
		name         string
		acc          erp.Account
		wantCurrency string
		wantDiscount string
		wantPayment  *string
	}{
		{
			name:         "all set",
			acc:          erp.Account{SalesCurrency: "USD", DiscountSales: decimal.RequireFromString("0.05"), PaymentConditionSales: "30", PaymentConditionSalesDescription: "30 days"},
			wantCurrency: "USD", wantDiscount: "5", wantPayment: str("30 days"),
		},
		{
			name:         "fallbacks",
			acc:          erp.Account{PaymentConditionSales: "14 "},
			wantCurrency: "EUR", wantDiscount: "0", wantPayment: str("14"),
		},
		{
			name:         "fractional percentage",
			acc:          erp.Account{DiscountSales: decimal.RequireFromString("0.125")},
			wantCurrency: "EUR", wantDiscount: "12.5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Customer{Account: tt.acc, DefaultCurrency: "EUR"}
			got := []any{c.Currency(), c.DiscountPercentage().String(), c.PaymentCondition()}
			want := []any{tt.wantCurrency, tt.wantDiscount, tt.wantPayment}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	c := &Customer{Account: erp.Account{ID: "x", Code: "            100001", Name: "Acme", VATNumber: "NL1"}}
	if diff := cmp.Diff([]any{"x", "100001", "Acme", str("NL1"), (*string)(nil)}, []any{c.ID(), c.Code(), c.Name(), c.VatNumber(), c.Email()}); diff != "" {
		t.Errorf("Customer (-want +got):\n%s", diff)
	}
}
