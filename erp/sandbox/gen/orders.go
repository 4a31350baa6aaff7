package gen

import (
	"fmt"
	"time"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Sales order status codes (Status, DeliveryStatus, InvoiceStatus).
const (
	statusOpen      = 12
	statusComplete  = 21
	statusCancelled = 45
)

var statusNames = map[int64]string{12: "Open", 20: "Partial", 21: "Complete", 45: "Cancelled"}

// firstOrderNumber is the first OrderNumber of the generated orders.
const firstOrderNumber = 24001

var orderDescs = []string{"Telefonische bestelling", "Bestelling per e-mail", "Beursorder", "Aanvulling voorraad", "Spoedorder"}
var orderRemarks = []string{"Graag achterom leveren.", "Levering tussen 8:00 en 12:00.", "Bellen bij aankomst.", "Factuur t.a.v. administratie."}

// genOrders writes staff-entered sales orders: two for each demo buyer and
// one for about every fifth other customer. Most are open, some complete,
// exactly one cancelled; amounts are the sum of the line amounts.
func (g *generator) genOrders() {
	g.orderNo = firstOrderNumber - 1
	var sellable []*item
	for _, it := range g.items {
		if it.sales && !it.ended {
			sellable = append(sellable, it)
		}
	}
	cancelled := false
	for i, a := range g.accounts {
		n := 0
		switch {
		case a.rule != "":
			n = 2
		case i%5 == 0:
			n = 1
		}
		for k := range n {
			status := int64(statusOpen)
			switch {
			case !cancelled && a.rule == "":
				status, cancelled = statusCancelled, true
			case k == 1 || g.chance(0.25):
				status = statusComplete
			}
			g.order(a, status, sellable)
		}
	}
}

func (g *generator) order(a *account, status int64, sellable []*item) {
	g.orderNo++
	id := g.guid()
	orderDate := g.day(-1 - g.r.IntN(90))
	deliveryDate := orderDate.AddDate(0, 0, 1+g.r.IntN(5))
	rate := 1.0
	if a.currency != g.opts.Currency {
		rate = fxRate
	}
	w := g.warehouses[0]
	invoiceTo := a
	if a.invoiceTo != nil {
		invoiceTo = a.invoiceTo
	}
	lineStatus, invStatus := status, int64(statusOpen)
	if status == statusComplete {
		invStatus = statusComplete
	}
	nl := 1 + g.r.IntN(4)
	total, totalVAT := 0.0, 0.0
	for ln := 1; ln <= nl; ln++ {
		it := pick(g, sellable)
		qty := float64(1 + g.r.IntN(20))
		if it.unit.fraction {
			qty = round3(g.between(0.5, 30))
		}
		price := round2(it.base() * rate)
		amount := round2(price * qty)
		lineVAT := round2(amount * 0.21)
		total += amount
		totalVAT += lineVAT
		delivered := 0.0
		if status == statusComplete {
			delivered = qty
		}
		g.add(PathSalesOrderLines, odata.Record{
			"ID": g.guid(), "OrderID": id, "OrderNumber": g.orderNo, "LineNumber": int64(ln),
			"Item": it.id, "ItemCode": it.code, "ItemDescription": it.desc, "Description": it.desc,
			"Quantity": qty, "UnitPrice": price, "NetPrice": price, "Discount": 0.0,
			"AmountFC": amount, "AmountDC": round2(amount / rate),
			"VATCode": "2  ", "VATPercentage": 0.21, "VATAmount": lineVAT,
			"UnitCode": it.unit.padded(), "UnitDescription": it.unit.desc, "Notes": nil,
			"DeliveryDate": deliveryDate, "Pricelist": nil, "QuantityDelivered": delivered,
			"QuantityInvoiced": delivered, "DeliveryStatus": lineStatus, "InvoiceStatus": invStatus,
			"CostPriceFC": round2(it.std * 0.6 * rate), "Division": g.divV,
		})
	}
	total = round2(total)
	var yourRef, remarks, ship, shipDesc any
	if g.chance(0.6) {
		yourRef = fmt.Sprintf("PO-%05d", g.r.IntN(100000))
	}
	if g.chance(0.5) {
		remarks = pick(g, orderRemarks)
	}
	if a.ship != nil {
		ship, shipDesc = a.ship.id, a.ship.desc
	}
	approval, approvalDesc := int64(2), "Approved"
	if g.chance(0.5) {
		approval, approvalDesc = 1, "Automatically"
	}
	created := orderDate.Add(time.Duration(8*3600+g.r.IntN(9*3600)) * time.Second)
	modified := created.Add(time.Duration(g.r.IntN(48*3600)) * time.Second)
	if modified.After(g.now) {
		modified = g.now.Add(-time.Minute).Truncate(time.Millisecond)
	}
	g.add(PathSalesOrders, odata.Record{
		"OrderID": id, "OrderNumber": g.orderNo, "OrderDate": orderDate, "DeliveryDate": deliveryDate,
		"OrderedBy": a.id, "OrderedByName": a.name, "OrderedByContactPerson": a.mainContact.id,
		"OrderedByContactPersonFullName": a.mainContact.fullName,
		"DeliverTo":                      a.id, "DeliverToName": a.name, "DeliverToContactPerson": a.mainContact.id,
		"DeliveryAddress": a.delivery[0],
		"InvoiceTo":       invoiceTo.id, "InvoiceToName": invoiceTo.name, "InvoiceToContactPerson": invoiceTo.mainContact.id,
		"YourRef": yourRef, "Description": pick(g, orderDescs), "Remarks": remarks,
		"Status": status, "StatusDescription": statusNames[status],
		"DeliveryStatus": lineStatus, "DeliveryStatusDescription": statusNames[lineStatus],
		"InvoiceStatus": invStatus, "InvoiceStatusDescription": statusNames[invStatus],
		"ApprovalStatus": approval, "ApprovalStatusDescription": approvalDesc,
		// AmountFC includes VAT, AmountFCExclVat does not
		// (exact-online-api.md §5.9); line amounts exclude VAT.
		"Currency": a.currency, "AmountFC": round2(total + totalVAT), "AmountDC": round2((total + totalVAT) / rate), "AmountFCExclVat": total,
		"AmountDiscount": 0.0, "AmountDiscountExclVat": 0.0,
		"PaymentCondition": a.payment, "PaymentConditionDescription": a.payment + " dagen",
		"ShippingMethod": ship, "ShippingMethodDescription": shipDesc,
		"WarehouseID": w.id, "WarehouseCode": w.code, "WarehouseDescription": w.desc,
		"Created": created, "Modified": modified, "Division": g.divV,
	})
}
