// Package validate validates a placeOrder input as pure functions over the
// facts the caller looked up in Exact (ARCHITECTURE §6.1), and fingerprints
// an input for idempotency comparison (§6.3). It does no I/O and reads no
// clock.
//
// Readings §6.1 leaves open, chosen on the safe side:
//
//   - A shipping method that Exact marks inactive does not "exist" for a
//     new order: INVALID_SHIPPING_METHOD.
//   - A delivery address must be one of the buyer's addresses of type
//     delivery (4); an address of another account or type is invalid.
//   - Item IDs match case-insensitively (Exact's GUIDs), item codes match
//     case-insensitively after trimming (Exact's database compares codes
//     case-insensitively).
//   - A given but empty productId or productCode counts as given (and then
//     names no product), so "exactly one" is about presence, not content.
//   - With more lines than allowed only TOO_MANY_LINES and the order-level
//     checks are reported; the lines are not examined one by one.
//   - Control characters in order texts are stripped, not refused (CleanText):
//     NUL, ESC and the other C0/C1 controls, DEL and bidirectional overrides
//     never reach Exact; CR/LF and TAB survive only in remarks and line notes
//     (as LF and TAB), elsewhere they become a space. The enum has no code
//     for "bad character", and a buyer's pasted text should not fail an order.
//   - QUANTITY_TOO_LARGE is about one line's quantity; ORDER_TOO_LARGE about
//     the sum of the line amounts (excluding VAT) in the buyer's currency.
package validate

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/pricing"
)

// Limits of ARCHITECTURE §6.1, in characters (runes).
const (
	DefaultMaxLines    = 200
	MaxYourReference   = 30
	MaxDescription     = 60
	MaxRemarks         = 1000
	MaxNotes           = 1000
	maxQuantityDigits  = 12 // integer digits; beyond this a quantity is nonsense
	maxQuantityDecimal = 8  // decimals Exact can hold for a quantity
)

// User error codes: the values of the GraphQL UserErrorCode enum that input
// validation produces.
const (
	CodeInvalidQuantity         = "INVALID_QUANTITY"
	CodeUnknownProduct          = "UNKNOWN_PRODUCT"
	CodeInvalidProductReference = "INVALID_PRODUCT_REFERENCE"
	CodeProductNotSaleable      = "PRODUCT_NOT_SALEABLE"
	CodeFractionNotAllowed      = "FRACTION_NOT_ALLOWED"
	CodeInvalidDeliveryAddress  = "INVALID_DELIVERY_ADDRESS"
	CodeInvalidShippingMethod   = "INVALID_SHIPPING_METHOD"
	CodeInvalidWarehouse        = "INVALID_WAREHOUSE"
	CodeInvalidDeliveryDate     = "INVALID_DELIVERY_DATE"
	CodeTooManyLines            = "TOO_MANY_LINES"
	CodeEmptyOrder              = "EMPTY_ORDER"
	CodeIdempotencyKeyReused    = "IDEMPOTENCY_KEY_REUSED"
	CodeTextTooLong             = "TEXT_TOO_LONG"
	CodePriceUnavailable        = "PRICE_UNAVAILABLE"
	CodeRejectedByERP           = "REJECTED_BY_ERP"
	CodeQuantityTooLarge        = "QUANTITY_TOO_LARGE"
	CodeOrderTooLarge           = "ORDER_TOO_LARGE"
)

// Default ceilings of EXACTQL_MAX_LINE_QUANTITY and EXACTQL_MAX_ORDER_AMOUNT:
// far above any real wholesale order, far below what would disturb Exact's
// stock planning for everyone (issue 17 item 5).
var (
	DefaultMaxLineQuantity = decimal.NewFromInt(100_000)
	DefaultMaxOrderAmount  = decimal.NewFromInt(1_000_000)
)

// UserError is one validation failure. Field is the path to the offending
// input field, counting lines from 0 (["lines", "2", "quantity"]); nil when
// the error concerns the whole input.
type UserError struct {
	Field   []string
	Code    string
	Message string
}

// Line is one order line as the caller sent it. Nil means absent or null.
type Line struct {
	ProductID   *string
	ProductCode *string
	Quantity    decimal.Decimal
	Notes       *string
}

