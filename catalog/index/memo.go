package index

import "sync"

// MaxMemoEntries bounds the values one state memoises (price inputs per
// buyer scope and item, stock per item, and what the catalog derives
// through Snapshot.Memo). A state is replaced by every batch a feed
// applies, so the bound only matters for a state that lives long while
// many buyers browse a large catalogue: past it, values are computed on
// every call and not kept.
const MaxMemoEntries = 100_000

// MemoKey names one value derived from a state: Kind says what it is (each
// user picks its own), A, B and C which one.
type MemoKey struct {
	Kind    string
	A, B, C string
}

// memo holds values computed from one state on first use. A state never
// changes, so a memoised value never goes stale; a new state starts with
// an empty memo.
type memo struct {
	mu sync.RWMutex
	m  map[MemoKey]any
}

func newMemo() *memo { return &memo{m: map[MemoKey]any{}} }

// get returns the value under k, building and keeping it on first use
// (while the memo is under MaxMemoEntries). Two goroutines may both build
// a missing value; the values are equal, and the first one kept wins.
func (c *memo) get(k MemoKey, build func() any) any {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok {
		return old
	}
	if len(c.m) < MaxMemoEntries {
		c.m[k] = v
	}
	return v
}

// Memo returns the value derived from this snapshot under k, calling build
// once per state (see MaxMemoEntries). The value is shared by every reader
// of the state: build must return something nobody changes afterwards.
func (s *Snapshot) Memo(k MemoKey, build func() any) any {
	if s.s.memo == nil { // a state literal made without one
		return build()
	}
	return s.s.memo.get(k, build)
}
