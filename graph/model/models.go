package model

import (
	"errors"
	"strings"

	"github.com/exactql/exactql/erp"
	"github.com/shopspring/decimal"
)

// Product is the GraphQL Product type. It carries the Exact item; the plain
// fields are methods mapping it. The per-viewer fields (price, priceBreaks,
// stock, availableQuantity) are methods too, answered by the Viewer the
// resolver that made the Product attached: being methods without a context,
// gqlgen calls them inline while it writes the product, instead of starting
// a goroutine per field and product as it does for resolvers (issue 15).
type Product struct {
	Item erp.Item
	// Viewer answers the per-viewer fields for the request that listed the
	// product (its caller's prices, what its page prefetched). Nil answers
	// those fields with an error.
	Viewer ProductViewer
}

// ProductViewer answers a product's per-viewer fields for one request. Its
// methods are called concurrently (gqlgen writes list elements in
// parallel) and must be safe for that.
type ProductViewer interface {
	Price(it *erp.Item, quantity *Decimal) (*Price, error)
	PriceBreaks(it *erp.Item) ([]*PriceBreak, error)
	Stock(it *erp.Item, warehouse *string) ([]*StockLevel, error)
	AvailableQuantity(it *erp.Item) (*Decimal, error)
}

// errNoViewer is the error of a per-viewer field of a Product made without
// a Viewer: a programming error, reported (as INTERNAL) instead of a panic.
var errNoViewer = errors.New("product has no viewer for its per-viewer fields")

// Price is the viewer's net price per unit at quantity.
func (p *Product) Price(quantity *Decimal) (*Price, error) {
	if p.Viewer == nil {
		return nil, errNoViewer
	}
	return p.Viewer.Price(&p.Item, quantity)
}

// PriceBreaks are the viewer's volume tiers.
func (p *Product) PriceBreaks() ([]*PriceBreak, error) {
	if p.Viewer == nil {
		return nil, errNoViewer
	}
	return p.Viewer.PriceBreaks(&p.Item)
}

// Stock is the stock per warehouse (or in the one named).
func (p *Product) Stock(warehouse *string) ([]*StockLevel, error) {
	if p.Viewer == nil {
		return nil, errNoViewer
	}
	return p.Viewer.Stock(&p.Item, warehouse)
}

// AvailableQuantity is the available quantity over all warehouses.
func (p *Product) AvailableQuantity() (*Decimal, error) {
	if p.Viewer == nil {
		return nil, errNoViewer
	}
	return p.Viewer.AvailableQuantity(&p.Item)
}

// ItemGroup is the item's group, nil when it has none.
func (p *Product) ItemGroup() *ItemGroup {
	if p.Item.ItemGroup == "" {
		return nil
	}
	return &ItemGroup{ID: p.Item.ItemGroup, Code: erp.Code(p.Item.ItemGroupCode), Description: p.Item.ItemGroupDescription}
}

// ID is the Exact item ID.
func (p *Product) ID() string { return p.Item.ID }

// Code is the item code, trimmed.
func (p *Product) Code() string { return erp.Code(p.Item.Code) }

// Description is the item description.
func (p *Product) Description() string { return p.Item.Description }

// ExtraDescription is the item's extra description, nil when empty.
func (p *Product) ExtraDescription() *string { return optional(p.Item.ExtraDescription) }

// Barcode is the item's barcode, nil when empty.
func (p *Product) Barcode() *string { return optional(erp.Code(p.Item.Barcode)) }

// Unit is the sales unit code without Exact's padding.
func (p *Product) Unit() string { return erp.Code(p.Item.Unit) }

// UnitDescription is the sales unit's description, nil when empty.
func (p *Product) UnitDescription() *string { return optional(p.Item.UnitDescription) }

// FractionAllowed reports whether fractional quantities may be ordered.
func (p *Product) FractionAllowed() bool { return p.Item.IsFractionAllowedItem }

