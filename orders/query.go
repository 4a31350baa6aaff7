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

// Get returns one of the buyer's orders by the gateway's ID or by Exact's
// OrderID; either way the order carries its stable ID (Order.ID). Unknown
// IDs and other buyers' orders are ErrNotFound alike.
func (s *Service) Get(ctx context.Context, b Caller, id string) (*Order, error) {
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
	if rec.GatewayID != "" {
		// Asked by the gateway's ID: the record is the buyer's.
		applyRecord(&o, rec)
		return &o, nil
	}
	recs, err := s.o.Journal.ByAccount(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("orders.Get: %w", err)
	}
	newIdentity(recs).apply(&o)
	return &o, nil
}

// applyRecord makes o, read from Exact, the order of journal record rec:
// the gateway's ID as its stable ID, the idempotency key, and the later of
// Exact's Modified and the record's last change as Updated.
func applyRecord(o *Order, rec JournalRecord) {
	o.ID, o.GatewayID = rec.GatewayID, rec.GatewayID
	o.IdempotencyKey = rec.IdempotencyKey
	o.Updated = latest(o.Updated, rec.Updated)
}

// identity gives orders read from Exact their stable ID using the buyer's
// journal records: an order whose Remarks reference a record of the
// buyer's, or whose OrderID a written record holds (staff may have edited
// the Remarks), is the gateway's order and keeps the gateway's ID; any other
// order (entered in Exact, or a reference this gateway has no record of) is
// known by Exact's OrderID, which is then its stable ID.
type identity struct {
	byGateway, byExact map[string]JournalRecord
	// matched holds the gateway IDs of the orders apply matched.
	matched map[string]bool
}

func newIdentity(recs []JournalRecord) *identity {
	id := &identity{byGateway: make(map[string]JournalRecord, len(recs)), byExact: map[string]JournalRecord{}, matched: map[string]bool{}}
	for _, r := range recs {
		id.byGateway[r.GatewayID] = r
		if r.ExactID != "" {
			id.byExact[strings.ToLower(r.ExactID)] = r
		}
	}
	return id
}

func (id *identity) apply(o *Order) {
	rec, ok := id.byGateway[o.GatewayID]
	if !ok || o.GatewayID == "" {
		rec, ok = id.byExact[o.ExactID]
	}
	if !ok {
		o.ID, o.GatewayID, o.IdempotencyKey = o.ExactID, "", ""
		return
	}
	applyRecord(o, rec)
	id.matched[rec.GatewayID] = true
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
func (s *Service) List(ctx context.Context, b Caller, first int, after string) (*Page, error) {
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
	recs, err := s.o.Journal.ByAccount(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("orders.List: %w", err)
	}
	// Each order once: an Exact order that is the gateway's takes its
	// stable ID, and its journal record is not listed again.
	ident := newIdentity(recs)
	var fromExact []*Order
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
		ident.apply(&o)
		if !afterCursor(&o, cur) {
			continue
		}
		// Beyond first+1 orders, only finish the group of equal creation
		// times: Exact's order within such a group need not be ours.
		if n := len(fromExact); n > first && o.Created.UnixMilli() != fromExact[n-1].Created.UnixMilli() {
			break
		}
		fromExact = append(fromExact, &o)
	}
	refs := ident.matched
	all := fromExact
	for _, rec := range recs {
		if rec.State != StatePending && rec.State != StateRejected {
			continue // written: listed from Exact
		}
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
	all = s.dropLanded(ctx, account, all, cur != nil)
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

// dropLanded removes from os the PENDING orders that have in fact landed in
// Exact while the worker has not yet recorded it. On the first page such an
// order is matched above (its Exact order is newer, so it was read); on a
// later page its Exact order may sit on an earlier page, before the cursor,
// and the pending copy would list the order twice. Only later pages showing
// a pending order pay for this one search (the worker's own, by Created and
// reference). It is best effort: when Exact fails here the pending copy is
// shown, as it is to the order(id) of the same moment.
func (s *Service) dropLanded(ctx context.Context, account string, os []*Order, laterPage bool) []*Order {
	if !laterPage {
		return os
	}
	var oldest time.Time
	for _, o := range os {
		if o.Status == StatusPending && (oldest.IsZero() || o.Created.Before(oldest)) {
			oldest = o.Created
		}
	}
	if oldest.IsZero() {
		return os
	}
	found, err := s.o.Exact.OrdersSince(ctx, account, oldest.Add(-24*time.Hour))
	if err != nil {
		s.log.Debug().Err(err).Msg("orders.List: looking for landed pending orders failed; showing them as pending")
		return os
	}
	landed := map[string]bool{}
	for _, so := range found {
		if ref := refOf(so.Remarks); ref != "" {
			landed[ref] = true
		}
	}
	return slices.DeleteFunc(os, func(o *Order) bool { return o.Status == StatusPending && landed[o.GatewayID] })
}
