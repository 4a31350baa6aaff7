package index

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp"
)

func TestAccountsContactsAddresses(t *testing.T) {
	x := New(Config{})
	a, other := gid(5, 1), gid(5, 2)
	mustApply(t, x, Batch{
		Accounts: []erp.Account{{ID: a, Name: "Acme"}, {ID: other, Name: "Other"}},
		Contacts: []erp.Contact{
			{ID: gid(12, 1), Account: a, FullName: "Zoe"}, {ID: gid(12, 2), Account: a, FullName: "Bob", IsMainContact: false},
			{ID: gid(12, 3), Account: a, FullName: "Yan", IsMainContact: true}, {ID: gid(12, 4), Account: other, FullName: "X"},
		},
		Addresses: []erp.Address{
			{ID: gid(13, 1), Account: a, Type: erp.AddressDelivery}, {ID: gid(13, 2), Account: a, Type: erp.AddressInvoice, Main: true},
			{ID: gid(13, 3), Account: a, Type: erp.AddressDelivery, Main: true}, {ID: gid(13, 4), Account: other, Type: erp.AddressDelivery},
		},
	})
	s := x.Snapshot()
	if acc, ok := s.Account(a); !ok || acc.Name != "Acme" {
		t.Errorf("Account = %+v %v", acc, ok)
	}
	var names []string
	for _, c := range s.Contacts(a) {
		names = append(names, c.FullName)
	}
	if !cmp.Equal(names, []string{"Yan", "Bob", "Zoe"}) {
		t.Errorf("Contacts = %v", names)
	}
	var ids []string
	for _, ad := range s.Addresses(a) {
		ids = append(ids, ad.ID)
	}
	if !cmp.Equal(ids, []string{gid(13, 2), gid(13, 3), gid(13, 1)}) {
		t.Errorf("Addresses = %v", ids)
	}
	// A contact moving to another account leaves the first one's list.
	mustApply(t, x, Batch{Contacts: []erp.Contact{{ID: gid(12, 1), Account: other, FullName: "Zoe"}}})
	if got := x.Snapshot().Contacts(a); len(got) != 2 {
		t.Errorf("after the move: %+v", got)
	}
	if got := x.Snapshot().Contacts(gid(5, 404)); len(got) != 0 {
		t.Errorf("unknown account has contacts: %+v", got)
	}
}

func order(n int, acct string, created time.Time) erp.SalesOrder {
	return erp.SalesOrder{OrderID: gid(6, n), OrderedBy: acct, OrderNumber: n, Created: erp.NewTime(created)}
}

func TestOrdersNewestFirstWithStablePaging(t *testing.T) {
	x := New(Config{})
	a := gid(5, 1)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var orders []erp.SalesOrder
	for n := 1; n <= 9; n++ {
		orders = append(orders, order(n, a, t0.Add(time.Duration(n)*time.Hour)))
	}
	orders = append(orders, order(10, a, t0.Add(5*time.Hour))) // same Created as 5: OrderID breaks the tie
	orders = append(orders, order(11, gid(5, 2), t0))          // another buyer's
	mustApply(t, x, Batch{Orders: orders, OrderLines: []erp.SalesOrderLine{
		{ID: gid(7, 2), OrderID: gid(6, 9), LineNumber: 2}, {ID: gid(7, 1), OrderID: gid(6, 9), LineNumber: 1},
	}})
	var seen []int
	after := ""
	for page := 0; page < 10; page++ {
		p, err := x.Snapshot().Orders(a, 3, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Orders {
			seen = append(seen, o.OrderNumber)
			if o.OrderNumber == 9 && (len(o.Lines) != 2 || o.Lines[0].LineNumber != 1) {
				t.Errorf("order 9 lines = %+v", o.Lines)
			}
		}
		// A new order placed mid-walk is newer than the cursor: it does
		// not shift the pages of the walk.
		mustApply(t, x, Batch{Orders: []erp.SalesOrder{order(100+page, a, t0.Add(time.Duration(100+page)*time.Hour))}})
		if !p.HasNextPage {
			break
		}
		after = p.EndCursor
	}
	if want := []int{9, 8, 7, 6, 10, 5, 4, 3, 2, 1}; !cmp.Equal(seen, want) {
		t.Errorf("walk = %v, want %v", seen, want)
	}
	if o, ok := x.Snapshot().Order(gid(6, 9)); !ok || len(o.Lines) != 2 {
		t.Errorf("Order = %+v %v", o, ok)
	}
	for _, bad := range []string{"x", "e30", fmt.Sprint(make([]byte, 2000))} {
		if _, err := x.Snapshot().Orders(a, 3, bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("cursor %.10q: %v", bad, err)
		}
	}
	if _, err := x.Snapshot().Orders(a, 0, ""); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("first 0: %v", err)
	}
}
