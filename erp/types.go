package erp

import (
	"encoding/json"

	"github.com/shopspring/decimal"
)

// The record types below carry Exact's own field names in their JSON tags.
// Only the fields the gateway uses are declared; each service method sends a
// $select listing exactly these fields (see selectFields). GUIDs are
// lower-case strings with dashes; a null GUID decodes as "". Quantities and
// money are decimals, never float64.

// Me is a record of current/Me.
type Me struct {
	UserID          string `json:"UserID"`
	UserName        string `json:"UserName"`
	FullName        string `json:"FullName"`
	CurrentDivision int    `json:"CurrentDivision"`
}

// Item is a record of logistics/Items.
type Item struct {
	ID                    string          `json:"ID"`
	Code                  string          `json:"Code"`
	Description           string          `json:"Description"`
	ExtraDescription      string          `json:"ExtraDescription"`
	Barcode               string          `json:"Barcode"`
	ItemGroup             string          `json:"ItemGroup"`
	ItemGroupCode         string          `json:"ItemGroupCode"`
	ItemGroupDescription  string          `json:"ItemGroupDescription"`
	Unit                  string          `json:"Unit"` // padded, e.g. "pc      "
	UnitDescription       string          `json:"UnitDescription"`
	IsSalesItem           bool            `json:"IsSalesItem"`
	IsStockItem           bool            `json:"IsStockItem"`
	IsFractionAllowedItem bool            `json:"IsFractionAllowedItem"`
	IsWebshopItem         Flag            `json:"IsWebshopItem"` // Edm.Byte
	StartDate             Time            `json:"StartDate"`
	EndDate               Time            `json:"EndDate"`
	StandardSalesPrice    decimal.Decimal `json:"StandardSalesPrice"`
	PictureURL            string          `json:"PictureUrl"`
	PictureThumbnailURL   string          `json:"PictureThumbnailUrl"`
	Modified              Time            `json:"Modified"`
}

// ItemGroup is a record of logistics/ItemGroups.
type ItemGroup struct {
	ID          string `json:"ID"`
	Code        string `json:"Code"`
	Description string `json:"Description"`
}

// SalesItemPrice is a record of logistics/SalesItemPrices. Account is set for
// a customer-specific price (a price agreement) and empty for the general
// (default) price.
type SalesItemPrice struct {
	ID        string          `json:"ID"`
	Item      string          `json:"Item"`
	ItemCode  string          `json:"ItemCode"`
	Account   string          `json:"Account"`
	Price     decimal.Decimal `json:"Price"`
	Currency  string          `json:"Currency"`
	Quantity  decimal.Decimal `json:"Quantity"`
	StartDate Time            `json:"StartDate"`
	EndDate   Time            `json:"EndDate"`
	Unit      string          `json:"Unit"`
	// NumberOfItemsPerUnit is how many of the item's units the row's Unit
	// holds (a box of 12); null or 1 is the item's own unit.
	NumberOfItemsPerUnit decimal.Decimal `json:"NumberOfItemsPerUnit"`
	// DefaultItemUnit is the item's default (sales) unit code as Exact
	// shows it on the price row, padded.
	DefaultItemUnit string `json:"DefaultItemUnit"`
}

// SalesPriceList is a record of sales/SalesPriceLists.
type SalesPriceList struct {
	ID          string `json:"ID"`
	Code        string `json:"Code"`
	Description string `json:"Description"`
	Currency    string `json:"Currency"`
	Type        int    `json:"Type"`   // 1 Customer, 2 Standard
	Entity      int    `json:"Entity"` // 1 Item, 2 Item group
}

// Price-list period types (SalesPriceListPeriods.Type).
const (
	PeriodBasic        = 1
	PeriodSpecialOffer = 2
)

