package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the default division time zone exists in any container
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Field length limits Exact applies to sales orders (characters).
const (
	maxYourRef     = 30
	maxDescription = 60
	maxRemarks     = 1100
	maxLineNotes   = 1000
)

// defaultLocation is the time zone of a Dutch division.
func defaultLocation() *time.Location {
	if loc, err := time.LoadLocation("Europe/Amsterdam"); err == nil {
		return loc
	}
	return time.UTC
}

// wallClock is t's local wall-clock time in loc labelled UTC: how Exact
// encodes Created and Modified (epoch ms of the division's local time).
func wallClock(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// orderHooks are test hooks of the order endpoint.
type orderHooks struct {
	mu       sync.Mutex
	netPrice func(itemCode string, unitPrice decimal.Decimal) decimal.Decimal
}

// SetNetPriceHook makes the sandbox re-price every line of the orders posted
// from now on, as Exact might when it applies a discount on top of the sent
// UnitPrice: h gets the item's code and the UnitPrice sent and returns the
// line's NetPrice (its Discount and amount follow). nil removes the hook.
func (s *Sandbox) SetNetPriceHook(h func(itemCode string, unitPrice decimal.Decimal) decimal.Decimal) {
	s.orderHooks.mu.Lock()
	defer s.orderHooks.mu.Unlock()
	s.orderHooks.netPrice = h
}

func (s *Sandbox) netPriceHook() func(string, decimal.Decimal) decimal.Decimal {
	s.orderHooks.mu.Lock()
	defer s.orderHooks.mu.Unlock()
	return s.orderHooks.netPrice
}

// vatRate is the VAT fraction of an item's SalesVatCode in the generated
// data ("1" low rate, anything else the standard rate).
func vatRate(code any) decimal.Decimal {
	if c, _ := code.(string); strings.TrimSpace(c) == "1" {
		return decimal.RequireFromString("0.09")
	}
	return decimal.RequireFromString("0.21")
}

// orderError is a validation failure answered as 400 with Exact's body.
type orderError string

func (e orderError) Error() string { return string(e) }

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// str returns the JSON value as a trimmed string ("" for null or absent).
func str(m map[string]any, k string) (string, error) {
	switch v := m[k].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", orderError(k + ": a text value is expected.")
	}
}

