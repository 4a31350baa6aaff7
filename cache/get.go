package cache

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// flight is one key's load in progress. Callers that need the key while it
// is in flight wait on done instead of loading it again.
type flight struct {
	done        chan struct{}
	invalidated bool // set by Delete; guarded by Cache.mu
	// shadowed is the flight this one replaced in Cache.flights (a caller
	// leading its own load after a caller-scoped failure, see
	// CallerScoped); Delete invalidates it too. Guarded by Cache.mu.
	shadowed *flight

	// Written once before done is closed.
	val   any
	found bool
	err   error
}

// typeFits reports whether an entry can answer a caller of type V (a cached
// absence always can).
func typeFits[V any](e *entry) bool {
	if !e.found {
		return true
	}
	_, ok := e.val.(V)
	return ok
}

// CallerScoped is implemented by load errors that belong to the caller
// whose context ran the load, not to the keys: above all that caller's own
// budget of upstream calls being spent (callerlimit.LimitedError). A caller
// that joined such a load does not inherit the error (it would hand one
// caller's RATE_LIMITED to everybody who asked for the same data at the same
// moment): it leads a load of its own, charged to itself. The error of a
// load the caller led itself is its own and is returned as usual.
type CallerScoped interface {
	error
	CallerScoped() bool
}

// isCallerScoped reports whether err (or an error it wraps) is CallerScoped.
func isCallerScoped(err error) bool {
	var cs CallerScoped
	return errors.As(err, &cs) && cs.CallerScoped()
}

// closedDone is the done channel of a flight that was already resolved from
// the cache when it was acquired.
var closedDone = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// refreshKey marks the context of a background refresh.
type refreshKey struct{}

// IsRefresh reports whether ctx is the context of a background refresh
// (stale-while-revalidate). Such a refresh keeps the values of the request
// whose hit triggered it (logger, division, credentials) but that request
// is not waiting for it, so per-caller limiters should not charge the
// caller for it (the division's upstream budget still applies).
func IsRefresh(ctx context.Context) bool {
	v, _ := ctx.Value(refreshKey{}).(bool)
	return v
}

// Get returns the value for key, loading it with load on a miss.
//
//   - A fresh entry is returned at once.
//   - An entry expired less than Options.RevalidateMaxAge ago is returned at
//     once, ctx is marked stale (see MarkStale) and one background refresh
//     is started unless one is in flight (stale-while-revalidate).
//   - Otherwise the key is loaded once for all concurrent callers
//     (single-flight): the load runs with the values of the ctx of the
//     caller that started it but not its cancellation, bounded by
//     Options.LoadTimeout. A caller whose ctx ends returns ctx.Err() while
//     the load goes on for the others.
//   - If the load fails and an entry expired less than Options.StaleMaxAge
//     ago exists, its value is returned and ctx is marked stale; otherwise
//     the load's error is returned.
//
// A load returning an error that wraps ErrNotFound has the absence cached
// for k.NegativeTTL; Get then returns an error wrapping ErrNotFound. cost
// estimates a value's size in bytes; nil uses DefaultCost.
func Get[V any](ctx context.Context, c *Cache, k Kind, key string, load func(ctx context.Context) (V, error), cost func(V) int64) (V, error) {
	var zero V
	if c == nil || load == nil {
		return zero, fmt.Errorf("cache.Get: %w", ErrInvalid)
	}
	now := c.now()
	e, st := c.lookup(key, now)
	switch st {
	case stateFresh:
		if !e.found {
			c.count(&c.hits, 1)
			return zero, fmt.Errorf("cache.Get: %s %q: %w", k.Name, key, ErrNotFound)
		}
		if v, ok := e.val.(V); ok {
			c.count(&c.hits, 1)
			return v, nil
		}
		// Another type under this key: a miss, reloaded and overwritten.
	case stateRevalidate:
		v, err := typed[V](e.val, key)
		if err == nil {
			c.count(&c.staleServed, 1)
			markServed(ctx, k, e, now)
			refresh(ctx, c, k, []string{key}, []*entry{e}, now, one(load), cost)
			return v, nil
		}
	}
	c.count(&c.misses, 1)
	flights, led, err := acquireMode(ctx, c, k, []string{key}, one(load), cost, false)
	if err != nil {
		return zero, fmt.Errorf("cache.Get: %w", err)
	}
	if err := wait(ctx, flights); err != nil {
		return zero, fmt.Errorf("cache.Get: %w", err)
	}
	if f := flights[0]; f.err != nil && !led[0] && isCallerScoped(f.err) {
		// Another caller's own limit: load it on this caller's account.
		c.count(&c.releads, 1)
		if flights, _, err = acquireMode(ctx, c, k, []string{key}, one(load), cost, true); err != nil {
			return zero, fmt.Errorf("cache.Get: %w", err)
		}
		if err := wait(ctx, flights); err != nil {
			return zero, fmt.Errorf("cache.Get: %w", err)
		}
	}
	f := flights[0]
	if f.err != nil {
		if se := c.staleFallback(key, e); se != nil {
			if !se.found {
				c.count(&c.staleServed, 1)
				markServed(ctx, k, se, c.now())
				return zero, fmt.Errorf("cache.Get: %s %q: %w", k.Name, key, ErrNotFound)
			}
			if v, terr := typed[V](se.val, key); terr == nil {
				c.count(&c.staleServed, 1)
				markServed(ctx, k, se, c.now())
				return v, nil
			}
		}
		return zero, fmt.Errorf("cache.Get: %s %q: %w", k.Name, key, f.err)
	}
	if !f.found {
		return zero, fmt.Errorf("cache.Get: %s %q: %w", k.Name, key, ErrNotFound)
	}
	return typed[V](f.val, key)
}

