package orders_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
)

func TestGetAndListOrders(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a := e.buyer(gen.RuleCustomerPrice)
	other := e.buyer(gen.RuleDefaultPrice)
	items := e.sellableItems(a, 2, false)
	place := func(key string, prepare func()) *orders.Order {
		t.Helper()
		e.clock.Advance(time.Second)
		if prepare != nil {
			prepare()
		}
		res, err := e.svc.Place(ctx, a, key, validate.Input{Lines: []validate.Line{lineID(items[0], "1"), lineID(items[1], "2")}})
		if err != nil || res.Order == nil {
			t.Fatalf("Place %s = %+v, %v", key, res, err)
		}
		return res.Order
	}
	written := place("written", nil)
	rejected := place("rejected", func() { e.sb.Faults().RejectNextOrder("Not today.") })
	pending := place("pending", func() { e.sb.Faults().FailNext(1, 503) })
	dropped := place("dropped", func() { e.sb.Faults().DropConnectionAfterNextPost() })
	for _, c := range []struct {
		o    *orders.Order
		want string
	}{{written, orders.StatusOpen}, {rejected, orders.StatusRejected}, {pending, orders.StatusPending}, {dropped, orders.StatusPending}} {
		if c.o.Status != c.want {
			t.Fatalf("order %s status = %s; want %s", c.o.ID, c.o.Status, c.want)
		}
	}

	// order(id): by either ID for the owner; NOT_FOUND for anyone else.
	for _, id := range []string{written.ID, written.GatewayID, written.ExactID, strings.ToUpper(written.ExactID), strings.ToUpper(written.ID), rejected.ID, pending.ID} {
		if got, err := e.svc.Get(ctx, a, id); err != nil {
			t.Errorf("Get(%s) by its buyer: %v", id, err)
		} else if !strings.EqualFold(id, written.ExactID) && got.ID != strings.ToLower(id) {
			t.Errorf("Get(%s).ID = %s; want the stable ID asked for", id, got.ID)
		} else if strings.EqualFold(id, written.ExactID) && (got.ID != written.GatewayID || got.IdempotencyKey != "written") {
			t.Errorf("Get(Exact's ID %s) = id %s key %q; want the stable gateway ID %s and key \"written\"", id, got.ID, got.IdempotencyKey, written.GatewayID)
		}
		if o, err := e.svc.Get(ctx, other, id); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("Get(%s) by another buyer = %+v, %v; want ErrNotFound", id, o, err)
		}
	}
	for _, id := range []string{"0f0f0f0f-0000-4000-8000-00000000abcd", "not-a-guid", ""} {
		if _, err := e.svc.Get(ctx, a, id); !errors.Is(err, orders.ErrNotFound) {
			t.Errorf("Get(%q) = %v; want ErrNotFound", id, err)
		}
	}

	// Customer.orders: everything, newest first, each order once.
	all, err := e.svc.List(ctx, a, orders.MaxPageSize, "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	seen := map[string]bool{}
	var droppedInExact *orders.Order
	for i, o := range all.Orders {
		if seen[o.ID] {
			t.Errorf("order %s listed twice", o.ID)
		}
		seen[o.ID] = true
		if i > 0 && o.Created.After(all.Orders[i-1].Created) {
			t.Errorf("order %d (%s) is newer than order %d", i, o.Created, i-1)
		}
		if o.GatewayID == dropped.GatewayID {
			droppedInExact = o
		}
		if o.Status != orders.StatusPending && o.Status != orders.StatusRejected && len(o.Lines) == 0 {
			t.Errorf("order %s (%s) has no lines", o.ID, o.Status)
		}
	}
	for _, want := range []*orders.Order{written, rejected, pending} {
		if !seen[want.ID] {
			t.Errorf("order %s (%s) missing from the list", want.ID, want.Status)
		}
	}
	// The dropped order landed in Exact: listed once, from Exact.
	if droppedInExact == nil || droppedInExact.Status != orders.StatusOpen || droppedInExact.ID != dropped.ID || droppedInExact.ExactID == "" {
		t.Errorf("dropped order listed as %+v; want once, OPEN from Exact, under its stable ID %s", droppedInExact, dropped.ID)
	}
	staff := 0
	for _, o := range all.Orders {
		if o.GatewayID == "" {
			staff++
		}
	}
	if staff == 0 {
		t.Errorf("no orders entered in Exact by staff were listed")
	}
	if len(all.Orders) > orders.MaxPageSize || all.HasNextPage {
		t.Fatalf("the buyer has more orders (%d) than one page holds; the test needs a smaller data set", len(all.Orders))
	}
	if all.Orders[0].ID != dropped.GatewayID && all.Orders[0].GatewayID != dropped.GatewayID {
		t.Errorf("newest order = %s; want the last one placed", all.Orders[0].ID)
	}

	t.Logf("%d orders listed, %d entered by staff", len(all.Orders), staff)

	// Paging with cursors gives the same sequence.
	var paged []string
	after := ""
	for range 100 {
		p, err := e.svc.List(ctx, a, 2, after)
		if err != nil {
			t.Fatalf("List(2, %q): %v", after, err)
		}
		for _, o := range p.Orders {
			paged = append(paged, o.ID)
		}
		if !p.HasNextPage {
			break
		}
		after = p.Cursors[len(p.Cursors)-1]
	}
	var ids []string
	for _, o := range all.Orders {
		ids = append(ids, o.ID)
	}
	if diff := cmp.Diff(ids, paged); diff != "" {
		t.Errorf("paged list (-one page +pages of 2):\n%s", diff)
	}

	// Another buyer's list has none of these.
	theirs, err := e.svc.List(ctx, other, orders.MaxPageSize, "")
	if err != nil {
		t.Fatalf("List(other): %v", err)
	}
	for _, o := range theirs.Orders {
		if seen[o.ID] {
			t.Errorf("another buyer sees order %s", o.ID)
		}
	}

	if _, err := e.svc.List(ctx, a, 101, ""); !errors.Is(err, orders.ErrInvalidPageSize) {
		t.Errorf("List(101) = %v; want ErrInvalidPageSize", err)
	}
	if _, err := e.svc.List(ctx, a, 5, "garbage!"); !errors.Is(err, orders.ErrInvalidCursor) {
		t.Errorf("List(bad cursor) = %v; want ErrInvalidCursor", err)
	}
	if p, err := e.svc.List(ctx, a, 0, ""); err != nil || len(p.Orders) != 0 {
		t.Errorf("List(0) = %+v, %v; want an empty page", p, err)
	}
}

func TestListPagesThroughEqualCreationTimes(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	b := e.buyer(gen.RuleDefaultPrice)
	items := e.sellableItems(b, 1, false)
	// The clock stands still: every order gets the same creation time.
	for i := range 5 {
		if i == 3 {
			e.sb.Faults().FailNext(1, 503) // one stays PENDING in the journal
		}
		if _, err := e.svc.Place(ctx, b, keyf("k%d", i), validate.Input{Lines: []validate.Line{lineID(items[0], "1")}}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.svc.List(ctx, b, orders.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, o := range all.Orders {
		want = append(want, o.ID)
	}
	for _, size := range []int{1, 2, 3} {
		var got []string
		after := ""
		for range 100 {
			p, err := e.svc.List(ctx, b, size, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range p.Orders {
				got = append(got, o.ID)
			}
			if !p.HasNextPage {
				break
			}
			after = p.Cursors[len(p.Cursors)-1]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pages of %d (-one page +paged):\n%s", size, diff)
		}
	}
	if len(want) < 5 {
		t.Errorf("listed %d orders; want at least the 5 placed", len(want))
	}
}
