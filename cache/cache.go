// Package cache is exactql's cross-request cache: a TTL cache over
// ristretto with per-kind TTLs, single-flight loading of misses across
// requests, stale-while-revalidate, stale-if-error up to a maximum age,
// negative caching of unknown keys and per-request stale tracking.
//
// The package is generic and imports nothing of this module. Callers build
// keys with Key or BuyerKey, so every key starts with the Exact division and
// buyer-specific data carries the buyer (account or price list): two buyers
// never share an entry.
//
// Ristretto Sets are asynchronous and may be dropped (by its set buffer or
// its admission policy). Nothing here reads a value back from ristretto to
// answer a load: the value returned to the caller that started a load, and
// to every caller that joined it, is the load's own result. A dropped Set
// only costs a later miss.
package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Default option values used by New for zero fields.
const (
	// DefaultMaxCostBytes is the default cache capacity: 256 MiB of
	// estimated entry size.
	DefaultMaxCostBytes int64 = 256 << 20
	// DefaultNumCounters is the default number of ristretto admission
	// counters: ten times the number of entries we expect when full
	// (256 MiB at roughly 2 KiB per entry is ~128k entries → 1.3M counters,
	// rounded). Each counter costs about 3 bytes.
	DefaultNumCounters int64 = 1_500_000
	// DefaultStaleMaxAge is how long past its TTL an entry may still be
	// served when the upstream fails (ARCHITECTURE.md: stale if need be, up to
	// 24 h).
	DefaultStaleMaxAge = 24 * time.Hour
	// DefaultLoadTimeout bounds every load, since loads run detached from
	// the cancellation of the request that started them.
	DefaultLoadTimeout = 30 * time.Second
	// DefaultRefreshBackoff is how long after a failed background refresh
	// of an entry no new background refresh of it is started.
	DefaultRefreshBackoff = 5 * time.Second
)

// The cache has no built-in kinds and no default TTLs: each caller states
// its kinds' lifetimes (the read path's are live.DefaultTTLs, which the
// EXACTQL_TTL_* settings override).

// entryOverhead approximates the bytes an entry costs beyond its value:
// the entry struct, ristretto's item and map slot.
const entryOverhead = 160

// Errors returned by the cache. Load errors are returned wrapped as they
// came from the load function.
var (
	// ErrNotFound reports a key known to be absent. A Get load function
	// returns an error wrapping ErrNotFound to have the absence cached for
	// Kind.NegativeTTL; Get returns it wrapped for absent keys.
	ErrNotFound = errors.New("cache: not found")
	// ErrClosed is returned by loads requested after Close.
	ErrClosed = errors.New("cache: closed")
	// ErrInvalid reports a nil cache, a nil load function or bad options.
	ErrInvalid = errors.New("cache: invalid argument")
	// ErrNoBuyer is returned by BuyerKey when the buyer is empty, so a
	// buyer-specific key can never be built without its buyer.
	ErrNoBuyer = errors.New("cache: buyer-specific key without buyer")
)

// PanicError is the error callers receive when a load function panicked.
// The panic is recovered so it neither crashes the process nor leaves
// waiters hanging.
type PanicError struct {
	Value any // the value passed to panic
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("cache: load panicked: %v", e.Value) }

// TypeError reports an entry whose stored value is not of the type asked
// for: two kinds of data were given the same key.
type TypeError struct {
	Key  string
	Got  string
	Want string
}

// Error implements error.
func (e *TypeError) Error() string {
	return fmt.Sprintf("cache: key %q holds %s, want %s", e.Key, e.Got, e.Want)
}

// Kind groups entries with the same TTLs, such as "item" or "price".
type Kind struct {
	// Name identifies the kind (for errors and keys built with Key).
	Name string
	// TTL is how long an entry is fresh. Zero or negative: values of this
	// kind are never stored (loads are still single-flight).
	TTL time.Duration
	// NegativeTTL is how long a key known to be absent is remembered.
	// Zero or negative: absence is not cached.
	NegativeTTL time.Duration
	// StaleAfter is the freshness bound of the kind (ARCHITECTURE §3:
	// stock 5 min, prices and customers 15 min, reference data 1 h): an
	// expired entry served (while it is refreshed in the background, or
	// because Exact failed) marks the request stale only when it was
	// stored longer ago than this, so normal background refreshes never
	// flag an answer. Zero marks every expired entry served.
	StaleAfter time.Duration
}

