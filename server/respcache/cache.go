// Package respcache keeps whole answers of read-only GraphQL operations in
// memory, per price scope, so a repeated page costs a lookup instead of an
// execution (issue 15 item 3).
//
// An answer is served again only while everything it was computed from is
// known to be unchanged:
//
//   - the data generation, bumped by BumpData (the lead wires it to the
//     mirror's apply and to writes of the read cache) and by Invalidate;
//   - the buyer's generation, bumped by BumpBuyer when the buyer's own
//     orders change (journal writes, so viewer.orders is never behind);
//   - the date in the division's time zone (prices are valid per day);
//   - a short maximum age (Options.TTL) for what cannot be tracked, such as
//     answers read live from Exact.
//
// Generations are read before an answer is computed, so a change that lands
// while it is being computed leaves the stored answer already outdated.
// Mutations and subscriptions are never looked up or stored, nor is any
// answer that carried an error or an extension (extensions.stale among
// them). Keys always carry the price scope (see NewKey): a buyer's answer
// is never served to another buyer or to the public.
package respcache

import (
	"container/list"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options' zero values.
const (
	// DefaultMaxBytes bounds the memory the answers take.
	DefaultMaxBytes = 32 << 20
	// DefaultTTL is the longest an answer is served.
	DefaultTTL = 30 * time.Second
)

// shardCount spreads entries over independently locked LRUs, so concurrent
// hits do not queue on one mutex.
const shardCount = 16

// entryOverhead is the estimated memory of an entry beside its body (the
// entry, its list element, its map slot and the content type).
const entryOverhead = 256

// Options configure New.
type Options struct {
	// MaxBytes bounds the estimated memory of all entries; least recently
	// used entries are dropped to stay within it. An answer larger than
	// MaxBytes/64 is not stored. 0 means DefaultMaxBytes.
	MaxBytes int64
	// TTL is the longest an answer is served (0 means DefaultTTL).
	TTL time.Duration
	// Location is the division's time zone: answers computed before
	// midnight there are not served after it (nil means UTC).
	Location *time.Location
	// Now is the clock (nil means time.Now).
	Now func() time.Time
}

// Stats are the cache's counters.
type Stats struct {
	// Hits are answers served from the cache.
	Hits uint64
	// Misses are keyed lookups that found no servable answer.
	Misses uint64
	// Bytes is the estimated memory the entries take now.
	Bytes int64
	// Entries is the number of entries held now.
	Entries int
}

// Cache holds answers. It is safe for concurrent use; the methods that
// invalidate may also be called on a nil *Cache (they do nothing), so a
// gateway with the cache off can wire them unconditionally.
type Cache struct {
	maxEntry int64
	ttl      time.Duration
	loc      *time.Location
	now      func() time.Time

	data   atomic.Uint64
	buyers [buyerStripes]atomic.Uint64
	shards [shardCount]shard

	hits, misses atomic.Uint64
}

// New returns a Cache. A negative MaxBytes or TTL is an error.
func New(o Options) (*Cache, error) {
	switch {
	case o.MaxBytes < 0:
		return nil, errors.New("respcache.New: MaxBytes must not be negative")
	case o.TTL < 0:
		return nil, errors.New("respcache.New: TTL must not be negative")
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cache{maxEntry: o.MaxBytes / 64, ttl: o.TTL, loc: o.Location, now: o.Now}
	for i := range c.shards {
		c.shards[i] = shard{max: o.MaxBytes / shardCount, items: map[[32]byte]*list.Element{}}
	}
	return c, nil
}

// BumpData marks every answer stored so far as outdated: call it after any
// change to the data answers are computed from (the mirror's apply, a write
// of the read cache). It costs one atomic add; outdated entries are dropped
// when next looked up or by the LRU.
func (c *Cache) BumpData() {
	if c == nil {
		return
	}
	c.data.Add(1)
}

// Invalidate marks every answer outdated, as BumpData, and frees their
// memory at once.
func (c *Cache) Invalidate() {
	if c == nil {
		return
	}
	c.data.Add(1)
	for i := range c.shards {
		c.shards[i].clear()
	}
}

// BumpBuyer marks the answers of the buyer acting for account as outdated:
// call it after a write to the buyer's own orders (the order journal), once
// the write is visible to readers.
func (c *Cache) BumpBuyer(account string) {
	if c == nil {
		return
	}
	s, err := BuyerScope(account)
	if err != nil {
		return
	}
	c.buyers[s.stripe].Add(1)
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	st := Stats{Hits: c.hits.Load(), Misses: c.misses.Load()}
	for i := range c.shards {
		b, n := c.shards[i].size()
		st.Bytes += b
		st.Entries += n
	}
	return st
}

// Stamp is the state of the generations an answer is computed from; take
// it with Begin before computing the answer and hand it to Put.
type Stamp struct {
	data, buyer uint64
	expires     time.Time
}

// Begin returns the stamp of an answer about to be computed in scope.
func (c *Cache) Begin(scope Scope) Stamp {
	now := c.now()
	st := Stamp{data: c.data.Load(), expires: now.Add(c.ttl)}
	if scope.kind == scopeBuyer {
		st.buyer = c.buyers[scope.stripe].Load()
	}
	t := now.In(c.loc)
	y, m, d := t.Date()
	if midnight := time.Date(y, m, d+1, 0, 0, 0, 0, c.loc); midnight.Before(st.expires) {
		st.expires = midnight
	}
	return st
}

// valid reports whether an answer stamped st in scope may still be served.
func (c *Cache) valid(scope Scope, st Stamp) bool {
	if st.data != c.data.Load() {
		return false
	}
	if scope.kind == scopeBuyer && st.buyer != c.buyers[scope.stripe].Load() {
		return false
	}
	return c.now().Before(st.expires)
}

// Get returns the answer stored under k and its content type, when it may
// still be served. The zero Key finds nothing.
func (c *Cache) Get(k Key) (body []byte, contentType string, ok bool) {
	if k.scope.IsZero() {
		c.misses.Add(1)
		return nil, "", false
	}
	sh := c.shardOf(k)
	e, found := sh.get(k)
	// The entry's scope is compared as well as the hash: two scopes never
	// share an entry even if their hashes did.
	if !found || e.key.scope != k.scope || !c.valid(k.scope, e.stamp) {
		if found {
			sh.remove(k, e)
		}
		c.misses.Add(1)
		return nil, "", false
	}
	c.hits.Add(1)
	return e.body, e.contentType, true
}

// Put stores body (served with contentType) under k, computed from the
// state st (from Begin). An answer already outdated, larger than the
// per-entry bound, or under the zero Key is not stored. body must not be
// changed afterwards.
func (c *Cache) Put(k Key, st Stamp, contentType string, body []byte) bool {
	if k.scope.IsZero() || !c.valid(k.scope, st) {
		return false
	}
	size := int64(len(body)+len(contentType)) + entryOverhead
	if size > c.maxEntry {
		return false
	}
	c.shardOf(k).put(&entry{key: k, stamp: st, contentType: contentType, body: body, size: size})
	return true
}

func (c *Cache) shardOf(k Key) *shard { return &c.shards[k.sum[0]%shardCount] }

type entry struct {
	key         Key
	stamp       Stamp
	contentType string
	body        []byte
	size        int64
}

// shard is a byte-bounded LRU.
type shard struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	lru   list.List // front: most recently used; values are *entry
	items map[[32]byte]*list.Element
}

func (s *shard) get(k Key) (*entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[k.sum]
	if !ok {
		return nil, false
	}
	s.lru.MoveToFront(el)
	return el.Value.(*entry), true
}

func (s *shard) put(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.items[e.key.sum]; ok {
		s.bytes -= old.Value.(*entry).size
		s.lru.Remove(old)
	}
	s.items[e.key.sum] = s.lru.PushFront(e)
	s.bytes += e.size
	for s.bytes > s.max {
		last := s.lru.Back()
		if last == nil {
			break
		}
		le := last.Value.(*entry)
		s.lru.Remove(last)
		delete(s.items, le.key.sum)
		s.bytes -= le.size
	}
}

// remove drops k's entry if it is still e (another request may have stored
// a fresh one meanwhile).
func (s *shard) remove(k Key, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[k.sum]; ok && el.Value.(*entry) == e {
		s.lru.Remove(el)
		delete(s.items, k.sum)
		s.bytes -= e.size
	}
}

func (s *shard) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = map[[32]byte]*list.Element{}
	s.lru.Init()
	s.bytes = 0
}

func (s *shard) size() (int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, len(s.items)
}