// SalesPriceListPeriod is a record of sales/SalesPriceListPeriods.
type SalesPriceListPeriod struct {
	ID        string `json:"ID"`
	PriceList string `json:"PriceList"`
	StartDate Time   `json:"StartDate"`
	EndDate   Time   `json:"EndDate"`
	Type      int    `json:"Type"` // PeriodBasic or PeriodSpecialOffer
	Currency  string `json:"Currency"`
}

// Volume-discount entry methods (SalesPriceListVolumeDiscounts.EntryMethod).
const (
	EntryDiscount = 1
	EntryNewPrice = 2
)

// SalesPriceListVolumeDiscount is a record of sales/SalesPriceListVolumeDiscounts.
// Discount is a fraction (0.1 is 10 %). BasePrice is an Edm.Guid: "" (null)
// means "standard sales price" and a GUID means "set base price"; Exact
// fills BasePriceAmount in both cases (with the latest item sales price when
// BasePrice is null), so only BasePrice says which base applies
// (exact-online-api.md §5.2).
type SalesPriceListVolumeDiscount struct {
	ID              string           `json:"ID"`
	PriceListPeriod string           `json:"PriceListPeriod"`
	PriceListCode   string           `json:"PriceListCode"`
	Item            string           `json:"Item"`
	ItemCode        string           `json:"ItemCode"`
	ItemGroup       string           `json:"ItemGroup"`
	Quantity        decimal.Decimal  `json:"Quantity"`
	Discount        decimal.Decimal  `json:"Discount"`
	NewPrice        decimal.Decimal  `json:"NewPrice"`
	EntryMethod     int              `json:"EntryMethod"`
	BasePrice       string           `json:"BasePrice"`
	BasePriceAmount *decimal.Decimal `json:"BasePriceAmount"`
	Unit            string           `json:"Unit"`
	// SalesUnit is the sales unit the row is for, padded; empty when not set.
	SalesUnit string `json:"SalesUnit"`
	// NumberOfItemsPerUnit is how many of the item's units the row's unit
	// holds; null or 1 is the item's own unit.
	NumberOfItemsPerUnit decimal.Decimal `json:"NumberOfItemsPerUnit"`
}

// HasSetBasePrice reports whether the row's discount applies to a set base
// price (BasePrice is a GUID) rather than the item's standard sales price.
func (v SalesPriceListVolumeDiscount) HasSetBasePrice() bool { return v.BasePrice != "" }

// ItemWarehouse is a record of inventory/ItemWarehouses: one item's stock in
// one warehouse.
type ItemWarehouse struct {
	ID              string          `json:"ID"`
	Item            string          `json:"Item"`
	ItemCode        string          `json:"ItemCode"`
	Warehouse       string          `json:"Warehouse"`
	WarehouseCode   string          `json:"WarehouseCode"`
	CurrentStock    decimal.Decimal `json:"CurrentStock"`
	PlannedStockIn  decimal.Decimal `json:"PlannedStockIn"`
	PlannedStockOut decimal.Decimal `json:"PlannedStockOut"`
	ProjectedStock  decimal.Decimal `json:"ProjectedStock"`
	ReservedStock   decimal.Decimal `json:"ReservedStock"`
}

// Warehouse is a record of inventory/Warehouses.
type Warehouse struct {
	ID          string `json:"ID"`
	Code        string `json:"Code"`
	Description string `json:"Description"`
	Main        Flag   `json:"Main"` // Edm.Byte
}

// Account is a record of crm/Accounts. Code is left-padded to 18 characters;
// DiscountSales is a fraction.
type Account struct {
	ID                               string          `json:"ID"`
	Code                             string          `json:"Code"`
	Name                             string          `json:"Name"`
	Email                            string          `json:"Email"`
	Phone                            string          `json:"Phone"`
	VATNumber                        string          `json:"VATNumber"`
	Status                           string          `json:"Status"`
	Blocked                          bool            `json:"Blocked"`
	PriceList                        string          `json:"PriceList"`
	DiscountSales                    decimal.Decimal `json:"DiscountSales"`
	PaymentConditionSales            string          `json:"PaymentConditionSales"`
	PaymentConditionSalesDescription string          `json:"PaymentConditionSalesDescription"`
	SalesCurrency                    string          `json:"SalesCurrency"`
	ShippingMethod                   string          `json:"ShippingMethod"`
	InvoiceAccount                   string          `json:"InvoiceAccount"`
	MainContact                      string          `json:"MainContact"`
}

