package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/store"
)

// TestNotifyingJournal: every journal write to an order names its buyer,
// after the write, whether this process accepted or claimed it or not.
func TestNotifyingJournal(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var got []string
	j := newNotifyingJournal(st, func(account string) { got = append(got, account) })
	ctx := t.Context()
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	const acct = "1f0e8c2a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
	rec := orders.JournalRecord{GatewayID: "7d3c5a2e-0000-4000-8000-000000000001", Account: acct, IdempotencyKey: "k1",
		Fingerprint: "f", State: orders.StatePending, Doc: []byte("{}"), Attempts: 1, Created: now, FirstAttempt: now,
		Updated: now, LeaseOwner: "o1", LeaseUntil: now.Add(time.Minute)}
	if _, created, err := j.Accept(ctx, rec); err != nil || !created {
		t.Fatalf("Accept = %v, %v", created, err)
	}
	// The same key again writes nothing and tells nobody.
	if _, created, err := j.Accept(ctx, rec); err != nil || created {
		t.Fatalf("second Accept = %v, %v", created, err)
	}
	if err := j.Settle(ctx, rec.GatewayID, "o1", orders.Settlement{State: orders.StatePending, NextAttempt: now, At: now}); err != nil {
		t.Fatal(err)
	}
	// A claim tells nobody (nothing a buyer sees changes); its settlement does.
	if _, ok, err := j.Claim(ctx, rec.GatewayID, "o2", now.Add(2*time.Minute), now.Add(4*time.Minute)); err != nil || !ok {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	if err := j.Settle(ctx, rec.GatewayID, "o2", orders.Settlement{State: orders.StateWritten, ExactID: "e1", OrderNumber: 1, At: now}); err != nil {
		t.Fatal(err)
	}
	// A journal wrapped afresh (another process's order) finds the account.
	j2 := newNotifyingJournal(st, func(account string) { got = append(got, "j2:"+account) })
	_ = j2.Settle(ctx, rec.GatewayID, "o3", orders.Settlement{State: orders.StateWritten, ExactID: "e1", OrderNumber: 1, At: now})
	if diff := cmp.Diff([]string{acct, acct, acct, "j2:" + acct}, got); diff != "" {
		t.Errorf("buyers told (-want +got):\n%s", diff)
	}
	if len(j.accounts) != 0 {
		t.Errorf("settled orders still remembered: %v", j.accounts)
	}
}
