package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/catalog/feeds/feedstest"
	"github.com/exactql/exactql/store"
)

// TestPostgresMirrorContract runs the mirror store's contract (the same one
// TestMirrorContract runs on SQLite) on PostgreSQL: the reopened store is
// another replica on the same schema.
func TestPostgresMirrorContract(t *testing.T) {
	feedstest.Run(t, func(t *testing.T) (feeds.Store, func() feeds.Store) {
		url := pgURL(t)
		schema := pgSchema(t, url)
		c := newClock()
		s := openPG(t, url, schema, c)
		return s, func() feeds.Store { return openPG(t, url, schema, c) }
	})
}

// A failed or cancelled apply leaves rows and watermark as they were, on
// both backends; keys come back in byte order on both.
func TestPostgresContractMirrorApplyAtomic(t *testing.T) {
	forBackends(t, func(t *testing.T, b backend) {
		h := b.open(t, newClock(), 2)
		s, other := h[0].(feeds.Store), h[1].(feeds.Store)
		ctx := context.Background()
		row := func(k string) feeds.Row {
			return feeds.Row{RowKey: feeds.RowKey{Feed: "items", Key: k}, Data: []byte("{}")}
		}
		if err := s.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 1},
			Upserts: []feeds.Row{row("a"), row("B"), row("_c")}}); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("disk full")
		h[0].FailWrites(func(op string) error {
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
		h[0].FailWrites(nil)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.MirrorApply(cancelled, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 3}, Upserts: []feeds.Row{row("c")}}); err == nil {
			t.Error("apply with a cancelled context succeeded")
		}
		st, err := other.MirrorStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		if err := other.MirrorRows(ctx, "items", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
			t.Fatal(err)
		}
		if st["items"].Watermark != 1 || len(keys) != 3 || keys[0] != "B" || keys[1] != "_c" || keys[2] != "a" {
			t.Errorf("after a failed and a cancelled apply: %v %q; want watermark 1 and B, _c, a", st, keys)
		}
	})
}
