package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/catalog/feeds/feedstest"
	"github.com/exactql/exactql/store"
)

func TestMirrorContract(t *testing.T) {
	feedstest.Run(t, func(t *testing.T) (feeds.Store, func() feeds.Store) {
		dir := t.TempDir()
		s := open(t, dir, newClock())
		return s, func() feeds.Store { return open(t, dir, newClock()) }
	})
}

// TestMirrorApplyAtomic: a failed commit leaves rows and watermark as they were.
func TestMirrorApplyAtomic(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), newClock())
	row := func(k string) feeds.Row {
		return feeds.Row{RowKey: feeds.RowKey{Feed: "items", Key: k}, Data: []byte("{}")}
	}
	if err := s.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 1}, Upserts: []feeds.Row{row("a")}}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	s.FailWrites(func(op string) error {
		if op == store.OpMirrorApply {
			return boom
		}
		return nil
	})
	err := s.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 2}, Upserts: []feeds.Row{row("b")},
		Deletes: []feeds.RowKey{{Feed: "items", Key: "a"}}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	s.FailWrites(nil)
	st, _ := s.MirrorStates(ctx)
	var keys []string
	_ = s.MirrorRows(ctx, "items", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if st["items"].Watermark != 1 || len(keys) != 1 || keys[0] != "a" {
		t.Errorf("after a failed apply: %v %v", st, keys)
	}
	// A cancelled context commits nothing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.MirrorApply(cancelled, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 3}, Upserts: []feeds.Row{row("c")}}); err == nil {
		t.Error("apply with a cancelled context succeeded")
	}
	st, _ = s.MirrorStates(ctx)
	if st["items"].Watermark != 1 {
		t.Errorf("watermark after a cancelled apply: %d", st["items"].Watermark)
	}
}