// guidField returns a GUID-valued property in lower case.
func guidField(m map[string]any, k string) (string, error) {
	v, err := str(m, k)
	if err != nil {
		return "", err
	}
	v = strings.ToLower(strings.TrimSpace(v))
	if v != "" && !isGUID(v) {
		return "", orderError(k + ": '" + v + "' is not a valid GUID.")
	}
	return v, nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// num reads a number sent as a JSON number or a numeric string (shopspring
// decimals marshal as strings); ok is false when absent or null.
func num(m map[string]any, k string) (d decimal.Decimal, ok bool, err error) {
	switch v := m[k].(type) {
	case nil:
		return decimal.Zero, false, nil
	case json.Number:
		d, err = decimal.NewFromString(v.String())
	case string:
		d, err = decimal.NewFromString(strings.TrimSpace(v))
	default:
		err = fmt.Errorf("not a number")
	}
	if err != nil {
		return decimal.Zero, false, orderError(k + ": a numeric value is expected.")
	}
	return d, true, nil
}

func dateField(m map[string]any, k string) (time.Time, error) {
	v, err := str(m, k)
	if err != nil || v == "" {
		return time.Time{}, err
	}
	t, ok := parseDate(v)
	if !ok {
		return time.Time{}, orderError(k + ": '" + v + "' is not a valid date.")
	}
	return t, nil
}

// parseDate reads the date forms clients send: "/Date(ms)/" (optionally
// with a +hhmm offset, ignored), RFC 3339, and Exact's zone-less ISO forms
// (read as UTC). The sandbox does not import the erp client, so the client's
// parser and this one check each other.
func parseDate(v string) (time.Time, bool) {
	if rest, ok := strings.CutPrefix(v, "/Date("); ok {
		rest, ok = strings.CutSuffix(rest, ")/")
		if !ok {
			return time.Time{}, false
		}
		if i := strings.IndexAny(rest[min(1, len(rest)):], "+-"); i >= 0 {
			rest = rest[:i+1]
		}
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.UnixMilli(n).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func tooLong(m map[string]any, k string, maxLen int, prefix string) error {
	v, err := str(m, k)
	if err != nil {
		return err
	}
	if utf8.RuneCountInString(v) > maxLen {
		return orderError(fmt.Sprintf("%s%s: the text is too long (maximum %d characters).", prefix, k, maxLen))
	}
	return nil
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	return false
}

func f64(d decimal.Decimal) float64 { f, _ := d.Float64(); return f }

func decOf(v any) decimal.Decimal {
	switch x := v.(type) {
	case float64:
		return decimal.NewFromFloat(x)
	case int64:
		return decimal.NewFromInt(x)
	}
	return decimal.Zero
}

func orNilString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func orNilTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// postOrder implements POST salesorder/SalesOrders: validate like Exact,
// create the order and its lines, plan the stock out and answer 201.
func (s *Sandbox) postOrder(w http.ResponseWriter, r *http.Request, div int, set odata.EntitySet) {
	var body map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		writeExactError(w, http.StatusBadRequest, "Error processing request stream. The request body must be a JSON object.")
		return
	}
	if msg, ok := s.faults.takeReject(); ok {
		if msg == "" {
			msg = "The sales order was rejected."
		}
		s.log.count(func(st *Stats) { st.Faults++ })
		writeExactError(w, http.StatusBadRequest, msg)
		return
	}
	hook := s.netPriceHook()
	s.mu.Lock()
	order, _, err := s.createOrderLocked(body, hook)
	s.mu.Unlock()
	if err != nil {
		msg := "Invalid sales order."
		if oe, ok := err.(orderError); ok {
			msg = string(oe)
		}
		writeExactError(w, http.StatusBadRequest, msg)
		return
	}
	s.log.count(func(st *Stats) { st.OrdersCreated++ })
	s.notify(TopicSalesOrders, ActionCreate, pathOrders, order["OrderID"].(string))
	if s.faults.takeDrop() {
		s.log.count(func(st *Stats) { st.Faults++ })
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			if sw, ok := w.(*statusWriter); ok {
				sw.dropped = conn // closed by ServeHTTP after the call is logged
			} else {
				_ = conn.Close()
			}
			return
		}
		panic(http.ErrAbortHandler)
	}
	base := baseURL(r)
	uri := entityURI(base, div, set, order)
	w.Header().Set("Location", uri)
	var b bytes.Buffer
	b.WriteString(`{"d":`)
	if strings.Contains(r.Header.Get("Prefer"), "return=representation") {
		s.mu.RLock()
		s.appendEntity(&b, base, div, set, order, selection{lines: true}, true)
		s.mu.RUnlock()
	} else {
		// Without Prefer Exact returns the entity with most properties null;
		// the key is filled in.
		bare := odata.Record{set.Key: order[set.Key]}
		s.appendEntity(&b, base, div, set, bare, selection{lines: true}, false)
	}
	b.WriteString(`}`)
	writeJSON(w, http.StatusCreated, b.Bytes())
}

// lookup indexes a set by ID. The caller holds s.mu.
func (s *Sandbox) byID(path, id string) odata.Record {
	if id == "" {
		return nil
	}
	for _, r := range s.sets[path] {
		if v, _ := r["ID"].(string); v == id {
			return r
		}
	}
	return nil
}

type lineInput struct {
	item      odata.Record
	qty       decimal.Decimal
	price     decimal.Decimal
	desc      string
	notes     string
	delivery  time.Time
	unitPrice bool
	discount  bool // the line carried a Discount field
}

// createOrderLocked validates body and stores the order. The caller holds s.mu for writing.
func (s *Sandbox) createOrderLocked(body map[string]any, netPrice func(string, decimal.Decimal) decimal.Decimal) (odata.Record, []odata.Record, error) {
	orderedBy, err := guidField(body, "OrderedBy")
	if err != nil {
		return nil, nil, err
	}
	if orderedBy == "" {
		return nil, nil, orderError("OrderedBy: mandatory field is missing.")
	}
	acct := s.byID(gen.PathAccounts, orderedBy)
	if acct == nil {
		return nil, nil, orderError("OrderedBy: account " + orderedBy + " does not exist.")
	}
	if truthy(acct["Blocked"]) {
		name, _ := acct["Name"].(string)
		return nil, nil, orderError("Account is blocked: " + name + ". Orders cannot be entered for this account.")
	}
	for _, c := range []struct {
		k string
		n int
	}{{"YourRef", maxYourRef}, {"Description", maxDescription}, {"Remarks", maxRemarks}} {
		if err := tooLong(body, c.k, c.n, ""); err != nil {
			return nil, nil, err
		}
	}
	refs := map[string]odata.Record{}
	for _, c := range []struct{ k, path, what string }{
		{"DeliverTo", gen.PathAccounts, "account"},
		{"InvoiceTo", gen.PathAccounts, "account"},
		{"OrderedByContactPerson", gen.PathContacts, "contact"},
		{"DeliveryAddress", gen.PathAddresses, "address"},
		{"ShippingMethod", gen.PathShippingMethods, "shipping method"},
		{"WarehouseID", gen.PathWarehouses, "warehouse"},
	} {
		id, err := guidField(body, c.k)
		if err != nil {
			return nil, nil, err
		}
		if id == "" {
			continue
		}
		rec := s.byID(c.path, id)
		if rec == nil {
			return nil, nil, orderError(c.k + ": " + c.what + " " + id + " does not exist.")
		}
		refs[c.k] = rec
	}
	orderDate, err := dateField(body, "OrderDate")
	if err != nil {
		return nil, nil, err
	}
	deliveryDate, err := dateField(body, "DeliveryDate")
	if err != nil {
		return nil, nil, err
	}
	rawLines, _ := body["SalesOrderLines"].([]any)
	if m, ok := body["SalesOrderLines"].(map[string]any); ok { // {"results":[…]} is accepted too
		rawLines, _ = m["results"].([]any)
	}
	if len(rawLines) == 0 {
		return nil, nil, orderError("SalesOrderLines: a sales order needs at least one line.")
	}
	inputs := make([]lineInput, 0, len(rawLines))
	for i, raw := range rawLines {
		p := fmt.Sprintf("Line %d: ", i+1)
		lm, ok := raw.(map[string]any)
		if !ok {
			return nil, nil, orderError(p + "a line must be an object.")
		}
		itemID, err := guidField(lm, "Item")
		if err != nil {
			return nil, nil, orderError(p + err.Error())
		}
		if itemID == "" {
			return nil, nil, orderError(p + "Item: mandatory field is missing.")
		}
		item := s.byID(gen.PathItems, itemID)
		if item == nil {
			return nil, nil, orderError(p + "Item: item " + itemID + " does not exist.")
		}
		if v, ok := item["IsSalesItem"].(bool); ok && !v {
			return nil, nil, orderError(p + "Item: item " + itemID + " is not a sales item.")
		}
		qty, ok, err := num(lm, "Quantity")
		if err != nil {
			return nil, nil, orderError(p + err.Error())
		}
		if !ok || qty.IsZero() {
			return nil, nil, orderError(p + "Quantity: must not be zero.")
		}
		price, hasPrice, err := num(lm, "UnitPrice")
		if err != nil {
			return nil, nil, orderError(p + err.Error())
		}
		if !hasPrice {
			// UNCONFIRMED whether Exact prices an API line from price lists
			// or agreements when UnitPrice is omitted; the sandbox uses the
			// item's StandardSalesPrice.
			price = decOf(item["StandardSalesPrice"])
		}
		if err := tooLong(lm, "Notes", maxLineNotes, p); err != nil {
			return nil, nil, err
		}
		if err := tooLong(lm, "Description", maxDescription, p); err != nil {
			return nil, nil, err
		}
		desc, _ := str(lm, "Description")
		notes, _ := str(lm, "Notes")
		dd, err := dateField(lm, "DeliveryDate")
		if err != nil {
			return nil, nil, orderError(p + err.Error())
		}
		_, hasDiscount := lm["Discount"]
		inputs = append(inputs, lineInput{item: item, qty: qty, price: price.Round(2), desc: desc, notes: notes, delivery: dd, unitPrice: hasPrice, discount: hasDiscount})
	}

	// Created and Modified are the division's wall clock (§5.9), and so is
	// the default order date.
	now := wallClock(s.clock.Now(), s.opts.Location)
	if orderDate.IsZero() {
		orderDate = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	}
	currency, err := str(body, "Currency")
	if err != nil {
		return nil, nil, err
	}
	if currency = strings.TrimSpace(currency); currency != "" && (len(currency) != 3 || strings.ToUpper(currency) != currency) {
		return nil, nil, orderError("Currency: '" + currency + "' is not a valid currency code.")
	}
	if currency == "" {
		currency, _ = acct["SalesCurrency"].(string)
	}
	if currency == "" {
		currency = s.currency
	}
	wh := refs["WarehouseID"]
	if wh == nil {
		for _, r := range s.sets[gen.PathWarehouses] {
			if truthy(r["Main"]) {
				wh = r
				break
			}
		}
	}
	s.maxOrderNo++
	orderNo := s.maxOrderNo
	orderID := newGUID()
	get := func(k string) string { v, _ := str(body, k); return v }
	name := func(r odata.Record, k string) any {
		if r == nil {
			return nil
		}
		return r[k]
	}
	deliverTo, invoiceTo := refs["DeliverTo"], refs["InvoiceTo"]
	if deliverTo == nil {
		deliverTo = acct
	}
	if invoiceTo == nil {
		invoiceTo = acct
		if ia, _ := acct["InvoiceAccount"].(string); ia != "" {
			if r := s.byID(gen.PathAccounts, ia); r != nil {
				invoiceTo = r
			}
		}
	}
	ship := refs["ShippingMethod"]
	if ship == nil {
		if id, _ := acct["ShippingMethod"].(string); id != "" {
			ship = s.byID(gen.PathShippingMethods, id)
		}
	}
	payCond := get("PaymentCondition")
	if payCond == "" {
		payCond, _ = acct["PaymentConditionSales"].(string)
	}
	reprice, remarksLimit := s.faults.orderSwitches()
	repriceBy := decOf(acct["DiscountSales"])
	if repriceBy.Sign() <= 0 {
		repriceBy = decimal.RequireFromString(fallbackRepriceDiscount)
	}
	remarks := get("Remarks")
	if remarksLimit > 0 && utf8.RuneCountInString(remarks) > remarksLimit {
		remarks = string([]rune(remarks)[:remarksLimit])
	}
	total, totalVAT := decimal.Zero, decimal.Zero
	lines := make([]odata.Record, 0, len(inputs))
	for i, in := range inputs {
		// Pessimistic switch: Exact takes a discount off on top of the sent
		// UnitPrice when the line does not say Discount itself.
		net, disc := in.price, decimal.Zero
		if reprice && !in.discount {
			disc = repriceBy
			net = in.price.Mul(decimal.NewFromInt(1).Sub(disc)).Round(2)
		}
		// Test hook: a NetPrice forced regardless of what was sent.
		if netPrice != nil {
			code, _ := in.item["Code"].(string)
			net = netPrice(strings.TrimSpace(code), in.price).Round(2)
			if !in.price.IsZero() {
				disc = decimal.NewFromInt(1).Sub(net.Div(in.price)).Round(4)
			}
		}
		amount := in.qty.Mul(net).Round(2)
		rate := vatRate(in.item["SalesVatCode"])
		vat := amount.Mul(rate).Round(2)
		total, totalVAT = total.Add(amount), totalVAT.Add(vat)
		desc := in.desc
		if desc == "" {
			desc, _ = in.item["Description"].(string)
		}
		s.maxTS++
		lines = append(lines, odata.Record{
			"ID": newGUID(), "OrderID": orderID, "OrderNumber": orderNo, "LineNumber": int64(i + 1),
			"Item": in.item["ID"], "ItemCode": in.item["Code"], "ItemDescription": in.item["Description"],
			"Description": desc, "Quantity": f64(in.qty), "UnitPrice": f64(in.price), "NetPrice": f64(net),
			"Discount": f64(disc), "AmountFC": f64(amount), "AmountDC": f64(amount),
			"VATCode": in.item["SalesVatCode"], "VATPercentage": f64(rate), "VATAmount": f64(vat), "UnitCode": in.item["Unit"], "UnitDescription": in.item["UnitDescription"],
			"Notes": orNilString(in.notes), "DeliveryDate": orNilTime(firstNonZero(in.delivery, deliveryDate)),
			"QuantityDelivered": float64(0), "QuantityInvoiced": float64(0),
			"DeliveryStatus": int64(12), "InvoiceStatus": int64(12), "CostPriceFC": in.item["CostPriceStandard"],
			"Division": int64(s.division), "Timestamp": s.maxTS, "Created": now, "Modified": now,
		})
		s.planStockOut(in.item, wh, in.qty, now)
	}
	s.maxTS++
	order := odata.Record{
		"OrderID": orderID, "OrderNumber": orderNo, "OrderDate": orderDate, "DeliveryDate": orNilTime(deliveryDate),
		"OrderedBy": orderedBy, "OrderedByName": acct["Name"],
		"OrderedByContactPerson":         name(refs["OrderedByContactPerson"], "ID"),
		"OrderedByContactPersonFullName": name(refs["OrderedByContactPerson"], "FullName"),
		"DeliverTo":                      deliverTo["ID"], "DeliverToName": deliverTo["Name"], "DeliveryAddress": name(refs["DeliveryAddress"], "ID"),
		"InvoiceTo": invoiceTo["ID"], "InvoiceToName": invoiceTo["Name"],
		"YourRef": orNilString(get("YourRef")), "Description": orNilString(get("Description")), "Remarks": orNilString(remarks),
		"Status": int64(12), "StatusDescription": "Open", "DeliveryStatus": int64(12), "DeliveryStatusDescription": "Open",
		"InvoiceStatus": int64(12), "InvoiceStatusDescription": "Open", "ApprovalStatus": int64(1), "ApprovalStatusDescription": "Automatically",
		"Currency": currency, "AmountFC": f64(total.Add(totalVAT)), "AmountDC": f64(total.Add(totalVAT)), "AmountFCExclVat": f64(total),
		"AmountDiscount": float64(0), "AmountDiscountExclVat": float64(0),
		"PaymentCondition": orNilString(payCond), "PaymentReference": orNilString(get("PaymentReference")),
		"ShippingMethod": name(ship, "ID"), "ShippingMethodDescription": name(ship, "Description"),
		"WarehouseID": name(wh, "ID"), "WarehouseCode": name(wh, "Code"), "WarehouseDescription": name(wh, "Description"),
		"Created": now, "Modified": now, "Division": int64(s.division), "Timestamp": s.maxTS,
	}
	s.sets[pathOrders] = append(s.sets[pathOrders], order)
	s.sets[pathOrderLines] = append(s.sets[pathOrderLines], lines...)
	s.linesByOrder[orderID] = lines
	return order, lines, nil
}

func firstNonZero(a, b time.Time) time.Time {
	if !a.IsZero() {
		return a
	}
	return b
}

// planStockOut raises the item's PlannedStockOut in warehouse wh (AmountDC
// equals AmountFC: the sandbox has no exchange rates). An item without a
// row in that warehouse is left alone.
func (s *Sandbox) planStockOut(item, wh odata.Record, qty decimal.Decimal, now time.Time) {
	if wh == nil {
		return
	}
	for _, r := range s.sets[gen.PathItemWarehouses] {
		if r["Item"] == item["ID"] && r["Warehouse"] == wh["ID"] {
			out := decOf(r["PlannedStockOut"]).Add(qty)
			r["PlannedStockOut"] = f64(out)
			if _, ok := r["ProjectedStock"]; ok {
				r["ProjectedStock"] = f64(decOf(r["CurrentStock"]).Add(decOf(r["PlannedStockIn"])).Sub(out))
			}
			r["Modified"] = now
			s.maxTS++
			r["Timestamp"] = s.maxTS
			return
		}
	}
}
