package index

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/exactql/exactql/erp"
)

// Contacts returns the account's contacts, the main contact first, then by
// full name.
func (s *Snapshot) Contacts(accountID string) []erp.Contact {
	return slices.Clone(s.s.contacts.in(normID(accountID)))
}

// Addresses returns the account's addresses, main ones first, then by type.
func (s *Snapshot) Addresses(accountID string) []erp.Address {
	return slices.Clone(s.s.addresses.in(normID(accountID)))
}

// Address returns one address.
func (s *Snapshot) Address(id string) (erp.Address, bool) { return s.s.addresses.get(normID(id)) }

// Order is an order header with its lines in line-number order.
type Order struct {
	erp.SalesOrder
	Lines []erp.SalesOrderLine
}

// OrderPage is one page of an account's orders, newest first.
type OrderPage struct {
	Orders      []Order
	Cursors     []string
	HasNextPage bool
	EndCursor   string
}

// Order returns one order with its lines.
func (s *Snapshot) Order(id string) (Order, bool) {
	o, ok := s.s.orders.get(normID(id))
	if !ok {
		return Order{}, false
	}
	return s.withLines(o), true
}

func (s *Snapshot) withLines(o erp.SalesOrder) Order {
	return Order{SalesOrder: o, Lines: slices.Clone(s.s.lines.in(o.OrderID))}
}

// orderCursor is the position in an account's order list: the last
// order's Created and OrderID, the list's sort key.
type orderCursor struct {
	T int64  `json:"t"` // Created, Unix milliseconds
	I string `json:"i"`
}

// Orders returns a page of the account's orders (OrderedBy), newest first
// by Created, then by OrderID descending; after is an earlier page's
// EndCursor. Errors wrap ErrInvalidArgument.
func (s *Snapshot) Orders(accountID string, first int, after string) (OrderPage, error) {
	if first < 1 || first > MaxFirst {
		return OrderPage{}, invalid("first must be from 1 to %d", MaxFirst)
	}
	list := s.s.orders.in(normID(accountID))
	start := 0
	if after != "" {
		c, err := decodeOrderCursor(after)
		if err != nil {
			return OrderPage{}, err
		}
		pivot := erp.SalesOrder{OrderID: c.I, Created: erp.NewTime(time.UnixMilli(c.T))}
		start = sort.Search(len(list), func(i int) bool { return cmpNewest(list[i], pivot) > 0 })
	}
	var p OrderPage
	for _, o := range list[start:] {
		if len(p.Orders) == first {
			p.HasNextPage = true
			break
		}
		b, _ := json.Marshal(orderCursor{T: o.Created.Time.UnixMilli(), I: o.OrderID})
		p.Orders = append(p.Orders, s.withLines(o))
		p.Cursors = append(p.Cursors, base64.RawURLEncoding.EncodeToString(b))
	}
	if n := len(p.Cursors); n > 0 {
		p.EndCursor = p.Cursors[n-1]
	}
	return p, nil
}

func decodeOrderCursor(s string) (*orderCursor, error) {
	if len(s) > maxCursorLen {
		return nil, invalid("after is not a valid cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, invalid("after is not a valid cursor")
	}
	var c orderCursor
	if err := json.Unmarshal(b, &c); err != nil || c.I == "" {
		return nil, invalid("after is not a valid cursor")
	}
	return &c, nil
}
