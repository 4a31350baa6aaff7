package cache

import (
	"context"
	"sync/atomic"
)

// staleKey is the context key of a request's stale tracker.
type staleKey struct{}

// WithStaleTracker returns a context that records whether any value served
// under it was stale. The GraphQL layer installs one per request and sets
// extensions.stale when WasStale reports true.
func WithStaleTracker(ctx context.Context) context.Context {
	return context.WithValue(ctx, staleKey{}, new(atomic.Bool))
}

// MarkStale records on ctx's tracker that a stale value was served. It does
// nothing when ctx has no tracker.
func MarkStale(ctx context.Context) {
	if t, ok := ctx.Value(staleKey{}).(*atomic.Bool); ok && !t.Load() {
		t.Store(true)
	}
}

// WasStale reports whether MarkStale was called on ctx's tracker.
func WasStale(ctx context.Context) bool {
	t, ok := ctx.Value(staleKey{}).(*atomic.Bool)
	return ok && t.Load()
}
