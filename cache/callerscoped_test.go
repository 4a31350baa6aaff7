package cache

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// whoKey carries the caller's name in a test context.
type whoKey struct{}

func as(who string) context.Context  { return context.WithValue(context.Background(), whoKey{}, who) }
func who(ctx context.Context) string { s, _ := ctx.Value(whoKey{}).(string); return s }

// limitErr is a caller's own spent budget, like callerlimit.LimitedError.
type limitErr struct{ who string }

func (e *limitErr) Error() string      { return "budget of " + e.who + " spent" }
func (e *limitErr) CallerScoped() bool { return true }

// waitJoined waits until n keys joined loads in flight. Joining happens on
// another goroutine with nothing to signal on, so this yields until it
// shows in the counter.
func waitJoined(t *testing.T, c *Cache, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.coalesced.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("joined = %d, want %d", c.coalesced.Load(), n)
		}
		runtime.Gosched()
	}
}

// sharedLoad is one key's upstream: callers named in limited have spent
// their own budget; "a"'s load waits for release. It records whose
// context each load ran with.
type sharedLoad struct {
	mu      sync.Mutex
	limited map[string]bool
	plain   error // returned to everyone when set (not caller-scoped)
	started chan struct{}
	release chan struct{}
	// bGate holds "b"'s own loads until A has its answer, so A's answer
	// is its own outcome and not B's value found in the cache meanwhile
	// (which would be fine, but is a race).
	bGate chan struct{}
	ran   []string
}

func (s *sharedLoad) load(ctx context.Context, keys []string) (map[string]string, error) {
	w := who(ctx)
	s.mu.Lock()
	s.ran = append(s.ran, w)
	s.mu.Unlock()
	switch w {
	case "a":
		close(s.started)
		<-s.release
	case "b":
		if s.bGate != nil {
			<-s.bGate
		}
	}
	if s.plain != nil {
		return nil, s.plain
	}
	if s.limited[w] {
		return nil, &limitErr{who: w}
	}
	out := map[string]string{}
	for _, k := range keys {
		out[k] = k + " by " + w
	}
	return out, nil
}

// TestJoinerDoesNotInheritCallerLimit: B joins the load A started; A's
// own budget is spent, so A gets RATE_LIMITED, but B leads a load of its
// own instead of inheriting it. Errors that are not caller-scoped are
// still shared by everyone who joined, and a caller whose own reload is
// limited gets its own error.
func TestJoinerDoesNotInheritCallerLimit(t *testing.T) {
	tests := []struct {
		name    string
		limited map[string]bool
		plain   error
		many    bool
		wantA   string // error text or value
		wantB   string
		wantRan []string
	}{
		{name: "Get: B loads itself", limited: map[string]bool{"a": true}, wantA: "budget of a spent", wantB: "k by b", wantRan: []string{"a", "b"}},
		{name: "GetMany: B loads itself", limited: map[string]bool{"a": true}, many: true, wantA: "budget of a spent", wantB: "k by b", wantRan: []string{"a", "b"}},
		{name: "both limited: each its own", limited: map[string]bool{"a": true, "b": true}, wantA: "budget of a spent", wantB: "budget of b spent", wantRan: []string{"a", "b"}},
		{name: "upstream error is shared", plain: errUpstream, wantA: "upstream down", wantB: "upstream down", wantRan: []string{"a"}},
		{name: "success is shared", wantA: "k by a", wantB: "k by a", wantRan: []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestCache(t, Options{})
			s := &sharedLoad{limited: tc.limited, plain: tc.plain, started: make(chan struct{}), release: make(chan struct{}), bGate: make(chan struct{})}
			get := func(ctx context.Context) string {
				var v string
				var err error
				if tc.many {
					var vals []string
					vals, _, err = GetMany(ctx, c, kindItem, []string{"k"}, s.load, nil)
					if err == nil {
						v = vals[0]
					}
				} else {
					v, err = Get(ctx, c, kindItem, "k", func(ctx context.Context) (string, error) {
						m, err := s.load(ctx, []string{"k"})
						return m["k"], err
					}, nil)
				}
				if err != nil {
					var le *limitErr
					if errors.As(err, &le) {
						return le.Error()
					}
					if errors.Is(err, errUpstream) {
						return errUpstream.Error()
					}
					return err.Error()
				}
				return v
			}
			gotA := make(chan string, 1)
			go func() { gotA <- get(as("a")) }()
			<-s.started
			gotB := make(chan string, 1)
			go func() { gotB <- get(as("b")) }()
			waitJoined(t, c, 1)
			close(s.release)
			a := <-gotA
			close(s.bGate)
			if b := <-gotB; a != tc.wantA || b != tc.wantB {
				t.Errorf("A got %q, B got %q; want %q, %q", a, b, tc.wantA, tc.wantB)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if len(s.ran) != len(tc.wantRan) || (len(s.ran) == 2 && s.ran[1] != tc.wantRan[1]) {
				t.Errorf("loads ran for %v, want %v", s.ran, tc.wantRan)
			}
			if want := uint64(len(tc.wantRan) - 1); c.Stats().Releads != want {
				t.Errorf("Releads = %d, want %d", c.Stats().Releads, want)
			}
		})
	}
}

