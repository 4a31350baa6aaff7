// Package erptest is the one test harness for code that talks to Exact: a
// fake clock, an in-memory token store and an erp.Client wired to an
// in-process sandbox (Exact as exact-online-api.md describes it) over
// loopback HTTP. Tests above the erp package use it instead of building
// their own; nothing here reaches the network beyond 127.0.0.1.
package erptest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
)

// Start is a conventional start time for a Clock (a Saturday morning, UTC).
var Start = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// Clock is the fake clock: it moves only when told to (Advance, Set) and is
// safe for concurrent use. It is the sandbox's own fake clock, so one Clock
// can drive the sandbox, the token source, the client's governor, caches and
// stores together.
type Clock = sandbox.FakeClock

// NewClock returns a Clock standing at t.
func NewClock(t time.Time) *Clock { return sandbox.NewFakeClock(t) }

// TokenStore is an in-memory erp.TokenStore. Its refresh lock is a mutex
// (one process only); every token goes in and out as a copy, so callers
// cannot change the stored one by accident. The zero value is empty.
type TokenStore struct {
	mu  sync.Mutex
	tok *erp.StoredToken
}

var _ erp.TokenStore = (*TokenStore)(nil)

// LoadToken returns a copy of the stored token, or erp.ErrNoToken.
func (s *TokenStore) LoadToken(context.Context) (*erp.StoredToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, erp.ErrNoToken
	}
	t := *s.tok
	return &t, nil
}

// WithRefreshLock runs fn holding the lock, as erp.TokenStore documents: a
// non-nil token fn returns is stored even when fn also fails.
func (s *TokenStore) WithRefreshLock(_ context.Context, fn func(current *erp.StoredToken, mark func(started time.Time) error) (*erp.StoredToken, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur *erp.StoredToken
	if s.tok != nil {
		c := *s.tok
		cur = &c
	}
	mark := func(started time.Time) error {
		if s.tok != nil {
			s.tok.RefreshStarted = started
		}
		return nil
	}
	next, err := fn(cur, mark)
	if next != nil {
		n := *next
		s.tok = &n
	}
	return err
}

// SaveToken stores a copy of t.
func (s *TokenStore) SaveToken(_ context.Context, t *erp.StoredToken) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *t
	s.tok = &c
	return nil
}

// Options configures Setup. The zero value is a default sandbox on the real
// clock with an in-memory token store.
type Options struct {
	// Sandbox configures the sandbox (data set, limits, faults). Its Clock
	// is replaced by Clock when Clock is set.
	Sandbox sandbox.Options
	// Clock, when set, is the time of the sandbox, the token source and
	// the client (and so of the client's default governor). Nil means the
	// real clock.
	Clock *Clock
	// Tokens keeps the token chain; a new TokenStore when nil. It is seeded
	// with a fresh refresh token from the sandbox unless it already holds
	// one.
	Tokens erp.TokenStore
	// Client holds extra client options, applied after Setup's own (so
	// they may override them, e.g. erp.WithGovernor).
	Client []erp.Option
}

// Env is what Setup started. Everything is closed by t.Cleanup.
type Env struct {
	// Clock is Options.Clock (nil on the real clock).
	Clock *Clock
	// Sandbox is the in-process Exact.
	Sandbox *sandbox.Sandbox
	// Server serves Sandbox on a loopback port.
	Server *httptest.Server
	// Tokens is the token store the client's token source uses.
	Tokens erp.TokenStore
	// TokenSource is the client's token source (Exact's refresh rules).
	TokenSource *erp.TokenSource
	// Client is an erp.Client for the sandbox's division.
	Client *erp.Client
}

// Setup starts a sandbox on a loopback port and returns a client for it
// whose token chain comes from a fresh consent, the way the gateway wires
// itself (erp.SeedToken, erp.NewTokenSource, erp.New). It fails t on any
// error.
func Setup(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Clock != nil {
		o.Sandbox.Clock = o.Clock
	}
	sb := sandbox.New(o.Sandbox)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	tokens := o.Tokens
	if tokens == nil {
		tokens = &TokenStore{}
	}
	// t.Context lives as long as the test: long enough for the token
	// source, which must not get a request's context.
	ctx := t.Context()
	if _, err := erp.SeedToken(ctx, tokens, sb.IssueRefreshToken()); err != nil {
		t.Fatalf("erptest: SeedToken: %v", err)
	}
	var now func() time.Time
	if o.Clock != nil {
		now = o.Clock.Now
	}
	ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{
		BaseURL: srv.URL, ClientID: sb.ClientID(), ClientSecret: sb.ClientSecret(),
		Store: tokens, HTTPClient: srv.Client(), Now: now,
	})
	opts := []erp.Option{erp.WithBaseURL(srv.URL), erp.WithDivision(sb.Division()), erp.WithTokenSource(ts),
		erp.WithHTTPClient(srv.Client())}
	if now != nil {
		opts = append(opts, erp.WithClock(now))
	}
	c, err := erp.New(append(opts, o.Client...)...)
	if err != nil {
		t.Fatalf("erptest: erp.New: %v", err)
	}
	return &Env{Clock: o.Clock, Sandbox: sb, Server: srv, Tokens: tokens, TokenSource: ts, Client: c}
}