// Input is a placeOrder input without its idempotency key. Nil means absent
// or null.
type Input struct {
	Lines             []Line
	YourReference     *string
	Description       *string
	Remarks           *string
	DeliveryAddressID *string
	ShippingMethodID  *string
	WarehouseID       *string
	DeliveryDate      *civil.Date
}

// PriceFunc prices one item for the buyer at a quantity, normally a closure
// over pricing.Resolve with the buyer's rows.
type PriceFunc func(item erp.Item, quantity decimal.Decimal) (pricing.Price, bool)

// Facts are what the caller looked up for validating one input.
type Facts struct {
	// Today is the calendar date in the division's time zone.
	Today civil.Date
	// MaxLines is EXACTQL_MAX_ORDER_LINES; 0 means DefaultMaxLines.
	MaxLines int
	// WebshopOnly is EXACTQL_WEBSHOP_ONLY.
	WebshopOnly bool
	// AccountID is the buyer's account; when set, delivery addresses must
	// belong to it.
	AccountID string
	// Items are the items found for the input's product IDs and codes
	// (any superset will do).
	Items []erp.Item
	// DeliveryAddresses are the buyer's addresses.
	DeliveryAddresses []erp.Address
	// ShippingMethods are the division's shipping methods.
	ShippingMethods []erp.ShippingMethod
	// Warehouses are the division's warehouses.
	Warehouses []erp.Warehouse
	// Price prices a line; nil means no product has a price.
	Price PriceFunc
	// MaxLineQuantity is the largest quantity one line may have
	// (QUANTITY_TOO_LARGE above it); zero means DefaultMaxLineQuantity.
	MaxLineQuantity decimal.Decimal
	// MaxOrderAmount is the largest order amount, the sum of the line
	// amounts (ORDER_TOO_LARGE above it); zero means DefaultMaxOrderAmount.
	MaxOrderAmount decimal.Decimal
}

// ValidLine is an order line that passed validation, with its item and the
// price the buyer saw.
type ValidLine struct {
	// Index is the line's position in the input, from 0.
	Index    int
	Item     erp.Item
	Quantity decimal.Decimal
	Price    pricing.Price
	// Amount is pricing.LineAmount(Price.UnitPrice, Quantity).
	Amount decimal.Decimal
	Notes  string
}

// ProductRefs returns the product IDs and codes the input's lines name, each
// once in first-seen order, so the caller knows which items to look up.
func (in Input) ProductRefs() (ids, codes []string) {
	seenID, seenCode := map[string]bool{}, map[string]bool{}
	for _, l := range in.Lines {
		if l.ProductID != nil {
			if k := idKey(*l.ProductID); !seenID[k] {
				seenID[k] = true
				ids = append(ids, *l.ProductID)
			}
		}
		if l.ProductCode != nil {
			if k := codeKey(*l.ProductCode); !seenCode[k] {
				seenCode[k] = true
				codes = append(codes, *l.ProductCode)
			}
		}
	}
	return ids, codes
}