// TestGetManyReleadsOnlyLimitedKeys: B asks for two keys, one of them in
// A's load; only that one is loaded again, on B's account, and later
// callers find B's values.
func TestGetManyReleadsOnlyLimitedKeys(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	s := &sharedLoad{limited: map[string]bool{"a": true}, started: make(chan struct{}), release: make(chan struct{}), bGate: make(chan struct{})}
	errA := make(chan error, 1)
	go func() {
		_, _, err := GetMany(as("a"), c, kindItem, []string{"x"}, s.load, nil)
		errA <- err
	}()
	<-s.started
	type res struct {
		vals []string
		err  error
	}
	gotB := make(chan res, 1)
	go func() {
		v, _, err := GetMany(as("b"), c, kindItem, []string{"x", "y"}, s.load, nil)
		gotB <- res{v, err}
	}()
	waitJoined(t, c, 1)
	close(s.release)
	var le *limitErr
	if err := <-errA; !errors.As(err, &le) {
		t.Errorf("A: %v, want its own limit", err)
	}
	close(s.bGate)
	b := <-gotB
	if b.err != nil || len(b.vals) != 2 || b.vals[0] != "x by b" || b.vals[1] != "y by b" {
		t.Fatalf("B: %v %v", b.vals, b.err)
	}
	c.waitWrites()
	v, _, err := GetMany(as("c"), c, kindItem, []string{"x", "y"}, s.load, nil)
	if err != nil || v[0] != "x by b" {
		t.Errorf("C: %v %v", v, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ran) != 3 { // a: x; b: y; b: x again
		t.Errorf("loads ran for %v, want a, b, b", s.ran)
	}
}

// TestDeleteInvalidatesShadowedFlight: a Delete while a re-led load and the
// flight it replaced are both running keeps either from storing its result.
func TestDeleteInvalidatesShadowedFlight(t *testing.T) {
	c, _ := newTestCache(t, Options{})
	release := make(chan struct{})
	load := func(ctx context.Context, keys []string) (map[string]string, error) {
		<-release
		return map[string]string{"k": "old " + who(ctx)}, nil
	}
	first, _, err := acquireMode(as("a"), c, kindItem, []string{"k"}, load, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	second, led, err := acquireMode(as("b"), c, kindItem, []string{"k"}, load, nil, true)
	if err != nil || !led[0] || second[0] == first[0] {
		t.Fatalf("lead mode joined the running flight (led %v, err %v)", led, err)
	}
	c.Delete("k")
	close(release)
	<-first[0].done
	<-second[0].done
	c.waitWrites()
	if _, ok := Peek[string](c, kindItem, "k"); ok {
		t.Error("a load in flight during Delete stored its result")
	}
}
