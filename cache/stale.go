package cache

import (
	"context"
	"sync/atomic"
	"time"
)

// staleKey is the context key of a request's stale tracker.
type staleKey struct{}

// WithStaleTracker returns a context that records whether any value served
// under it was stale. The GraphQL layer installs one per request and sets
// extensions.stale when WasStale reports true.
func WithStaleTracker(ctx context.Context) context.Context {
	return context.WithValue(ctx, staleKey{}, new(staleTracker))
}

// staleTracker records that a request used stale data, and the age of the
// oldest such data in nanoseconds (0 when unknown).
type staleTracker struct {
	stale  atomic.Bool
	maxAge atomic.Int64
}

// MarkStaleAge records on ctx's tracker that data of the given age (older
// than its freshness bound) was served. It does nothing without a tracker.
func MarkStaleAge(ctx context.Context, age time.Duration) {
	t, ok := ctx.Value(staleKey{}).(*staleTracker)
	if !ok {
		return
	}
	t.stale.Store(true)
	for {
		cur := t.maxAge.Load()
		if int64(age) <= cur || t.maxAge.CompareAndSwap(cur, int64(age)) {
			return
		}
	}
}

// StaleAge returns the age of the oldest stale data served under ctx
// (0 when none, or when its age is unknown).
func StaleAge(ctx context.Context) time.Duration {
	if t, ok := ctx.Value(staleKey{}).(*staleTracker); ok {
		return time.Duration(t.maxAge.Load())
	}
	return 0
}

// markServed marks ctx stale for an expired entry of kind k served at now,
// when the entry is older than the kind's freshness bound.
func markServed(ctx context.Context, k Kind, e *entry, now time.Time) {
	age := now.Sub(e.storedAt)
	if k.StaleAfter > 0 && age <= k.StaleAfter {
		return
	}
	MarkStaleAge(ctx, max(age, 0))
}

// MarkStale records on ctx's tracker that a stale value was served. It does
// nothing when ctx has no tracker.
func MarkStale(ctx context.Context) {
	if t, ok := ctx.Value(staleKey{}).(*staleTracker); ok {
		t.stale.Store(true)
	}
}

// WasStale reports whether MarkStale was called on ctx's tracker.
func WasStale(ctx context.Context) bool {
	t, ok := ctx.Value(staleKey{}).(*staleTracker)
	return ok && t.stale.Load()
}