func idKey(s string) string   { return strings.ToLower(strings.TrimSpace(s)) }
func codeKey(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// Sellable reports whether an item may be ordered on today's date: a sales
// item that has not ended and, when webshopOnly, is flagged for the webshop
// (ARCHITECTURE §3).
func Sellable(it erp.Item, today civil.Date, webshopOnly bool) bool {
	if !it.IsSalesItem {
		return false
	}
	// Not sellable before its StartDate (ARCHITECTURE §3).
	if start, ok := civil.DateOf(it.StartDate); ok && today.Before(start) {
		return false
	}
	if end, ok := civil.DateOf(it.EndDate); ok && end.Before(today) {
		return false
	}
	return !webshopOnly || bool(it.IsWebshopItem)
}

// Validate checks an input against the facts. It returns the priced lines
// when the input is valid, and otherwise every user error it found (and no
// lines).
func Validate(in Input, f Facts) ([]ValidLine, []UserError) {
	lines, errs := Check(in, f)
	if len(errs) > 0 {
		return nil, errs
	}
	return lines, nil
}

// Check is Validate that also returns the lines that passed when others did
// not (previewOrder shows them): the same user errors as Validate, and the
// priced lines without a user error of their own, each with its input index.
// ORDER_TOO_LARGE is judged, as by Validate, only when nothing else failed.
func Check(in Input, f Facts) ([]ValidLine, []UserError) {
	var errs []UserError
	add := func(code, msg string, field ...string) {
		errs = append(errs, UserError{Field: field, Code: code, Message: msg})
	}

	maxLines := f.MaxLines
	if maxLines <= 0 {
		maxLines = DefaultMaxLines
	}
	maxQty, maxAmount := f.MaxLineQuantity, f.MaxOrderAmount
	if !maxQty.IsPositive() {
		maxQty = DefaultMaxLineQuantity
	}
	if !maxAmount.IsPositive() {
		maxAmount = DefaultMaxOrderAmount
	}
	checkLines := true
	switch {
	case len(in.Lines) == 0:
		add(CodeEmptyOrder, "An order needs at least one line.", "lines")
		checkLines = false
	case len(in.Lines) > maxLines:
		add(CodeTooManyLines, fmt.Sprintf("An order may have at most %d lines.", maxLines), "lines")
		checkLines = false
	}

	checkText := func(v *string, limit int, field ...string) {
		if v != nil && utf8.RuneCountInString(*v) > limit {
			add(CodeTextTooLong, fmt.Sprintf("At most %d characters are allowed.", limit), field...)
		}
	}
	checkText(in.YourReference, MaxYourReference, "yourReference")
	checkText(in.Description, MaxDescription, "description")
	checkText(in.Remarks, MaxRemarks, "remarks")

	if in.DeliveryAddressID != nil && !hasDeliveryAddress(f, *in.DeliveryAddressID) {
		add(CodeInvalidDeliveryAddress, "The delivery address is not one of your delivery addresses.", "deliveryAddressId")
	}
	if in.ShippingMethodID != nil && !hasShippingMethod(f, *in.ShippingMethodID) {
		add(CodeInvalidShippingMethod, "The shipping method does not exist.", "shippingMethodId")
	}
	if in.WarehouseID != nil && !hasWarehouse(f, *in.WarehouseID) {
		add(CodeInvalidWarehouse, "The warehouse does not exist.", "warehouseId")
	}
	if in.DeliveryDate != nil && in.DeliveryDate.Before(f.Today) {
		add(CodeInvalidDeliveryDate, "The delivery date may not be in the past.", "deliveryDate")
	}

	if !checkLines {
		return nil, errs
	}

	byID := make(map[string]*erp.Item, len(f.Items))
	byCode := make(map[string]*erp.Item, len(f.Items))
	for i := range f.Items {
		it := &f.Items[i]
		if it.ID != "" {
			byID[idKey(it.ID)] = it
		}
		if strings.TrimSpace(it.Code) != "" {
			byCode[codeKey(it.Code)] = it
		}
	}

	lines := make([]ValidLine, 0, len(in.Lines))
	for i, l := range in.Lines {
		idx := strconv.Itoa(i)
		checkText(l.Notes, MaxNotes, "lines", idx, "notes")

		qtyOK := true
		if !l.Quantity.IsPositive() {
			add(CodeInvalidQuantity, "The quantity must be greater than 0.", "lines", idx, "quantity")
			qtyOK = false
		} else if !quantityInRange(l.Quantity) {
			add(CodeInvalidQuantity, fmt.Sprintf("The quantity must have at most %d digits before and %d after the decimal point.",
				maxQuantityDigits, maxQuantityDecimal), "lines", idx, "quantity")
			qtyOK = false
		} else if l.Quantity.GreaterThan(maxQty) {
			add(CodeQuantityTooLarge, fmt.Sprintf("The quantity may be at most %s.", maxQty.String()), "lines", idx, "quantity")
			qtyOK = false
		}

		var it *erp.Item
		var refField string
		switch {
		case (l.ProductID == nil) == (l.ProductCode == nil):
			add(CodeInvalidProductReference, "Give exactly one of productId and productCode.", "lines", idx)
			continue
		case l.ProductID != nil:
			refField, it = "productId", byID[idKey(*l.ProductID)]
		default:
			refField, it = "productCode", byCode[codeKey(*l.ProductCode)]
		}
		if it == nil {
			add(CodeUnknownProduct, "No product is known by this reference.", "lines", idx, refField)
			continue
		}
		if !Sellable(*it, f.Today, f.WebshopOnly) {
			add(CodeProductNotSaleable, fmt.Sprintf("Product %s cannot be ordered.", strings.TrimSpace(it.Code)), "lines", idx, refField)
			continue
		}
		if !qtyOK {
			continue
		}
		if !it.IsFractionAllowedItem && !l.Quantity.IsInteger() {
			add(CodeFractionNotAllowed, fmt.Sprintf("Product %s can only be ordered in whole units.", strings.TrimSpace(it.Code)), "lines", idx, "quantity")
			continue
		}
		var p pricing.Price
		ok := false
		if f.Price != nil {
			p, ok = f.Price(*it, l.Quantity)
		}
		if !ok {
			add(CodePriceUnavailable, fmt.Sprintf("No price is available for product %s.", strings.TrimSpace(it.Code)), "lines", idx, refField)
			continue
		}
		notes := ""
		if l.Notes != nil {
			notes = *l.Notes
		}
		if lineHasError(errs, idx) {
			continue // notes too long: the line is not shown as priced
		}
		lines = append(lines, ValidLine{Index: i, Item: *it, Quantity: l.Quantity, Price: p, Amount: pricing.LineAmount(p.UnitPrice, l.Quantity), Notes: notes})
	}
	if len(errs) > 0 {
		return lines, errs
	}
	if total := Total(lines); total.GreaterThan(maxAmount) {
		return lines, []UserError{{Field: []string{"lines"}, Code: CodeOrderTooLarge,
			Message: fmt.Sprintf("The order amount may be at most %s.", maxAmount.StringFixed(2))}}
	}
	return lines, nil
}

// CleanText strips what must not reach Exact from an order text: invalid
// UTF-8, NUL, ESC and every other C0/C1 control character, DEL, and the
// bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069). With
// multiline (remarks, line notes) CR LF and lone CR become LF and TAB stays;
// without it they become a space.
func CleanText(s string, multiline bool) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, badRune) < 0 {
		return s
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n':
			if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case r == '\t':
			if multiline {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
		case badRune(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// badRune reports characters CleanText treats: controls (CR, LF and TAB
// included, as they need a decision) and bidirectional formatting.
func badRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// Total is the order amount: the sum of the lines' rounded amounts.
func Total(lines []ValidLine) decimal.Decimal {
	sum := decimal.Zero
	for _, l := range lines {
		sum = sum.Add(l.Amount)
	}
	return sum
}

// quantityInRange keeps absurd quantities (1e40, 1e-30) out of Exact.
func quantityInRange(q decimal.Decimal) bool {
	c := canonical(q)
	if c.exp < -maxQuantityDecimal {
		return false
	}
	digits := len(c.coef.String())
	return digits+int(c.exp) <= maxQuantityDigits
}

func hasDeliveryAddress(f Facts, id string) bool {
	k := idKey(id)
	for _, a := range f.DeliveryAddresses {
		if idKey(a.ID) != k || a.Type != erp.AddressDelivery {
			continue
		}
		if f.AccountID != "" && !strings.EqualFold(a.Account, f.AccountID) {
			continue
		}
		return true
	}
	return false
}

func hasShippingMethod(f Facts, id string) bool {
	k := idKey(id)
	for _, m := range f.ShippingMethods {
		if idKey(m.ID) == k && m.Active {
			return true
		}
	}
	return false
}

func hasWarehouse(f Facts, id string) bool {
	k := idKey(id)
	for _, w := range f.Warehouses {
		if idKey(w.ID) == k {
			return true
		}
	}
	return false
}

// KeyReused is the user error for an idempotency key sent again with a
// different input.
func KeyReused() UserError {
	return UserError{
		Field:   []string{"idempotencyKey"},
		Code:    CodeIdempotencyKeyReused,
		Message: "This idempotency key was already used for a different order.",
	}
}

// RejectedByERP is the user error for an order Exact refused, with
// Exact's message as Reason makes it.
func RejectedByERP(exactMessage string) UserError {
	return UserError{Code: CodeRejectedByERP, Message: "Exact Online rejected the order: " + Reason(exactMessage)}
}

// Reason is Exact's rejection message fit to keep and show a buyer: the
// text through erp.SafeMessage, "no reason given" when that is empty.
func Reason(exactMessage string) string {
	if msg := erp.SafeMessage(exactMessage); msg != "" {
		return msg
	}
	return "no reason given"
}

// lineHasError reports whether errs hold an error of input line idx.
func lineHasError(errs []UserError, idx string) bool {
	for _, e := range errs {
		if len(e.Field) >= 2 && e.Field[0] == "lines" && e.Field[1] == idx {
			return true
		}
	}
	return false
}
