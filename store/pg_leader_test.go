package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/store"
)

// One leader at a time: the lock is a session lock on the link's own
// connection; closing it (a dead process) frees it for another replica at
// once; a store that lost the lead cannot write mirror rows any more
// (fencing), and every batch is in the change log in commit order.
func TestPostgresMirrorLeaderLockFencingAndLog(t *testing.T) {
	url := pgURL(t)
	schema := pgSchema(t, url)
	c := newClock()
	a, b := openPG(t, url, schema, c), openPG(t, url, schema, c)
	a.FenceMirror()
	b.FenceMirror()
	ctx := context.Background()
	row := func(k string) feeds.Row {
		return feeds.Row{RowKey: feeds.RowKey{Feed: "items", Key: k}, Data: []byte(`{"k":"` + k + `"}`)}
	}
	if err := a.MirrorApply(ctx, feeds.Batch{Feed: "items", Upserts: []feeds.Row{row("x")}}); !errors.Is(err, store.ErrNotMirrorLeader) {
		t.Fatalf("a fenced store wrote without leading: %v", err)
	}
	la, err := a.OpenMirrorLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.OpenMirrorLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	if ok, err := la.TryLead(ctx, "a"); !ok || err != nil {
		t.Fatalf("a TryLead = %v, %v", ok, err)
	}
	if ok, err := lb.TryLead(ctx, "b"); ok || err != nil {
		t.Fatalf("b TryLead while a leads = %v, %v; want false", ok, err)
	}
	pos0, err := b.MirrorPosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 5},
		Upserts: []feeds.Row{row("x"), row("y")}}); err != nil {
		t.Fatal(err)
	}
	// b hears the commit on its link.
	n, got, err := lb.Wait(ctx, 5*time.Second)
	if err != nil || !got || !n.Mirror {
		t.Errorf("b's link after a's commit: %+v %v %v; want a mirror notice", n, got, err)
	}
	if err := a.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 6},
		Deletes: []feeds.RowKey{{Feed: "items", Key: "x"}}}); err != nil {
		t.Fatal(err)
	}
	cs, err := b.MirrorChanges(ctx, pos0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got2 []string
	for _, e := range cs.Entries {
		s := e.Feed + ":" + e.Key
		if e.Key != "" && e.Data == nil {
			s += "(gone)"
		}
		got2 = append(got2, s)
	}
	want := []string{"items:", "items:x(gone)", "items:y", "items:", "items:x(gone)"}
	if len(got2) != len(want) {
		t.Fatalf("log after two batches = %q; want %q", got2, want)
	}
	for i := range want {
		if got2[i] != want[i] {
			t.Errorf("log entry %d = %q; want %q", i, got2[i], want[i])
		}
	}
	// a's connection ends (kill -9): the lock is free, b leads under a new
	// epoch and a's store may not write any more.
	epochA := la.Epoch()
	la.Close()
	// The server ends a's session (and frees the lock) a moment after the
	// connection closes; followers try every few seconds.
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		ok, err := lb.TryLead(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("b could not take the lead within 5 s of a's link closing")
		}
	}
	if lb.Epoch() <= epochA {
		t.Errorf("epoch %d after %d; want it to grow", lb.Epoch(), epochA)
	}
	if err := a.MirrorApply(ctx, feeds.Batch{Feed: "items", Upserts: []feeds.Row{row("z")}}); !errors.Is(err, store.ErrNotMirrorLeader) {
		t.Errorf("the old leader wrote after losing the lead: %v", err)
	}
	if err := b.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 7}, Upserts: []feeds.Row{row("z")}}); err != nil {
		t.Errorf("the new leader cannot write: %v", err)
	}
	if e, h, err := a.MirrorLeader(ctx); err != nil || e != lb.Epoch() || h != "b" {
		t.Errorf("MirrorLeader = %d %q %v", e, h, err)
	}
	// A wake-up from any replica reaches the leader's link.
	for {
		n, got, err := lb.Wait(ctx, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if !got {
			break
		}
		_ = n // drain the mirror notices
	}
	if err := a.WakeMirrorLeader(ctx, "StockPositions"); err != nil {
		t.Fatal(err)
	}
	if n, got, err := lb.Wait(ctx, 5*time.Second); err != nil || !got || n.Mirror || n.Topic != "StockPositions" {
		t.Errorf("leader's link after a wake: %+v %v %v", n, got, err)
	}
	// Waiting without a notification leaves the link usable.
	if _, got, err := lb.Wait(ctx, 100*time.Millisecond); got || err != nil {
		t.Errorf("idle Wait = %v %v", got, err)
	}
	if err := lb.Ping(ctx, time.Second); err != nil {
		t.Errorf("Ping after an idle Wait: %v", err)
	}
}