// Options configure New. Zero fields take the defaults.
type Options struct {
	// MaxCostBytes is the capacity in estimated bytes (default 256 MiB).
	MaxCostBytes int64
	// NumCounters is ristretto's number of admission counters; ristretto
	// advises ten times the number of entries expected when the cache is
	// full (default DefaultNumCounters, sized for ~150k entries).
	NumCounters int64
	// StaleMaxAge is how long past expiry an entry may still be served
	// stale (default 24h). Negative disables stale serving.
	StaleMaxAge time.Duration
	// RevalidateMaxAge is how long past expiry an entry is served at once
	// while a background refresh runs (stale-while-revalidate). Beyond it,
	// up to StaleMaxAge, a caller waits for the load and gets the stale
	// value only if the load fails. Zero means StaleMaxAge.
	RevalidateMaxAge time.Duration
	// LoadTimeout bounds each load (default 30s).
	LoadTimeout time.Duration
	// RefreshBackoff is the pause after a failed background refresh of an
	// entry before another is started (default 5s).
	RefreshBackoff time.Duration
	// Now is the clock (default time.Now). Freshness and staleness are
	// judged with it; ristretto's own expiry uses the real clock with
	// TTL+StaleMaxAge, so a fake clock only ever makes entries older.
	Now func() time.Time
	// Metrics turns on the counters reported by Stats (ours and
	// ristretto's). Off, Stats reports zeros and the hit path does no
	// atomic counting.
	Metrics bool
}

// Stats are cumulative counters, mapped to Prometheus by the server.
type Stats struct {
	Hits        uint64 // fresh entries served (positive or absent)
	Misses      uint64 // keys that were not served from the cache at once
	StaleServed uint64 // expired entries served (revalidate or on error)
	Loads       uint64 // load function calls (foreground and background)
	LoadErrors  uint64 // load calls that failed or panicked
	Refreshes   uint64 // background refreshes started
	Coalesced   uint64 // keys whose caller joined a load already in flight
	// Releads counts calls that led their own load after a load they had
	// joined failed with another caller's own limit (CallerScoped).
	Releads uint64

	// Ristretto's own metrics.
	SetsDropped  uint64 // Sets dropped by the set buffer
	SetsRejected uint64 // Sets rejected by the admission policy
	KeysAdded    uint64
	KeysEvicted  uint64
	CostAdded    uint64
	CostEvicted  uint64
}

// Cache is the cross-request cache. It is safe for concurrent use.
type Cache struct {
	rc          *ristretto.Cache[string, *entry]
	now         func() time.Time
	staleMax    time.Duration
	revalidate  time.Duration
	loadTimeout time.Duration
	backoff     time.Duration
	metrics     bool

	mu      sync.Mutex
	flights map[string]*flight
	closed  bool

	wg        sync.WaitGroup
	closing   context.Context
	stopAll   context.CancelFunc
	closeOnce sync.Once

	hits, misses, staleServed, loads, loadErrors, refreshes, coalesced atomic.Uint64
	releads                                                            atomic.Uint64
}

// entry is what ristretto stores. It is immutable once stored except for
// retryAt.
type entry struct {
	val        any
	found      bool
	storedAt   time.Time
	freshUntil time.Time
	retryAt    atomic.Int64 // UnixNano before which no background refresh starts
}

// New returns a Cache configured by o.
func New(o Options) (*Cache, error) {
	if o.MaxCostBytes < 0 || o.NumCounters < 0 || o.LoadTimeout < 0 || o.RefreshBackoff < 0 || o.RevalidateMaxAge < 0 {
		return nil, fmt.Errorf("cache.New: negative option: %w", ErrInvalid)
	}
	if o.MaxCostBytes == 0 {
		o.MaxCostBytes = DefaultMaxCostBytes
	}
	if o.NumCounters == 0 {
		o.NumCounters = DefaultNumCounters
	}
	switch {
	case o.StaleMaxAge == 0:
		o.StaleMaxAge = DefaultStaleMaxAge
	case o.StaleMaxAge < 0:
		o.StaleMaxAge = 0
	}
	if o.RevalidateMaxAge == 0 || o.RevalidateMaxAge > o.StaleMaxAge {
		o.RevalidateMaxAge = o.StaleMaxAge
	}
	if o.LoadTimeout == 0 {
		o.LoadTimeout = DefaultLoadTimeout
	}
	if o.RefreshBackoff == 0 {
		o.RefreshBackoff = DefaultRefreshBackoff
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	rc, err := ristretto.NewCache(&ristretto.Config[string, *entry]{
		NumCounters: o.NumCounters,
		MaxCost:     o.MaxCostBytes,
		BufferItems: 64,
		Metrics:     o.Metrics,
		// Costs are our byte estimates; ristretto's internal per-item cost
		// would otherwise be added to them and skew the budget.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache.New: %w", err)
	}
	closing, stop := context.WithCancel(context.Background())
	return &Cache{
		rc:          rc,
		now:         o.Now,
		staleMax:    o.StaleMaxAge,
		revalidate:  o.RevalidateMaxAge,
		loadTimeout: o.LoadTimeout,
		backoff:     o.RefreshBackoff,
		metrics:     o.Metrics,
		flights:     make(map[string]*flight),
		closing:     closing,
		stopAll:     stop,
	}, nil
}

// Close cancels running loads, waits for their goroutines and releases
// ristretto. Loads requested afterwards fail with ErrClosed. Close is
// idempotent.
func (c *Cache) Close() {
	if c == nil {
		return
	}
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.stopAll()
		c.wg.Wait()
		c.rc.Close()
	})
}

