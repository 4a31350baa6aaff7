package orders

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/exactql/exactql/erp"
)

// MaxPageSize is the largest page List returns.
const MaxPageSize = 100

// Page is one page of a buyer's orders, newest first.
type Page struct {
	Orders []*Order
	// Cursors[i] is the opaque cursor of Orders[i], for List's after.
	Cursors     []string
	HasNextPage bool
}

// Get returns one of the buyer's orders by Exact's OrderID or by the
// gateway's ID (which keeps answering once the order is written). Unknown
// IDs and other buyers' orders are ErrNotFound alike.
func (s *Service) Get(ctx context.Context, b Buyer, id string) (*Order, error) {
	account := strings.ToLower(strings.TrimSpace(b.Account))
	id = strings.ToLower(strings.TrimSpace(id))
	if !erp.IsGUID(account) || !erp.IsGUID(id) {
		return nil, ErrNotFound
	}
	rec, err := s.o.Journal.Record(ctx, id)
	switch {
	case err == nil:
		if rec.Account != account {
			return nil, ErrNotFound
		}
		if rec.State != StateWritten {
			o, err := s.fromRecord(rec)
			if err != nil {
				return nil, fmt.Errorf("orders.Get: %w", err)
			}
			return o, nil
		}
		id = rec.ExactID
	case !errors.Is(err, ErrNoRecord):
		return nil, fmt.Errorf("orders.Get: %w", err)
	}
	so, err := s.o.Exact.Order(ctx, account, id)
	if errors.Is(err, erp.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("orders.Get: %w", err)
	}
	o := orderFromExact(*so, rec.GatewayID, s.o.Location)
	return &o, nil
}

// newer orders a before b in the list: newest first, then by ID descending.
func newer(a, b *Order) int {
	ta, tb := a.Created.UnixMilli(), b.Created.UnixMilli()
	switch {
	case ta != tb:
		if ta > tb {
			return -1
		}
		return 1
	default:
		return -strings.Compare(a.ID, b.ID)
	}
}

// afterCursor reports whether o comes after the cursor's position.
func afterCursor(o *Order, c *cursor) bool {
	if c == nil {
		return true
	}
	t := o.Created.UnixMilli()
	return t < c.T || (t == c.T && o.ID < c.ID)
}

// List returns a page of the buyer's orders, newest first: the orders in
// Exact (OrderedBy = the account, including those entered by staff) merged
// with the journal's PENDING and REJECTED orders, each with its lines.
// first is 0..MaxPageSize; after is a cursor from an earlier page.
func (s *Service) List(ctx context.Context, b Buyer, first int, after string) (*Page, error) {
	account := strings.ToLower(strings.TrimSpace(b.Account))
	if !erp.IsGUID(account) {
		return nil, ErrForbidden
	}
	if first < 0 || first > MaxPageSize {
		return nil, ErrInvalidPageSize
	}
	var cur *cursor
	if after != "" {
		var err error
		if cur, err = s.decodeCursor(account, after); err != nil {
			return nil, err
		}
	}
	page := &Page{}
	if first == 0 {
		return page, nil
	}

	var before time.Time
	if cur != nil {
		// datetime literals have whole seconds: ask a little wider and
		// drop what the cursor has passed.
		before = time.UnixMilli(cur.T).Truncate(time.Second).Add(time.Second)
	}
	var fromExact []*Order
	refs := map[string]bool{}
	for so, err := range s.o.Exact.Orders(ctx, account, before) {
		if err != nil {
			var ee *erp.Error
			if cur != nil && errors.As(err, &ee) && ee.StatusCode == http.StatusBadRequest {
				// Only the cursor's bound came from the caller: Exact
				// refusing the query is the caller's input (a 400 also
				// counts toward Exact's error block, which the signed,
				// validated cursor exists to prevent).
				return nil, ErrInvalidCursor
			}
			return nil, fmt.Errorf("orders.List: %w", err)
		}
		o := orderFromExact(*so, "", s.o.Location)
		if !afterCursor(&o, cur) {
			continue
		}
		// Beyond first+1 orders, only finish the group of equal creation
		// times: Exact's order within such a group need not be ours.
		if n := len(fromExact); n > first && o.Created.UnixMilli() != fromExact[n-1].Created.UnixMilli() {
			break
		}
		if o.GatewayID != "" {
			refs[o.GatewayID] = true
		}
		fromExact = append(fromExact, &o)
	}
	recs, err := s.o.Journal.ByAccount(ctx, account, StatePending, StateRejected)
	if err != nil {
		return nil, fmt.Errorf("orders.List: %w", err)
	}
	all := fromExact
	for _, rec := range recs {
		if refs[rec.GatewayID] {
			continue // landed in Exact already; shown from there
		}
		o, err := s.fromRecord(rec)
		if err != nil {
			return nil, fmt.Errorf("orders.List: %w", err)
		}
		if afterCursor(o, cur) {
			all = append(all, o)
		}
	}
	slices.SortStableFunc(all, newer)
	if len(all) > first {
		all, page.HasNextPage = all[:first], true
	}

	var ids []string
	for _, o := range all {
		if o.ExactID != "" {
			ids = append(ids, o.ExactID)
		}
	}
	if len(ids) > 0 {
		lines, err := s.o.Exact.Lines(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("orders.List: %w", err)
		}
		byOrder := map[string][]erp.SalesOrderLine{}
		for _, l := range lines {
			k := strings.ToLower(l.OrderID)
			byOrder[k] = append(byOrder[k], l)
		}
		for _, o := range all {
			if o.ExactID != "" {
				setLines(o, byOrder[o.ExactID])
			}
		}
	}
	page.Orders = all
	for _, o := range all {
		page.Cursors = append(page.Cursors, s.encodeCursor(account, o))
	}
	return page, nil
}
