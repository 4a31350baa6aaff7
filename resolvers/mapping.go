package resolvers

import (
	"strings"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
	"github.com/exactql/exactql/server/images"
)

// This file is the one place that maps Exact records (and the order
// service's and pricing's results built from them) to GraphQL models, and
// GraphQL inputs to the order service's input (STYLE.md: padded codes
// trimmed, dates as dates, fractions as percentages, decimals as strings).
// Product and Customer are the exception: they carry their Exact record and
// map their plain fields in methods of graph/model, so that gqlgen writes
// them inline instead of in a goroutine per field (issue 15).

// optional is s trimmed, nil when that is empty (Exact's free texts).
func optional(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}

// strPtr is s as it is, nil when empty (the order service's own texts).
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func money(d decimal.Decimal, currency string) *model.Money {
	return model.NewMoney(d, currency)
}

func dateModel(d *civil.Date) *model.Date {
	if d == nil || d.IsZero() {
		return nil
	}
	return &model.Date{Year: d.Year, Month: d.Month, Day: d.Day}
}

var addressTypes = map[int]model.AddressType{
	erp.AddressVisit:    model.AddressTypeVisit,
	erp.AddressPostal:   model.AddressTypePostal,
	erp.AddressInvoice:  model.AddressTypeInvoice,
	erp.AddressDelivery: model.AddressTypeDelivery,
}

func addressModel(a erp.Address) *model.Address {
	t, ok := addressTypes[a.Type]
	if !ok {
		t = model.AddressTypeVisit
	}
	return &model.Address{ID: a.ID, Type: t, IsMain: a.Main, Line1: optional(a.AddressLine1),
		Line2: optional(a.AddressLine2), Line3: optional(a.AddressLine3), Postcode: optional(a.Postcode),
		City: optional(a.City), Country: optional(erp.Code(a.Country))}
}

