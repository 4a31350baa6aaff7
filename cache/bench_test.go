package cache

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

func BenchmarkGetHitParallel(b *testing.B) {
	c, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var loads atomic.Int64
	load := func(context.Context) (string, error) {
		loads.Add(1)
		return "value", nil
	}
	key := Key(1, "item", "bench")
	if _, err := Get(ctx, c, kindItem, key, load, nil); err != nil {
		b.Fatal(err)
	}
	settle(c)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Get(ctx, c, kindItem, key, load, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if n := loads.Load(); n != 1 {
		b.Errorf("loads = %d, want 1 (hit path loaded)", n)
	}
}

func BenchmarkGetMany60Hits(b *testing.B) {
	c, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = Key(1, "item", strconv.Itoa(i))
	}
	var loads atomic.Int64
	load := func(_ context.Context, missing []string) (map[string]int, error) {
		loads.Add(1)
		out := make(map[string]int, len(missing))
		for _, k := range missing {
			out[k] = len(k)
		}
		return out, nil
	}
	if _, _, err := GetMany(ctx, c, kindItem, keys, load, nil); err != nil {
		b.Fatal(err)
	}
	settle(c)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := GetMany(ctx, c, kindItem, keys, load, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if n := loads.Load(); n != 1 {
		b.Errorf("loads = %d, want 1 (hit path loaded)", n)
	}
}