// GetMany returns the values for keys in key order, with found[i] false for
// keys known to be absent. It is meant for dataloader batch functions.
//
// Fresh entries are served at once; revalidating and stale entries behave
// per key as in Get. Keys another call is already loading are waited for,
// not loaded again. The remaining keys are claimed by this call and passed
// to load once, as one slice without duplicates (chunking for the upstream
// is the caller's business). Keys missing from load's result are absent:
// found=false, no error, cached for k.NegativeTTL. If a key can be neither
// loaded nor served stale, GetMany returns the first such error.
func GetMany[V any](ctx context.Context, c *Cache, k Kind, keys []string, load func(ctx context.Context, missing []string) (map[string]V, error), cost func(V) int64) ([]V, []bool, error) {
	if c == nil || load == nil {
		return nil, nil, fmt.Errorf("cache.GetMany: %w", ErrInvalid)
	}
	vals := make([]V, len(keys))
	found := make([]bool, len(keys))
	now := c.now()

	var (
		seen      []*entry // entry per key, for stale fallback; nil until needed
		needIdx   []int    // indexes of keys to load or wait for
		needKeys  []string
		dup       map[string]int // first position of each needed key
		staleKeys []string
		staleEnts []*entry
		hits      uint64
	)
	for i, key := range keys {
		e, st := c.lookup(key, now)
		switch st {
		case stateFresh:
			if !e.found {
				hits++
				continue
			}
			if v, err := typed[V](e.val, key); err == nil {
				vals[i], found[i] = v, true
				hits++
				continue
			}
		case stateRevalidate:
			if v, err := typed[V](e.val, key); err == nil {
				vals[i], found[i] = v, true
				c.count(&c.staleServed, 1)
				markServed(ctx, k, e, now)
				staleKeys = append(staleKeys, key)
				staleEnts = append(staleEnts, e)
				continue
			}
		}
		if seen == nil {
			seen = make([]*entry, len(keys))
			dup = make(map[string]int)
		}
		seen[i] = e
		needIdx = append(needIdx, i)
		if _, ok := dup[key]; !ok {
			dup[key] = len(needKeys)
			needKeys = append(needKeys, key)
		}
	}
	c.count(&c.hits, hits)
	if len(staleKeys) > 0 {
		refresh(ctx, c, k, staleKeys, staleEnts, now, load, cost)
	}
	if len(needKeys) == 0 {
		return vals, found, nil
	}
	c.count(&c.misses, uint64(len(needIdx)))

	flights, led, err := acquireMode(ctx, c, k, needKeys, load, cost, false)
	if err != nil {
		return nil, nil, fmt.Errorf("cache.GetMany: %w", err)
	}
	if err := wait(ctx, flights); err != nil {
		return nil, nil, fmt.Errorf("cache.GetMany: %w", err)
	}
	// Keys whose joined load failed with another caller's own limit are
	// loaded again on this caller's account.
	var again []int
	for j, f := range flights {
		if f.err != nil && !led[j] && isCallerScoped(f.err) {
			again = append(again, j)
		}
	}
	if len(again) > 0 {
		c.count(&c.releads, 1)
		keys2 := make([]string, len(again))
		for n, j := range again {
			keys2[n] = needKeys[j]
		}
		flights2, _, err := acquireMode(ctx, c, k, keys2, load, cost, true)
		if err != nil {
			return nil, nil, fmt.Errorf("cache.GetMany: %w", err)
		}
		if err := wait(ctx, flights2); err != nil {
			return nil, nil, fmt.Errorf("cache.GetMany: %w", err)
		}
		for n, j := range again {
			flights[j] = flights2[n]
		}
	}
	for _, i := range needIdx {
		key := keys[i]
		f := flights[dup[key]]
		if f.err != nil {
			se := c.staleFallback(key, seen[i])
			if se == nil {
				return nil, nil, fmt.Errorf("cache.GetMany: %s %q: %w", k.Name, key, f.err)
			}
			if se.found {
				v, terr := typed[V](se.val, key)
				if terr != nil {
					return nil, nil, fmt.Errorf("cache.GetMany: %s %q: %w", k.Name, key, f.err)
				}
				vals[i], found[i] = v, true
			}
			c.count(&c.staleServed, 1)
			markServed(ctx, k, se, c.now())
			continue
		}
		if f.found {
			v, terr := typed[V](f.val, key)
			if terr != nil {
				return nil, nil, fmt.Errorf("cache.GetMany: %w", terr)
			}
			vals[i], found[i] = v, true
		}
	}
	return vals, found, nil
}

