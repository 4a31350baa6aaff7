// Package feedstest holds the contract every feeds.Store implementation
// must pass (SQLite today, PostgreSQL later): run it from the
// implementation's tests.
package feedstest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/catalog/feeds"
)

// Open returns a store and a function that reopens it (a restart: a new
// handle on the same durable data).
type Open func(t *testing.T) (feeds.Store, func() feeds.Store)

func rows(t *testing.T, s feeds.Store, feed string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := s.MirrorRows(context.Background(), feed, func(k string, d []byte) error {
		out[k] = string(d)
		return nil
	}); err != nil {
		t.Fatalf("MirrorRows(%s): %v", feed, err)
	}
	return out
}

func row(feed, key, data string) feeds.Row {
	return feeds.Row{RowKey: feeds.RowKey{Feed: feed, Key: key}, Data: []byte(data)}
}

// Run runs the contract against the store open returns.
func Run(t *testing.T, open Open) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	t.Run("apply, read back, restart", func(t *testing.T) {
		s, reopen := open(t)
		if st, err := s.MirrorStates(ctx); err != nil || len(st) != 0 {
			t.Fatalf("new store: %v, %v", st, err)
		}
		b := feeds.Batch{Feed: "items", State: feeds.State{Watermark: 10, SyncedAt: at},
			Upserts: []feeds.Row{row("items", "a", `{"ID":"a"}`), row("items", "b", `{"ID":"b"}`)}}
		if err := s.MirrorApply(ctx, b); err != nil {
			t.Fatal(err)
		}
		b = feeds.Batch{Feed: "items", State: feeds.State{Watermark: 12, Complete: true, SyncedAt: at.Add(time.Minute)},
			Upserts: []feeds.Row{row("items", "b", `{"ID":"b","v":2}`)}}
		if err := s.MirrorApply(ctx, b); err != nil {
			t.Fatal(err)
		}
		for _, st := range []feeds.Store{s, reopen()} {
			if diff := cmp.Diff(map[string]string{"a": `{"ID":"a"}`, "b": `{"ID":"b","v":2}`}, rows(t, st, "items")); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			states, err := st.MirrorStates(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]feeds.State{"items": {Watermark: 12, Complete: true, SyncedAt: at.Add(time.Minute)}}
			if diff := cmp.Diff(want, states); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
		}
	})

	t.Run("deletes across feeds with the deleted feed's state", func(t *testing.T) {
		s, _ := open(t)
		for _, b := range []feeds.Batch{
			{Feed: "items", State: feeds.State{Watermark: 5}, Upserts: []feeds.Row{row("items", "a", "1"), row("items", "b", "1")}},
			{Feed: "prices", State: feeds.State{Watermark: 6}, Upserts: []feeds.Row{row("prices", "p", "1")}},
			{Feed: "deleted", State: feeds.State{Watermark: 9, Complete: true},
				Deletes: []feeds.RowKey{{Feed: "items", Key: "a"}, {Feed: "prices", Key: "p"}, {Feed: "prices", Key: "unknown"}}},
		} {
			if err := s.MirrorApply(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(map[string]string{"b": "1"}, rows(t, s, "items")); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
		if got := rows(t, s, "prices"); len(got) != 0 {
			t.Errorf("prices: %v", got)
		}
		if st, _ := s.MirrorStates(ctx); st["deleted"].Watermark != 9 || st["items"].Watermark != 5 {
			t.Errorf("states %v", st)
		}
	})

	t.Run("replace drops rows not read again", func(t *testing.T) {
		s, _ := open(t)
		_ = s.MirrorApply(ctx, feeds.Batch{Feed: "groups", Upserts: []feeds.Row{row("groups", "x", "1"), row("groups", "y", "1")}})
		_ = s.MirrorApply(ctx, feeds.Batch{Feed: "other", Upserts: []feeds.Row{row("other", "x", "1")}})
		if err := s.MirrorApply(ctx, feeds.Batch{Feed: "groups", Replace: true, State: feeds.State{Watermark: 1, Complete: true},
			Upserts: []feeds.Row{row("groups", "y", "2"), row("groups", "z", "2")}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"y": "2", "z": "2"}, rows(t, s, "groups")); diff != "" {
			t.Errorf("groups (-want +got):\n%s", diff)
		}
		if len(rows(t, s, "other")) != 1 {
			t.Error("replace touched another feed")
		}
	})

	t.Run("bad batch changes nothing", func(t *testing.T) {
		s, _ := open(t)
		_ = s.MirrorApply(ctx, feeds.Batch{Feed: "items", State: feeds.State{Watermark: 3}, Upserts: []feeds.Row{row("items", "a", "1")}})
		for name, b := range map[string]feeds.Batch{
			"no feed":  {State: feeds.State{Watermark: 99}},
			"no key":   {Feed: "items", State: feeds.State{Watermark: 99}, Upserts: []feeds.Row{row("items", "b", "1"), row("items", "", "1")}},
			"no data":  {Feed: "items", State: feeds.State{Watermark: 99}, Upserts: []feeds.Row{row("items", "b", "")}},
			"row feed": {Feed: "items", State: feeds.State{Watermark: 99}, Upserts: []feeds.Row{row("", "b", "1")}},
		} {
			if err := s.MirrorApply(ctx, b); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		if st, _ := s.MirrorStates(ctx); st["items"].Watermark != 3 {
			t.Errorf("watermark moved: %v", st)
		}
		if diff := cmp.Diff(map[string]string{"a": "1"}, rows(t, s, "items")); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
	})
}