// Contact is a record of crm/Contacts.
type Contact struct {
	ID            string `json:"ID"`
	Account       string `json:"Account"`
	FirstName     string `json:"FirstName"`
	LastName      string `json:"LastName"`
	FullName      string `json:"FullName"`
	Email         string `json:"Email"`
	Phone         string `json:"Phone"`
	IsMainContact bool   `json:"IsMainContact"`
}

// Address types (crm/Addresses Type).
const (
	AddressVisit    = 1
	AddressPostal   = 2
	AddressInvoice  = 3
	AddressDelivery = 4
)

// Address is a record of crm/Addresses.
type Address struct {
	ID           string `json:"ID"`
	Account      string `json:"Account"`
	Contact      string `json:"Contact"`
	Type         int    `json:"Type"`
	Main         bool   `json:"Main"`
	AddressLine1 string `json:"AddressLine1"`
	AddressLine2 string `json:"AddressLine2"`
	AddressLine3 string `json:"AddressLine3"`
	Postcode     string `json:"Postcode"`
	City         string `json:"City"`
	Country      string `json:"Country"` // padded, e.g. "NL "
}

// ShippingMethod is a record of sales/ShippingMethods.
type ShippingMethod struct {
	ID          string `json:"ID"`
	Code        string `json:"Code"`
	Description string `json:"Description"`
	Active      bool   `json:"Active"`
}

// Sales order status codes (SalesOrders.Status).
const (
	OrderStatusOpen      = 12
	OrderStatusPartial   = 20
	OrderStatusComplete  = 21
	OrderStatusCancelled = 45
)

// SalesOrder is a record of salesorder/SalesOrders. AmountFC includes VAT;
// AmountFCExclVat is the amount without it (exact-online-api.md §5.9).
// Created and Modified are the division's local wall-clock time encoded as
// if it were UTC (§5.9); callers reinterpret them in the division's zone.
type SalesOrder struct {
	OrderID                string          `json:"OrderID"`
	OrderNumber            int             `json:"OrderNumber"`
	OrderedBy              string          `json:"OrderedBy"`
	DeliverTo              string          `json:"DeliverTo"`
	InvoiceTo              string          `json:"InvoiceTo"`
	OrderedByContactPerson string          `json:"OrderedByContactPerson"`
	OrderDate              Time            `json:"OrderDate"`
	DeliveryDate           Time            `json:"DeliveryDate"`
	YourRef                string          `json:"YourRef"`
	Description            string          `json:"Description"`
	Remarks                string          `json:"Remarks"`
	Status                 int             `json:"Status"`
	StatusDescription      string          `json:"StatusDescription"`
	Currency               string          `json:"Currency"`
	AmountFC               decimal.Decimal `json:"AmountFC"`
	AmountFCExclVat        decimal.Decimal `json:"AmountFCExclVat"`
	AmountDC               decimal.Decimal `json:"AmountDC"`
	ShippingMethod         string          `json:"ShippingMethod"`
	DeliveryAddress        string          `json:"DeliveryAddress"`
	WarehouseID            string          `json:"WarehouseID"`
	Created                Time            `json:"Created"`
	Modified               Time            `json:"Modified"`
	// SalesOrderLines holds the lines when Exact returned them inline
	// ({"results": […]}); it is empty when they were deferred.
	SalesOrderLines LineCollection `json:"SalesOrderLines"`
}

