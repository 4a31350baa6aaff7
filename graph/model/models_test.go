package model

import (
	"testing"
	"time"

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

func TestSalesOrderFromERP(t *testing.T) {
	day := erp.NewTime(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	o := erp.SalesOrder{
		OrderID: "o1", OrderNumber: 42, OrderedBy: "acc", Status: erp.OrderStatusPartial,
		OrderDate: day, YourRef: "PO-1", Currency: "EUR", ShippingMethod: "sm", DeliveryAddress: "da",
		SalesOrderLines: erp.LineCollection{{
			LineNumber: 1, Item: "i1", ItemCode: "ART-1 ", Quantity: decimal.RequireFromString("2.50"),
			UnitPrice: decimal.RequireFromString("1.5"), AmountFC: decimal.RequireFromString("3.75"),
		}},
	}
	got := SalesOrderFromERP(o)
	n := 42
	d := Date{Year: 2026, Month: time.November, Day: 28}
	want := &SalesOrder{
		ID: "o1", OrderNumber: &n, Status: OrderStatusPartial, OrderDate: &d, YourReference: str("PO-1"),
		AccountID: "acc", ExactOrderID: "o1", DeliveryAddressID: "da", ShippingMethodID: "sm", Currency: "EUR",
		KnownLines: []*SalesOrderLine{{
			LineNumber: 1, ProductCode: "ART-1", Quantity: NewDecimal(decimal.RequireFromString("2.5")),
			UnitPrice: NewMoney(decimal.RequireFromString("1.5"), "EUR"), Amount: NewMoney(decimal.RequireFromString("3.75"), "EUR"),
			ItemID: "i1",
		}},
	}
	eq := cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
	if diff := cmp.Diff(want, got, eq); diff != "" {
		t.Errorf("SalesOrderFromERP (-want +got):\n%s", diff)
	}
	for status, want := range map[int]OrderStatus{
		erp.OrderStatusOpen: OrderStatusOpen, erp.OrderStatusComplete: OrderStatusComplete,
		erp.OrderStatusCancelled: OrderStatusCancelled, 99: OrderStatusOpen,
	} {
		if got := OrderStatusFromERP(status); got != want {
			t.Errorf("OrderStatusFromERP(%d) = %s, want %s", status, got, want)
		}
	}
}