// Customer is the GraphQL Customer type. It carries the Exact account; the
// relations are resolvers.
type Customer struct {
	Account erp.Account
	// DefaultCurrency is shown when the account has no sales currency: the
	// division's currency.
	DefaultCurrency string
}

// ID is the Exact account ID.
func (c *Customer) ID() string { return c.Account.ID }

// Code is the account code without Exact's left padding.
func (c *Customer) Code() string { return erp.Code(c.Account.Code) }

// Name is the account name.
func (c *Customer) Name() string { return c.Account.Name }

// Email is the account's e-mail address, nil when empty.
func (c *Customer) Email() *string { return optional(c.Account.Email) }

// Phone is the account's phone number, nil when empty.
func (c *Customer) Phone() *string { return optional(c.Account.Phone) }

// VatNumber is the account's VAT number, nil when empty.
func (c *Customer) VatNumber() *string { return optional(c.Account.VATNumber) }

// Currency is the account's sales currency, or DefaultCurrency when unset.
func (c *Customer) Currency() string {
	if cur := erp.Code(c.Account.SalesCurrency); cur != "" {
		return cur
	}
	return c.DefaultCurrency
}

// DiscountPercentage is the default sales discount as a percentage; Exact
// stores it as a fraction (0.05 is 5 %).
func (c *Customer) DiscountPercentage() Decimal {
	return NewDecimal(c.Account.DiscountSales.Mul(decimal.NewFromInt(100)))
}

// PaymentCondition is the sales payment condition's description, or its code
// when Exact sent no description; nil when the account has none.
func (c *Customer) PaymentCondition() *string {
	if d := strings.TrimSpace(c.Account.PaymentConditionSalesDescription); d != "" {
		return &d
	}
	return optional(erp.Code(c.Account.PaymentConditionSales))
}

// SalesOrder is the GraphQL SalesOrder type: an order in Exact or one of the
// gateway's own (PENDING, REJECTED). The hidden fields carry what the relation
// resolvers need.
type SalesOrder struct {
	ID              string
	OrderNumber     *int
	Status          OrderStatus
	RejectionReason *string
	OrderDate       *Date
	DeliveryDate    *Date
	YourReference   *string
	Description     *string

	// AccountID is the buyer (OrderedBy).
	AccountID string
	// ExactOrderID is Exact's OrderID; empty while the order is not in Exact.
	ExactOrderID string
	// DeliveryAddressID and ShippingMethodID are Exact IDs, empty when unset.
	DeliveryAddressID string
	ShippingMethodID  string
	// Currency is the order's currency.
	Currency string
	// Amount is the order amount excluding VAT as the order service
	// computed it (Exact's AmountFCExclVat once written); nil means the
	// sum of KnownLines.
	Amount *decimal.Decimal
	// KnownLines holds the lines when they are already at hand (a gateway
	// order, or an Exact order read with its lines expanded). Nil means the
	// lines resolver must fetch them by ExactOrderID.
	KnownLines []*SalesOrderLine

	// IdempotencyKey is the key the order was placed with (nil for orders
	// entered in Exact); UpdatedAt when the gateway last saw it change.
	IdempotencyKey *string
	UpdatedAt      *DateTime
	// Validated marks an order straight from placeOrder: its address,
	// shipping method and lines' products are the ones validation used
	// (KnownDeliveryAddress, KnownShippingMethod, SalesOrderLine.KnownItem),
	// and the resolvers read nothing again (a PENDING payload never
	// carries an error).
	Validated            bool
	KnownDeliveryAddress *Address
	KnownShippingMethod  *ShippingMethod
}

// SalesOrderLine is the GraphQL SalesOrderLine type; ItemID feeds the product
// resolver.
type SalesOrderLine struct {
	LineNumber  int
	ProductCode string
	Description *string
	Quantity    Decimal
	UnitPrice   *Money
	Amount      *Money

	// ItemID is the Exact item ID of the line.
	ItemID string
	// KnownItem is the item validation used, on an order straight from
	// placeOrder (nil otherwise): the product resolver shows it as is.
	KnownItem *erp.Item
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