// SalesOrderLine is a record of salesorder/SalesOrderLines. NetPrice is the
// unit price after the line's Discount (null when Exact left it out);
// Discount is a fraction of Exact's default price.
type SalesOrderLine struct {
	ID          string              `json:"ID"`
	OrderID     string              `json:"OrderID"`
	LineNumber  int                 `json:"LineNumber"`
	Item        string              `json:"Item"`
	ItemCode    string              `json:"ItemCode"`
	Description string              `json:"Description"`
	Quantity    decimal.Decimal     `json:"Quantity"`
	UnitPrice   decimal.Decimal     `json:"UnitPrice"`
	NetPrice    decimal.NullDecimal `json:"NetPrice"`
	Discount    decimal.Decimal     `json:"Discount"`
	AmountFC    decimal.Decimal     `json:"AmountFC"`
	Notes       string              `json:"Notes"`
	UnitCode    string              `json:"UnitCode"`
}

// LineCollection decodes an OData navigation collection that is either
// expanded ({"results": […]}), deferred ({"__deferred": {…}}), a bare array or null.
type LineCollection []SalesOrderLine

// UnmarshalJSON accepts every form Exact uses for a navigation collection.
func (c *LineCollection) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || string(b) == "null" {
		*c = nil
		return nil
	}
	if b[0] == '[' {
		var lines []SalesOrderLine
		if err := json.Unmarshal(b, &lines); err != nil {
			return err
		}
		*c = lines
		return nil
	}
	var wrap struct {
		Results []SalesOrderLine `json:"results"`
	}
	if err := json.Unmarshal(b, &wrap); err != nil {
		return err
	}
	*c = wrap.Results
	return nil
}

// NewSalesOrder is the body of a POST to salesorder/SalesOrders. Empty
// optional fields are left out so Exact applies its own defaults. Currency
// is the currency the buyer was quoted (ARCHITECTURE §6.5).
type NewSalesOrder struct {
	OrderedBy              string              `json:"OrderedBy"`
	DeliverTo              string              `json:"DeliverTo,omitempty"`
	InvoiceTo              string              `json:"InvoiceTo,omitempty"`
	OrderedByContactPerson string              `json:"OrderedByContactPerson,omitempty"`
	OrderDate              *Time               `json:"OrderDate,omitempty"`
	DeliveryDate           *Time               `json:"DeliveryDate,omitempty"`
	YourRef                string              `json:"YourRef,omitempty"`
	Description            string              `json:"Description,omitempty"`
	Remarks                string              `json:"Remarks,omitempty"`
	ShippingMethod         string              `json:"ShippingMethod,omitempty"`
	DeliveryAddress        string              `json:"DeliveryAddress,omitempty"`
	WarehouseID            string              `json:"WarehouseID,omitempty"`
	Currency               string              `json:"Currency,omitempty"`
	SalesOrderLines        []NewSalesOrderLine `json:"SalesOrderLines"`
}

// NewSalesOrderLine is one line of a NewSalesOrder. Quantity, UnitPrice and
// Discount are sent as JSON numbers. Discount is always sent, normally 0:
// the UnitPrice is already the buyer's net price, and a line sent without
// Discount may be re-priced by Exact on top of it (UNCONFIRMED,
// exact-online-api.md §5.9).
type NewSalesOrderLine struct {
	Item      string          `json:"Item"`
	Quantity  decimal.Decimal `json:"Quantity"`
	UnitPrice decimal.Decimal `json:"UnitPrice"`
	Discount  decimal.Decimal `json:"Discount"`
	Notes     string          `json:"Notes,omitempty"`
}

// MarshalJSON writes Quantity, UnitPrice and Discount as JSON numbers:
// shopspring's decimal marshals to strings by default, and Exact wants
// numbers.
func (l NewSalesOrderLine) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Item      string      `json:"Item"`
		Quantity  json.Number `json:"Quantity"`
		UnitPrice json.Number `json:"UnitPrice"`
		Discount  json.Number `json:"Discount"`
		Notes     string      `json:"Notes,omitempty"`
	}{l.Item, json.Number(l.Quantity.String()), json.Number(l.UnitPrice.String()), json.Number(l.Discount.String()), l.Notes})
}