// Peek returns the value for key if a fresh entry holds it, without loading
// and without waiting. Expired entries and cached absences report false:
// the caller then goes through Get or GetMany (via its dataloader), which
// serves a stale value at once but also starts its refresh and marks the
// request stale, which Peek has no way to do.
func Peek[V any](c *Cache, k Kind, key string) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	e, st := c.lookup(key, c.now())
	if st != stateFresh || !e.found {
		return zero, false
	}
	v, err := typed[V](e.val, key)
	if err != nil {
		return zero, false
	}
	c.count(&c.hits, 1)
	return v, true
}

// one adapts a single-key load to the batch shape.
func one[V any](load func(ctx context.Context) (V, error)) func(context.Context, []string) (map[string]V, error) {
	return func(ctx context.Context, keys []string) (map[string]V, error) {
		v, err := load(ctx)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return map[string]V{keys[0]: v}, nil
	}
}

// typed asserts a stored value's type.
func typed[V any](val any, key string) (V, error) {
	v, ok := val.(V)
	if !ok {
		var zero V
		return zero, &TypeError{Key: key, Got: fmt.Sprintf("%T", val), Want: reflect.TypeFor[V]().String()}
	}
	return v, nil
}

// wait blocks until every flight is done or ctx ends.
func wait(ctx context.Context, flights []*flight) error {
	for _, f := range flights {
		select {
		case <-f.done:
			continue
		default:
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// acquire returns a flight for every key (keys must be distinct), joining
// flights already running and starting one load for the keys it claims.
func acquire[V any](ctx context.Context, c *Cache, k Kind, keys []string, load func(context.Context, []string) (map[string]V, error), cost func(V) int64) ([]*flight, error) {
	flights, _, err := acquireMode(ctx, c, k, keys, load, cost, false)
	return flights, err
}

// acquireMode is acquire that also reports which flights this call started
// (led). With lead set it joins no flight in progress: it starts its own
// load for every key that is not fresh, so the load runs on ctx's caller
// (see CallerScoped); later callers join the new flight.
func acquireMode[V any](ctx context.Context, c *Cache, k Kind, keys []string, load func(context.Context, []string) (map[string]V, error), cost func(V) int64, lead bool) ([]*flight, []bool, error) {
	flights := make([]*flight, len(keys))
	led := make([]bool, len(keys))
	var (
		claimed []string
		mine    []*flight
		joined  uint64
	)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil, ErrClosed
	}
	now := c.now()
	for i, key := range keys {
		running := c.flights[key]
		if running != nil && !lead {
			flights[i] = running
			joined++
			continue
		}
		// The caller looked the key up before taking the lock; a load may
		// have finished (and stored its value) in between. Look again under
		// the lock, so a key is never loaded twice back to back.
		if e, st := c.lookup(key, now); st == stateFresh && typeFits[V](e) {
			f := &flight{done: closedDone, val: e.val, found: e.found}
			flights[i] = f
			joined++
			continue
		}
		f := &flight{done: make(chan struct{}), shadowed: running}
		c.flights[key] = f
		flights[i] = f
		led[i] = true
		claimed = append(claimed, key)
		mine = append(mine, f)
	}
	if len(claimed) > 0 {
		c.wg.Add(1)
	}
	c.mu.Unlock()
	c.count(&c.coalesced, joined)
	if len(claimed) > 0 {
		go runLoad(ctx, c, k, claimed, mine, nil, load, cost)
	}
	return flights, led, nil
}

// refresh starts one background load for the expired keys that are not in
// flight and not backing off after a failed refresh. Nobody waits for it.
func refresh[V any](ctx context.Context, c *Cache, k Kind, keys []string, ents []*entry, now time.Time, load func(context.Context, []string) (map[string]V, error), cost func(V) int64) {
	var (
		claimed []string
		mine    []*flight
		mineEnt []*entry
	)
	nowNano := now.UnixNano()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	for i, key := range keys {
		if ents[i].retryAt.Load() > nowNano || c.flights[key] != nil {
			continue
		}
		f := &flight{done: make(chan struct{})}
		c.flights[key] = f
		claimed = append(claimed, key)
		mine = append(mine, f)
		mineEnt = append(mineEnt, ents[i])
	}
	if len(claimed) > 0 {
		c.wg.Add(1)
	}
	c.mu.Unlock()
	if len(claimed) > 0 {
		c.count(&c.refreshes, 1)
		go runLoad(ctx, c, k, claimed, mine, mineEnt, load, cost)
	}
}

// runLoad calls load for the claimed keys, stores the results and settles
// the flights. It runs on its own goroutine with a context that keeps the
// values of the starting caller's ctx but not its cancellation; it is
// cancelled by its timeout or by Close. ents is non-nil for a background
// refresh: the expired entries being refreshed.
func runLoad[V any](ctx context.Context, c *Cache, k Kind, keys []string, flights []*flight, ents []*entry, load func(context.Context, []string) (map[string]V, error), cost func(V) int64) {
	defer c.wg.Done()
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.loadTimeout)
	defer cancel()
	stop := context.AfterFunc(c.closing, cancel)
	defer stop()
	if ents != nil {
		lctx = context.WithValue(lctx, refreshKey{}, true)
	}
	defer c.finish(keys, flights)

	c.count(&c.loads, 1)
	res, err := callLoad(lctx, load, keys)
	if err == nil && len(res) == 0 && lctx.Err() != nil {
		// An empty answer from a cancelled load is not evidence of absence.
		err = lctx.Err()
	}
	now := c.now()
	if err != nil {
		c.count(&c.loadErrors, 1)
		for i, f := range flights {
			f.err = err
			if ents != nil {
				ents[i].retryAt.Store(now.Add(c.backoff).UnixNano())
			}
		}
		return
	}
	for i, key := range keys {
		f := flights[i]
		v, ok := res[key]
		if !ok {
			c.store(k, key, f, nil, false, 0, now)
			continue
		}
		f.val, f.found = v, true
		c.store(k, key, f, v, true, costOf(cost, v), now)
	}
	// Ristretto applies Sets asynchronously. Keep the flights registered
	// until the writes have landed, so a caller arriving right after this
	// load joins it instead of finding neither flight nor entry and loading
	// the same keys again (which would cost Exact calls). The values handed
	// to waiters never depend on this.
	c.waitWrites()
}

// finish removes the flights from the in-flight map and wakes their
// waiters. Their results were written before, so the channel close
// publishes them.
func (c *Cache) finish(keys []string, flights []*flight) {
	c.mu.Lock()
	for i, key := range keys {
		if c.flights[key] == flights[i] {
			delete(c.flights, key)
		}
		flights[i].shadowed = nil
	}
	c.mu.Unlock()
	for _, f := range flights {
		close(f.done)
	}
}

// callLoad calls load, turning a panic into a *PanicError.
func callLoad[V any](ctx context.Context, load func(context.Context, []string) (map[string]V, error), keys []string) (res map[string]V, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &PanicError{Value: r}
		}
	}()
	// Pass a copy: the load may keep or modify its slice.
	return load(ctx, append([]string(nil), keys...))
}

// costOf applies the caller's cost function, falling back to DefaultCost
// when it is nil or panics.
func costOf[V any](cost func(V) int64, v V) (n int64) {
	if cost == nil {
		return DefaultCost(v)
	}
	defer func() {
		if r := recover(); r != nil {
			n = DefaultCost(v)
		}
	}()
	return cost(v)
}