// Delete removes key from the cache. A load of key already in flight still
// answers its waiters but does not store its result, so data invalidated
// while it was being fetched is not written back.
func (c *Cache) Delete(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	for f := c.flights[key]; f != nil; f = f.shadowed {
		f.invalidated = true
	}
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.rc.Del(key)
	}
}

// Stats returns the counters; all zero unless Options.Metrics was set.
func (c *Cache) Stats() Stats {
	if c == nil {
		return Stats{}
	}
	s := Stats{
		Hits:        c.hits.Load(),
		Misses:      c.misses.Load(),
		StaleServed: c.staleServed.Load(),
		Loads:       c.loads.Load(),
		LoadErrors:  c.loadErrors.Load(),
		Refreshes:   c.refreshes.Load(),
		Coalesced:   c.coalesced.Load(),
		Releads:     c.releads.Load(),
	}
	if m := c.rc.Metrics; m != nil {
		s.SetsDropped = m.SetsDropped()
		s.SetsRejected = m.SetsRejected()
		s.KeysAdded = m.KeysAdded()
		s.KeysEvicted = m.KeysEvicted()
		s.CostAdded = m.CostAdded()
		s.CostEvicted = m.CostEvicted()
	}
	return s
}

func (c *Cache) count(n *atomic.Uint64, d uint64) {
	if c.metrics && d > 0 {
		n.Add(d)
	}
}

// state is an entry's age class at a given instant.
type state int

const (
	stateMiss       state = iota // no entry, or too old to serve at all
	stateFresh                   // within TTL
	stateRevalidate              // expired, served at once with a background refresh
	stateStale                   // expired, served only if the load fails
)

// lookup returns the entry for key and its state at now.
func (c *Cache) lookup(key string, now time.Time) (*entry, state) {
	e, ok := c.rc.Get(key)
	if !ok || e == nil {
		return nil, stateMiss
	}
	switch {
	case now.Before(e.freshUntil):
		return e, stateFresh
	case !now.Before(e.freshUntil.Add(c.staleMax)):
		return nil, stateMiss
	case e.found && now.Before(e.freshUntil.Add(c.revalidate)):
		return e, stateRevalidate
	default:
		// Expired absences are not served while revalidating: a new
		// record should show up on the next request, not the one after.
		return e, stateStale
	}
}

// staleFallback returns an entry for key that may be served after a
// failed load, looking it up again if the caller saw none.
func (c *Cache) staleFallback(key string, seen *entry) *entry {
	if seen != nil {
		return seen
	}
	e, st := c.lookup(key, c.now())
	if st == stateMiss {
		return nil
	}
	return e
}

// waitWrites blocks until ristretto has applied the Sets buffered so far.
func (c *Cache) waitWrites() {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.rc.Wait()
	}
}

// store writes a load's result for key unless the flight was invalidated.
// The Set may be dropped by ristretto; nothing depends on it landing.
func (c *Cache) store(k Kind, key string, f *flight, val any, found bool, cost int64, now time.Time) {
	ttl := k.TTL
	if !found {
		ttl = k.NegativeTTL
	}
	if ttl <= 0 {
		return
	}
	e := &entry{val: val, found: found, storedAt: now, freshUntil: now.Add(ttl)}
	if cost < 0 {
		cost = 0
	}
	cost += int64(len(key)) + entryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.invalidated || c.closed {
		return
	}
	// Ristretto expires by the real clock; keep the entry for the whole
	// stale window so it can serve stale-if-error.
	c.rc.SetWithTTL(key, e, cost, ttl+c.staleMax)
}
