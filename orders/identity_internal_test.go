package orders

import (
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
)

// TestIdentityStableIDs: orders read from Exact get their stable ID from
// the buyer's journal: the gateway's ID when the Remarks reference one of
// its records or a written record holds the OrderID (Remarks edited by
// staff), else Exact's OrderID (staff orders, and references this gateway
// has no record of).
func TestIdentityStableIDs(t *testing.T) {
	const (
		gwRef     = "aaaaaaaa-0000-4000-8000-000000000001"
		gwEdited  = "aaaaaaaa-0000-4000-8000-000000000002"
		gwForeign = "aaaaaaaa-0000-4000-8000-000000000003"
		exRef     = "eeeeeeee-0000-4000-8000-000000000001"
		exEdited  = "eeeeeeee-0000-4000-8000-000000000002"
		exStaff   = "eeeeeeee-0000-4000-8000-000000000003"
		exForeign = "eeeeeeee-0000-4000-8000-000000000004"
	)
	modified := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	settled := modified.Add(time.Hour)
	recs := []JournalRecord{
		{GatewayID: gwRef, IdempotencyKey: "k-ref", State: StateWritten, ExactID: exRef, Updated: settled},
		{GatewayID: gwEdited, IdempotencyKey: "k-edited", State: StateWritten, ExactID: exEdited, Updated: modified.Add(-time.Hour)},
	}
	so := func(id, remarks string) erp.SalesOrder {
		return erp.SalesOrder{OrderID: id, Remarks: remarks, Modified: erp.NewTime(modified)}
	}
	cases := []struct {
		name        string
		order       erp.SalesOrder
		id, gw, key string
		updated     time.Time
		matched     bool
	}{
		{"reference in Remarks", so(exRef, RefPrefix+gwRef+"\nback door"), gwRef, gwRef, "k-ref", settled, true},
		{"Remarks edited by staff, OrderID in the journal", so(exEdited, "call first"), gwEdited, gwEdited, "k-edited", modified, true},
		{"entered in Exact", so(exStaff, ""), exStaff, "", "", modified, false},
		{"reference this gateway has no record of", so(exForeign, RefPrefix+gwForeign), exForeign, "", "", modified, false},
	}
	ident := newIdentity(recs)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := orderFromExact(c.order, "", time.UTC)
			ident.apply(&o)
			if o.ID != c.id || o.GatewayID != c.gw || o.IdempotencyKey != c.key || o.ExactID != c.order.OrderID {
				t.Errorf("order = id %s gateway %q key %q exact %s; want id %s gateway %q key %q exact %s",
					o.ID, o.GatewayID, o.IdempotencyKey, o.ExactID, c.id, c.gw, c.key, c.order.OrderID)
			}
			if !o.Updated.Equal(c.updated) {
				t.Errorf("updated = %s; want %s", o.Updated, c.updated)
			}
			if c.gw != "" && ident.matched[c.gw] != c.matched {
				t.Errorf("matched[%s] = %t; want %t", c.gw, ident.matched[c.gw], c.matched)
			}
		})
	}
	if ident.matched[gwForeign] {
		t.Errorf("a reference without a journal record was matched")
	}
}
