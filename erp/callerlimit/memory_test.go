package callerlimit

import (
	"context"
	"testing"
	"time"
)

type keyCtx struct{}

func TestMemoryIsBounded(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	l, err := New(2, func(ctx context.Context) string { s, _ := ctx.Value(keyCtx{}).(string); return s },
		func() time.Time { return now })
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	l.maxCallers = 3
	as := func(k string) context.Context { return context.WithValue(context.Background(), keyCtx{}, k) }

	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if err := l.Allow(as(k)); err != nil {
			t.Fatalf("Allow(%s): %v", k, err)
		}
	}
	if got := l.Callers(); got != 3 {
		t.Errorf("Callers() with cap 3 after 5 callers = %d, want 3", got)
	}

	// A minute later every bucket is full again: the sweep forgets them all
	// and only the new caller remains.
	now = now.Add(time.Minute)
	if err := l.Allow(as("f")); err != nil {
		t.Fatalf("Allow(f): %v", err)
	}
	if got := l.Callers(); got != 1 {
		t.Errorf("Callers() after idle minute = %d, want 1", got)
	}

	// A caller that is still spending is kept by the next sweep.
	now = now.Add(30 * time.Second)
	for range 2 {
		if err := l.Allow(as("f")); err != nil {
			t.Fatalf("Allow(f): %v", err)
		}
	}
	now = now.Add(30 * time.Second) // sweep due; f has regained only one call
	if err := l.Allow(as("g")); err != nil {
		t.Fatalf("Allow(g): %v", err)
	}
	if got := l.Callers(); got != 2 {
		t.Errorf("Callers() = %d, want 2 (f not yet refilled, g new)", got)
	}
}