func contactModel(c erp.Contact) *model.Contact {
	full := strings.TrimSpace(c.FullName)
	if full == "" {
		full = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	return &model.Contact{ID: c.ID, FirstName: optional(c.FirstName), LastName: optional(c.LastName),
		FullName: full, Email: optional(c.Email), Phone: optional(c.Phone), IsMain: c.IsMainContact}
}

func customerModel(a erp.Account, divisionCurrency string) *model.Customer {
	return &model.Customer{Account: a, DefaultCurrency: divisionCurrency}
}

func priceListModel(pl erp.SalesPriceList) *model.PriceList {
	return &model.PriceList{ID: pl.ID, Code: erp.Code(pl.Code), Description: pl.Description}
}

func shippingMethodModel(m erp.ShippingMethod) *model.ShippingMethod {
	return &model.ShippingMethod{ID: m.ID, Code: erp.Code(m.Code), Description: m.Description}
}

// shippingMethodByID is the method with id (Exact's GUIDs compare without
// case), nil when ms has none.
func shippingMethodByID(ms []erp.ShippingMethod, id string) *model.ShippingMethod {
	for _, m := range ms {
		if strings.EqualFold(m.ID, id) {
			return shippingMethodModel(m)
		}
	}
	return nil
}

func itemGroupModel(g erp.ItemGroup) *model.ItemGroup {
	return &model.ItemGroup{ID: g.ID, Code: erp.Code(g.Code), Description: g.Description}
}

func warehouseModel(w erp.Warehouse) *model.Warehouse {
	return &model.Warehouse{ID: w.ID, Code: erp.Code(w.Code), Description: w.Description, IsMain: bool(w.Main)}
}

func priceModel(p pricing.Price) *model.Price {
	out := &model.Price{}
	var m [2]model.Money
	fillPrice(out, &m, p)
	return out
}

// fillPrice writes p into out, its two amounts into m (so a page can
// allocate all its prices and amounts at once).
func fillPrice(out *model.Price, m *[2]model.Money, p pricing.Price) {
	m[0] = model.Money{Amount: model.MoneyAmount(p.UnitPrice), CurrencyCode: p.Currency}
	m[1] = model.Money{Amount: model.MoneyAmount(p.ListPrice), CurrencyCode: p.Currency}
	*out = model.Price{
		UnitPrice:          &m[0],
		ListPrice:          &m[1],
		DiscountPercentage: model.NewDecimal(p.DiscountPercentage),
		Quantity:           model.NewDecimal(p.Quantity),
		Source:             model.PriceSource(p.Source),
	}
	if p.ValidUntil != nil && !p.ValidUntil.IsZero() {
		out.ValidUntil = dateModel(p.ValidUntil)
	}
}

func priceBreakModel(b pricing.Break) *model.PriceBreak {
	return &model.PriceBreak{MinimumQuantity: model.NewDecimal(b.MinimumQuantity), UnitPrice: money(b.UnitPrice, b.Currency)}
}

// imageURL is the gateway's URL of an item's picture (thumbnail false) or
// thumbnail, given the item's URL for it at Exact: nil when Exact has none,
// else the images route's path, prefixed with Deps.PublicURL when that is
// set. Exact's own URL never reaches the client (it needs Exact's token).
func (r *productResolver) imageURL(exactURL, itemID string, thumbnail bool) *string {
	if exactURL == "" || itemID == "" {
		return nil
	}
	u := strings.TrimRight(r.Deps.PublicURL, "/") + images.Path(itemID, thumbnail)
	return &u
}

// stockLevels lists every warehouse (main first, zeros included) or only
// the one asked for, from an item's ItemWarehouses rows (ARCHITECTURE §5).
func stockLevels(ws []erp.Warehouse, e live.StockEntry, only string) []*model.StockLevel {
	byWH := map[string]erp.ItemWarehouse{}
	for _, row := range e.Rows {
		byWH[strings.ToLower(row.Warehouse)] = row
	}
	out := []*model.StockLevel{}
	for _, w := range ws {
		id := strings.ToLower(w.ID)
		if only != "" && id != only {
			continue
		}
		row := byWH[id]
		avail := row.CurrentStock.Sub(row.PlannedStockOut)
		if avail.IsNegative() {
			avail = decimal.Zero
		}
		out = append(out, &model.StockLevel{
			Warehouse:  warehouseModel(w),
			OnHand:     model.NewDecimal(row.CurrentStock),
			PlannedOut: model.NewDecimal(row.PlannedStockOut),
			PlannedIn:  model.NewDecimal(row.PlannedStockIn),
			Reserved:   model.NewDecimal(row.ReservedStock),
			Available:  model.NewDecimal(avail),
			AsOf:       model.NewDateTime(e.At),
		})
	}
	return out
}

// availableOf sums the positive available quantity (current stock less
// planned stock out) over an item's warehouse rows, as
// Product.availableQuantity does.
func availableOf(rows []erp.ItemWarehouse) decimal.Decimal {
	sum := decimal.Zero
	for _, row := range rows {
		if a := row.CurrentStock.Sub(row.PlannedStockOut); a.IsPositive() {
			sum = sum.Add(a)
		}
	}
	return sum
}

// orderModel maps an order of the order service.
func orderModel(o *orders.Order, account string) *model.SalesOrder {
	m := &model.SalesOrder{ID: o.ID, Status: model.OrderStatus(o.Status), RejectionReason: strPtr(o.RejectionReason),
		OrderDate: dateModel(o.OrderDate), DeliveryDate: dateModel(o.DeliveryDate), YourReference: strPtr(o.YourRef),
		Description: strPtr(o.Description), AccountID: account, ExactOrderID: o.ExactID,
		DeliveryAddressID: o.DeliveryAddressID, ShippingMethodID: o.ShippingMethodID, Currency: o.Currency,
		IdempotencyKey: strPtr(o.IdempotencyKey), Validated: o.Validated}
	if !o.Updated.IsZero() {
		u := model.NewDateTime(o.Updated)
		m.UpdatedAt = &u
	}
	if o.DeliveryAddress != nil {
		m.KnownDeliveryAddress = addressModel(*o.DeliveryAddress)
	}
	if sm := o.ShippingMethod; sm != nil {
		m.KnownShippingMethod = shippingMethodModel(*sm)
	}
	amount := o.Amount
	m.Amount = &amount
	if o.OrderNumber != 0 {
		n := o.OrderNumber
		m.OrderNumber = &n
	}
	m.KnownLines = make([]*model.SalesOrderLine, 0, len(o.Lines))
	for _, l := range o.Lines {
		m.KnownLines = append(m.KnownLines, &model.SalesOrderLine{LineNumber: l.LineNumber, ProductCode: l.ItemCode,
			Description: strPtr(l.Description), Quantity: model.NewDecimal(l.Quantity),
			UnitPrice: money(l.UnitPrice, o.Currency), Amount: money(l.Amount, o.Currency), ItemID: l.ItemID, KnownItem: l.Item})
	}
	return m
}

// previewLineModel maps one line of an order preview; its product is
// answered by v and its available quantity is filled in by the caller.
func previewLineModel(v *productView, l validate.ValidLine) *model.OrderPreviewLine {
	return &model.OrderPreviewLine{Index: l.Index, Product: v.product(l.Item), Quantity: model.NewDecimal(l.Quantity),
		UnitPrice: money(l.Price.UnitPrice, l.Price.Currency), Amount: money(l.Amount, l.Price.Currency),
		Source: model.PriceSource(l.Price.Source)}
}

func userErrors(errs []validate.UserError) []*model.UserError {
	out := make([]*model.UserError, 0, len(errs))
	for _, e := range errs {
		out = append(out, &model.UserError{Field: e.Field, Code: model.UserErrorCode(e.Code), Message: e.Message})
	}
	return out
}

// orderInput maps placeOrder's input onto the order service's.
func orderInput(in model.PlaceOrderInput) validate.Input {
	out := validate.Input{YourReference: in.YourReference, Description: in.Description, Remarks: in.Remarks,
		DeliveryAddressID: in.DeliveryAddressID, ShippingMethodID: in.ShippingMethodID, WarehouseID: in.WarehouseID}
	if in.DeliveryDate != nil {
		d := civil.Date{Year: in.DeliveryDate.Year, Month: in.DeliveryDate.Month, Day: in.DeliveryDate.Day}
		out.DeliveryDate = &d
	}
	for _, l := range in.Lines {
		if l == nil {
			continue
		}
		out.Lines = append(out.Lines, validate.Line{ProductID: l.ProductID, ProductCode: l.ProductCode, Quantity: l.Quantity.Decimal, Notes: l.Notes})
	}
	return out
}

// previewInput maps previewOrder's input onto the order input placeOrder
// validates (no key, no texts: those are placeOrder's own).
func previewInput(in model.OrderPreviewInput) validate.Input {
	return orderInput(model.PlaceOrderInput{Lines: in.Lines, DeliveryAddressID: in.DeliveryAddressID,
		ShippingMethodID: in.ShippingMethodID, WarehouseID: in.WarehouseID, DeliveryDate: in.DeliveryDate})
}
