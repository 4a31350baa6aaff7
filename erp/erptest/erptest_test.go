package erptest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
)

func small() sandbox.Options {
	return sandbox.Options{Data: gen.Options{Seed: 1, Items: gen.MinItems, Customers: gen.MinCustomers, Warehouses: 1}}
}

func TestSetupClientReadsSandbox(t *testing.T) {
	env := erptest.Setup(t, erptest.Options{Sandbox: small()})
	items, _, err := env.Client.Items.ListPage(t.Context(), erp.Query{}, "")
	if err != nil || len(items) == 0 {
		t.Fatalf("Items.ListPage = %d items, %v; want some", len(items), err)
	}
	tok, err := env.Tokens.LoadToken(t.Context())
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("stored token after a call = %+v, %v; want an access and a refresh token", tok, err)
	}
	if env.Clock != nil {
		t.Errorf("Clock = %v without Options.Clock; want nil (real time)", env.Clock.Now())
	}
}

// TestSetupOneClock: the Clock drives the sandbox's token lifetime and the
// token source together, so advancing it past the access token's life makes
// the next call refresh (rotating the refresh token) and the new expiry is
// on the fake clock, not the wall clock.
func TestSetupOneClock(t *testing.T) {
	clock := erptest.NewClock(erptest.Start)
	env := erptest.Setup(t, erptest.Options{Sandbox: small(), Clock: clock})
	if env.Clock != clock {
		t.Fatal("Env.Clock is not Options.Clock")
	}
	ctx := t.Context()
	if _, _, err := env.Client.Items.ListPage(ctx, erp.Query{}, ""); err != nil {
		t.Fatalf("first call: %v", err)
	}
	first, err := env.Tokens.LoadToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := first.Expiry.Sub(erptest.Start); d <= 0 || d > 10*time.Minute {
		t.Fatalf("expiry %v is %v after the fake start; want within the sandbox's 10 min lifetime", first.Expiry, d)
	}
	tokenCalls := func() int {
		return env.Sandbox.CallCount(func(c sandbox.Call) bool { return c.Endpoint == "oauth2/token" })
	}
	before := tokenCalls()
	clock.Advance(11 * time.Minute)
	if _, _, err := env.Client.Items.ListPage(ctx, erp.Query{}, ""); err != nil {
		t.Fatalf("call after the token expired on the fake clock: %v", err)
	}
	second, err := env.Tokens.LoadToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || !second.Expiry.After(first.Expiry) {
		t.Errorf("no refresh after Advance: before %+v, after %+v", first, second)
	}
	if got := tokenCalls() - before; got != 1 {
		t.Errorf("token endpoint calls after Advance = %d; want 1", got)
	}
}

func TestSetupKeepsGivenTokenStore(t *testing.T) {
	tokens := &erptest.TokenStore{}
	env := erptest.Setup(t, erptest.Options{Sandbox: small(), Tokens: tokens})
	if env.Tokens != erp.TokenStore(tokens) {
		t.Fatal("Env.Tokens is not Options.Tokens")
	}
	tok, err := tokens.LoadToken(t.Context())
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("given store not seeded: %+v, %v", tok, err)
	}
}

func TestTokenStore(t *testing.T) {
	ctx := t.Context()
	var s erptest.TokenStore
	if _, err := s.LoadToken(ctx); !errors.Is(err, erp.ErrNoToken) {
		t.Fatalf("empty LoadToken error = %v; want ErrNoToken", err)
	}
	if err := s.SaveToken(ctx, &erp.StoredToken{RefreshToken: "r1"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.LoadToken(ctx)
	got.RefreshToken = "changed by caller"
	if again, _ := s.LoadToken(ctx); again.RefreshToken != "r1" {
		t.Fatalf("LoadToken hands out the stored token itself: %q", again.RefreshToken)
	}

	// A token returned with an error is committed; mark sets RefreshStarted.
	started := erptest.Start
	boom := errors.New("boom")
	err := s.WithRefreshLock(ctx, func(cur *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
		if cur == nil || cur.RefreshToken != "r1" {
			t.Errorf("current = %+v; want r1", cur)
		}
		if err := mark(started); err != nil {
			t.Errorf("mark: %v", err)
		}
		return &erp.StoredToken{RefreshToken: "r2", RefreshStarted: started}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithRefreshLock error = %v; want fn's", err)
	}
	if tok, _ := s.LoadToken(ctx); tok.RefreshToken != "r2" || !tok.RefreshStarted.Equal(started) {
		t.Fatalf("after fn failed with a token: %+v; want r2 committed", tok)
	}

	// A nil token leaves the stored one, mark included.
	later := started.Add(time.Minute)
	if err := s.WithRefreshLock(ctx, func(_ *erp.StoredToken, mark func(time.Time) error) (*erp.StoredToken, error) {
		return nil, mark(later)
	}); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.LoadToken(ctx); tok.RefreshToken != "r2" || !tok.RefreshStarted.Equal(later) {
		t.Fatalf("after nil token: %+v; want r2 with the new mark", tok)
	}
}
