package server

import (
	"container/list"
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// byteLRU is a least-recently-used cache bounded by an estimate of the
// memory its entries keep, not by their number (issue 17 item 6: 1,000
// entries of up to 1 MB each were allowed before). An entry larger than an
// eighth of the budget is not kept, so one huge document cannot evict every
// other.
type byteLRU[T any] struct {
	maxBytes int64
	size     func(key string, v T) int64

	mu    sync.Mutex
	bytes int64
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type byteEntry[T any] struct {
	key  string
	val  T
	size int64
}

var _ graphql.Cache[string] = (*byteLRU[string])(nil)

func newByteLRU[T any](maxBytes int64, size func(key string, v T) int64) *byteLRU[T] {
	return &byteLRU[T]{maxBytes: maxBytes, size: size, order: list.New(), items: map[string]*list.Element{}}
}

// Get implements graphql.Cache.
func (c *byteLRU[T]) Get(_ context.Context, key string) (T, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		var zero T
		return zero, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*byteEntry[T]).val, true
}

// Add implements graphql.Cache.
func (c *byteLRU[T]) Add(_ context.Context, key string, v T) {
	n := c.size(key, v)
	if n > c.maxBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		e := el.Value.(*byteEntry[T])
		c.bytes += n - e.size
		e.val, e.size = v, n
		c.order.MoveToFront(el)
	} else {
		c.items[key] = c.order.PushFront(&byteEntry[T]{key: key, val: v, size: n})
		c.bytes += n
	}
	for c.bytes > c.maxBytes {
		el := c.order.Back()
		e := el.Value.(*byteEntry[T])
		c.order.Remove(el)
		delete(c.items, e.key)
		c.bytes -= e.size
	}
}

// stats returns the number of entries and their estimated bytes.
func (c *byteLRU[T]) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.bytes
}

// Per-node and per-entry sizes of the estimates, measured with
// runtime.ReadMemStats on parsed and validated documents
// (TestDocumentSizeEstimate): 180 to 420 bytes per selection, argument or
// value, about 25 bytes per byte of query text.
const (
	entryOverhead = 256
	astNodeBytes  = 480
)

// documentBytes estimates the memory a cached query document keeps: its
// key (the query text) and its syntax tree.
func documentBytes(key string, doc *ast.QueryDocument) int64 {
	n := 0
	for _, op := range doc.Operations {
		n += 1 + len(op.VariableDefinitions) + len(op.Directives) + setNodes(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		n += 1 + len(f.Directives) + setNodes(f.SelectionSet)
	}
	return entryOverhead + int64(len(key)) + int64(n)*astNodeBytes
}

func setNodes(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		n++
		switch s := sel.(type) {
		case *ast.Field:
			for _, a := range s.Arguments {
				n += 1 + valueNodes(a.Value)
			}
			n += len(s.Directives) + setNodes(s.SelectionSet)
		case *ast.InlineFragment:
			n += len(s.Directives) + setNodes(s.SelectionSet)
		case *ast.FragmentSpread:
			n += len(s.Directives)
		}
	}
	return n
}

func valueNodes(v *ast.Value) int {
	if v == nil {
		return 0
	}
	n := 1
	for _, c := range v.Children {
		n += valueNodes(c.Value)
	}
	return n
}

// persistedQueryBytes estimates the memory of a persisted query: its hash
// and its text.
func persistedQueryBytes(key, query string) int64 {
	return entryOverhead + int64(len(key)+len(query))
}
