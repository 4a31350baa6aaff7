package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/store"
)

var jt0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

const acctA = "aaaaaaaa-0000-4000-8000-000000000001"

func openJournal(t *testing.T, dir string) *store.SQLite {
	t.Helper()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func rec(id, key string, created time.Time) orders.JournalRecord {
	return orders.JournalRecord{
		GatewayID: id, Account: acctA, IdempotencyKey: key, Fingerprint: "fp-" + key, State: orders.StatePending,
		Doc: []byte(`{"order":{}}`), Attempts: 1, Created: created, FirstAttempt: created, Updated: created,
		LeaseOwner: "placer", LeaseUntil: created.Add(time.Minute),
	}
}

func TestJournalAcceptAndSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openJournal(t, dir)
	r := rec("g1", "k1", jt0)
	got, created, err := s.Accept(ctx, r)
	if err != nil || !created {
		t.Fatalf("Accept = %v, %v; want created", created, err)
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("Accept returned (-want +got):\n%s", diff)
	}
	// The same key (other ID, other fingerprint) returns the first record.
	dup := rec("g2", "k1", jt0.Add(time.Second))
	got, created, err = s.Accept(ctx, dup)
	if err != nil || created || got.GatewayID != "g1" || got.Fingerprint != "fp-k1" {
		t.Fatalf("Accept(dup) = %+v, %v, %v; want the first record, not created", got, created, err)
	}
	if _, err := s.Record(ctx, "g2"); !errors.Is(err, orders.ErrNoRecord) {
		t.Errorf("Record(g2) = %v; want ErrNoRecord", err)
	}
	// The key is per account.
	other := rec("g3", "k1", jt0)
	other.Account = "bbbbbbbb-0000-4000-8000-000000000002"
	if _, created, err := s.Accept(ctx, other); err != nil || !created {
		t.Errorf("Accept(other account, same key) = %v, %v; want created", created, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openJournal(t, dir)
	back, err := s2.ByKey(ctx, acctA, "k1")
	if err != nil {
		t.Fatalf("ByKey after restart: %v", err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("after restart (-want +got):\n%s", diff)
	}
	if _, err := s2.ByKey(ctx, acctA, "nope"); !errors.Is(err, orders.ErrNoRecord) {
		t.Errorf("ByKey(unknown) = %v; want ErrNoRecord", err)
	}
	sum, err := s2.Pending(ctx)
	if err != nil || sum.Count != 2 || !sum.Oldest.Equal(jt0) {
		t.Errorf("Pending = %+v, %v; want 2, oldest %s", sum, err, jt0)
	}
}

func TestJournalConcurrentAcceptCollapses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Two handles on one file stand for two gateway processes.
	handles := []*store.SQLite{openJournal(t, dir), openJournal(t, dir)}
	const n = 20
	var wg sync.WaitGroup
	ids := make([]string, n)
	createdCount := make([]bool, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, created, err := handles[i%2].Accept(ctx, rec(fmt.Sprintf("g%d", i), "same", jt0))
			if err != nil {
				t.Errorf("Accept %d: %v", i, err)
				return
			}
			ids[i], createdCount[i] = got.GatewayID, created
		}()
	}
	wg.Wait()
	created := 0
	for i := range n {
		if createdCount[i] {
			created++
		}
		if ids[i] != ids[0] {
			t.Errorf("Accept %d got %s; want %s", i, ids[i], ids[0])
		}
	}
	if created != 1 {
		t.Errorf("%d records created; want 1", created)
	}
}

func TestJournalClaimLeaseAndSettle(t *testing.T) {
	ctx := context.Background()
	s := openJournal(t, t.TempDir())
	if _, _, err := s.Accept(ctx, rec("g1", "k1", jt0)); err != nil {
		t.Fatal(err)
	}
	// The placer's lease is live: nobody else may claim, and it is not due.
	if _, ok, err := s.Claim(ctx, "g1", "w1", jt0.Add(time.Second), jt0.Add(time.Minute)); err != nil || ok {
		t.Fatalf("Claim during the placer's lease = %v, %v; want refused", ok, err)
	}
	if due, err := s.Due(ctx, jt0.Add(time.Second), 10); err != nil || len(due) != 0 {
		t.Errorf("Due during the lease = %d, %v; want none", len(due), err)
	}
	// A pending settlement by someone else is refused.
	if err := s.Settle(ctx, "g1", "w1", orders.Settlement{State: orders.StatePending, At: jt0}); !errors.Is(err, orders.ErrLeaseLost) {
		t.Errorf("Settle(pending) by a non-holder = %v; want ErrLeaseLost", err)
	}
	// The holder records an unknown outcome with a next attempt.
	next := jt0.Add(30 * time.Second)
	if err := s.Settle(ctx, "g1", "placer", orders.Settlement{State: orders.StatePending, LastError: "503", NextAttempt: next, At: jt0}); err != nil {
		t.Fatalf("Settle(pending): %v", err)
	}
	if due, _ := s.Due(ctx, next.Add(-time.Millisecond), 10); len(due) != 0 {
		t.Errorf("due before its next attempt")
	}
	due, err := s.Due(ctx, next, 10)
	if err != nil || len(due) != 1 || due[0].LastError != "503" || due[0].LeaseOwner != "" {
		t.Fatalf("Due = %+v, %v; want g1 without a lease", due, err)
	}
	// Exactly one of two workers gets it.
	got, ok1, err := s.Claim(ctx, "g1", "w1", next, next.Add(time.Minute))
	if err != nil || !ok1 || got.Attempts != 2 || !got.FirstAttempt.Equal(jt0) {
		t.Fatalf("Claim(w1) = %+v, %v, %v; want claimed as attempt 2", got, ok1, err)
	}
	if _, ok2, err := s.Claim(ctx, "g1", "w2", next, next.Add(time.Minute)); err != nil || ok2 {
		t.Fatalf("Claim(w2) while w1 holds it = %v, %v; want refused", ok2, err)
	}
	// w1 crashes; after its lease w2 takes over.
	later := next.Add(time.Minute + time.Millisecond)
	if due, _ := s.Due(ctx, later, 10); len(due) != 1 {
		t.Errorf("an expired lease is not due")
	}
	if _, ok2, err := s.Claim(ctx, "g1", "w2", later, later.Add(time.Minute)); err != nil || !ok2 {
		t.Fatalf("Claim(w2) after the lease = %v, %v; want claimed", ok2, err)
	}
	// A written outcome is recorded even from the old holder (it is a fact
	// about Exact), and is final.
	if err := s.Settle(ctx, "g1", "w1", orders.Settlement{State: orders.StateWritten, ExactID: "e1", OrderNumber: 42, At: later}); err != nil {
		t.Fatalf("Settle(written): %v", err)
	}
	if err := s.Settle(ctx, "g1", "w2", orders.Settlement{State: orders.StateRejected, RejectionReason: "late", At: later}); err != nil {
		t.Fatalf("Settle after written: %v", err)
	}
	final, err := s.Record(ctx, "g1")
	if err != nil || final.State != orders.StateWritten || final.ExactID != "e1" || final.OrderNumber != 42 || final.LeaseOwner != "" {
		t.Errorf("Record = %+v, %v; want written e1/42 without a lease", final, err)
	}
	if _, ok, _ := s.Claim(ctx, "g1", "w3", later.Add(time.Hour), later.Add(2*time.Hour)); ok {
		t.Errorf("a written order was claimable")
	}
	if sum, _ := s.Pending(ctx); sum.Count != 0 || !sum.Oldest.IsZero() {
		t.Errorf("Pending = %+v; want none", sum)
	}
}

func TestJournalByAccountAndDueOrder(t *testing.T) {
	ctx := context.Background()
	s := openJournal(t, t.TempDir())
	for i, st := range []string{orders.StatePending, orders.StateRejected, orders.StatePending, orders.StateWritten} {
		r := rec(fmt.Sprintf("g%d", i), fmt.Sprintf("k%d", i), jt0.Add(time.Duration(i)*time.Second))
		r.LeaseOwner, r.LeaseUntil = "", time.Time{}
		if _, _, err := s.Accept(ctx, r); err != nil {
			t.Fatal(err)
		}
		if st != orders.StatePending {
			if err := s.Settle(ctx, r.GatewayID, "", orders.Settlement{State: st, At: jt0}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := func(rs []orders.JournalRecord) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.GatewayID)
		}
		return out
	}
	got, err := s.ByAccount(ctx, acctA, orders.StatePending, orders.StateRejected)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"g2", "g1", "g0"}, ids(got)); diff != "" {
		t.Errorf("ByAccount(pending, rejected) newest first (-want +got):\n%s", diff)
	}
	all, _ := s.ByAccount(ctx, acctA)
	if len(all) != 4 {
		t.Errorf("ByAccount() = %d records; want 4", len(all))
	}
	due, err := s.Due(ctx, jt0.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"g0", "g2"}, ids(due)); diff != "" {
		t.Errorf("Due oldest first (-want +got):\n%s", diff)
	}
	if due, _ := s.Due(ctx, jt0.Add(time.Hour), 1); len(due) != 1 {
		t.Errorf("Due(limit 1) = %d records", len(due))
	}
}

func TestJournalWriteFaults(t *testing.T) {
	ctx := context.Background()
	s := openJournal(t, t.TempDir())
	boom := errors.New("disk full")
	s.FailWrites(func(op string) error {
		if op == store.OpJournalAccept {
			return boom
		}
		return nil
	})
	if _, _, err := s.Accept(ctx, rec("g1", "k1", jt0)); !errors.Is(err, boom) {
		t.Fatalf("Accept = %v; want the injected fault", err)
	}
	s.FailWrites(nil)
	if _, err := s.ByKey(ctx, acctA, "k1"); !errors.Is(err, orders.ErrNoRecord) {
		t.Errorf("a failed Accept left a record (%v)", err)
	}
	if _, created, err := s.Accept(ctx, rec("g1", "k1", jt0)); err != nil || !created {
		t.Errorf("Accept after the fault = %v, %v", created, err)
	}
}
