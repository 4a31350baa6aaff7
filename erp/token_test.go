package erp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/store"
)

const (
	testClientID = "client-id-1"
	testSecret   = "s3cret-client-secret"
)

// fakeClock is the project's one fake clock, shared by the fake Exact, the
// token sources and the stores.
type fakeClock = erptest.Clock

func newFakeClock() *fakeClock {
	return erptest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
}

// fakeExact emulates Exact's token endpoint and consent page with Exact's
// rules: rotation (old refresh token → 401 + counter), "not too early" (400 +
// Reason header + counter, or the older 401 form), configurable lifetime.
type fakeExact struct {
	t        *testing.T
	clock    *fakeClock
	lifetime time.Duration
	window   time.Duration
	srv      *httptest.Server

	mu            sync.Mutex
	n             int
	refresh       string               // the one live refresh token
	used          map[string]bool      // consumed refresh tokens
	access        map[string]time.Time // access token → expiry
	lastExpiry    time.Time            // expiry of the newest access token
	codes         map[string]string    // authorization code → redirect_uri
	issued        []string             // every token handed out (for leak checks)
	oldTooEarly   bool                 // answer too early in the pre-2026 401 form
	refreshes     int                  // successful refreshes
	reuses        int                  // old refresh token used
	tooEarly      int                  // refresh refused as too early
	badUses       int                  // API uses of unknown or expired access tokens
	minRemaining  time.Duration        // smallest validity left at any use
	hook          func(w http.ResponseWriter, form url.Values) bool
	beforeRefresh func()
}

func newFakeExact(t *testing.T, clock *fakeClock, lifetime, window time.Duration) *fakeExact {
	f := &fakeExact{t: t, clock: clock, lifetime: lifetime, window: window,
		used: map[string]bool{}, access: map[string]time.Time{}, codes: map[string]string{}, minRemaining: time.Duration(1 << 62)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/oauth2/token", f.token)
	mux.HandleFunc("GET /api/oauth2/auth", f.auth)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// issueLocked creates a new access/refresh pair (consent or refresh).
func (f *fakeExact) issueLocked() (access, refresh string, exp time.Time) {
	f.n++
	access = fmt.Sprintf("AAEAA-access-%d-secretish", f.n)
	refresh = fmt.Sprintf("Gcp7!IAAA-refresh-%d", f.n)
	exp = f.clock.Now().Add(f.lifetime)
	f.access[access] = exp
	f.lastExpiry = exp
	f.refresh = refresh
	f.issued = append(f.issued, access, refresh)
	return access, refresh, exp
}

// consent gives a stored token as if `exactql auth` had just run.
func (f *fakeExact) consent() *erp.StoredToken {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, r, exp := f.issueLocked()
	return &erp.StoredToken{AccessToken: a, RefreshToken: r, Expiry: exp}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeExact) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	form := r.PostForm
	if f.beforeRefresh != nil && form.Get("grant_type") == "refresh_token" {
		f.beforeRefresh()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hook != nil && f.hook(w, form) {
		return
	}
	if form.Get("client_id") != testClientID || form.Get("client_secret") != testSecret {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		redir, ok := f.codes[form.Get("code")]
		if !ok || redir != form.Get("redirect_uri") {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "bad code"})
			return
		}
		delete(f.codes, form.Get("code"))
		a, rt, _ := f.issueLocked()
		writeJSON(w, 200, map[string]string{"access_token": a, "token_type": "bearer", "expires_in": fmt.Sprint(int(f.lifetime.Seconds())), "refresh_token": rt})
	case "refresh_token":
		rt := form.Get("refresh_token")
		if f.used[rt] || rt != f.refresh {
			f.reuses++
			writeJSON(w, 401, map[string]string{"error": "unauthorized_client", "error_description": "Old refresh token used."})
			return
		}
		if left := f.lastExpiry.Sub(f.clock.Now()); left > f.window {
			f.tooEarly++
			if f.oldTooEarly {
				writeJSON(w, 401, map[string]string{"error": "unauthorized_client", "error_description": "Access Token not expired"})
				return
			}
			w.Header().Set("Reason", "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired")
			writeJSON(w, 400, map[string]string{"error": "access_denied", "error_description": "Rate limit exceeded: access_token not expired"})
			return
		}
		f.used[rt] = true
		f.refreshes++
		a, nrt, _ := f.issueLocked()
		writeJSON(w, 200, map[string]string{"access_token": a, "token_type": "bearer", "expires_in": fmt.Sprint(int(f.lifetime.Seconds())), "refresh_token": nrt})
	default:
		writeJSON(w, 400, map[string]string{"error": "unsupported_grant_type"})
	}
}

// auth is the consent page: it "logs in" at once and redirects with a code
// containing "!".
func (f *fakeExact) auth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != testClientID || q.Get("response_type") != "code" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad consent request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.n++
	code := fmt.Sprintf("stampNL001!code-%d", f.n)
	f.codes[code] = q.Get("redirect_uri")
	f.mu.Unlock()
	v := url.Values{"code": {code}, "state": {q.Get("state")}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+v.Encode(), http.StatusFound)
}

// use records an API call made with access token a.
func (f *fakeExact) use(a string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	exp, ok := f.access[a]
	left := exp.Sub(f.clock.Now())
	if !ok || left <= 0 {
		f.badUses++
		return
	}
	f.minRemaining = min(f.minRemaining, left)
}

type counts struct{ Refreshes, Reuses, TooEarly, BadUses int }

func (f *fakeExact) counts() counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	return counts{f.refreshes, f.reuses, f.tooEarly, f.badUses}
}

func (f *fakeExact) secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{testSecret}, f.issued...)
}

// assertNoSecrets fails when any message contains the client secret or a
// token the fake handed out.
func assertNoSecrets(t *testing.T, f *fakeExact, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		for _, s := range f.secrets() {
			if strings.Contains(m, s) {
				t.Errorf("message %q contains a secret or token", m)
			}
		}
	}
}

type recObserver struct {
	mu      sync.Mutex
	reasons []string
	counts  map[erp.RefreshOutcome]int
}

func (o *recObserver) ObserveRefresh(out erp.RefreshOutcome, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.counts == nil {
		o.counts = map[erp.RefreshOutcome]int{}
	}
	o.counts[out]++
	o.reasons = append(o.reasons, reason)
}

func openStore(t *testing.T, dir string, clock *fakeClock) *store.SQLite {
	t.Helper()
	s, err := store.Open(dir, store.WithClock(clock.Now), store.WithLeaseTTL(45*time.Second))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newSource(f *fakeExact, s erp.TokenStore, obs erp.TokenObserver) *erp.TokenSource {
	return erp.NewTokenSource(context.Background(), erp.TokenSourceOptions{
		BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: testSecret,
		Store: s, HTTPClient: f.srv.Client(), Now: f.clock.Now,
		RefreshWindow: f.window, Observer: obs,
	})
}

// runCallers runs steps of the fake clock; in each step every source gets
// callersPer concurrent Token calls whose tokens are used at the fake Exact.
func runCallers(t *testing.T, f *fakeExact, sources []*erp.TokenSource, callersPer, steps int, step time.Duration) {
	t.Helper()
	var errMu sync.Mutex
	var errs []error
	for range steps {
		var wg sync.WaitGroup
		for _, ts := range sources {
			for range callersPer {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tok, err := ts.Token()
					if err != nil {
						errMu.Lock()
						errs = append(errs, err)
						errMu.Unlock()
						return
					}
					f.use(tok.AccessToken)
				}()
			}
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d Token errors at %v, first: %v", len(errs), f.clock.Now(), errs[0])
		}
		f.clock.Advance(step)
	}
}

func checkLifetimes(t *testing.T, f *fakeExact, elapsed time.Duration) {
	t.Helper()
	c := f.counts()
	if c.Reuses != 0 || c.TooEarly != 0 || c.BadUses != 0 {
		t.Errorf("counts = %+v, want zero reuses, too-early refreshes and bad uses", c)
	}
	// Never early: at most one refresh per (lifetime − window); never late:
	// at least one per lifetime.
	lo := int(elapsed/f.lifetime) - 1
	hi := int(elapsed/(f.lifetime-f.window)) + 1
	if c.Refreshes < lo || c.Refreshes > hi {
		t.Errorf("refreshes = %d, want between %d and %d", c.Refreshes, lo, hi)
	}
	f.mu.Lock()
	minLeft := f.minRemaining
	f.mu.Unlock()
	if minLeft < f.window/10 {
		t.Errorf("a token was used with only %v left, want at least %v", minLeft, f.window/10)
	}
}

func TestTokenSourceManyLifetimesConcurrent(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	if err := s.SaveToken(context.Background(), f.consent()); err != nil {
		t.Fatal(err)
	}
	ts := newSource(f, s, nil)
	const steps, step = 1200, time.Second // 20 lifetimes
	runCallers(t, f, []*erp.TokenSource{ts}, 50, steps, step)
	checkLifetimes(t, f, steps*step)
	if st := ts.Status(context.Background()); !st.OK {
		t.Errorf("Status = %+v, want OK", st)
	}
}

func TestTokenSourceTwoProcessesOneStore(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	dir := t.TempDir()
	s1 := openStore(t, dir, clock)
	s2 := openStore(t, dir, clock)
	if err := s1.SaveToken(context.Background(), f.consent()); err != nil {
		t.Fatal(err)
	}
	ts1, ts2 := newSource(f, s1, nil), newSource(f, s2, nil)
	// Uneven steps so the processes meet the window at varying offsets.
	const steps, step = 900, 1300 * time.Millisecond
	runCallers(t, f, []*erp.TokenSource{ts1, ts2}, 25, steps, step)
	checkLifetimes(t, f, steps*step)
}

func TestTokenSourceRestartBetweenRefreshes(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	dir := t.TempDir()
	s1, err := store.Open(dir, store.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.SaveToken(context.Background(), f.consent()); err != nil {
		t.Fatal(err)
	}
	ts1 := newSource(f, s1, nil)
	runCallers(t, f, []*erp.TokenSource{ts1}, 10, 200, time.Second)
	s1.Close() // the process is killed between refreshes
	s2 := openStore(t, dir, clock)
	ts2 := newSource(f, s2, nil)
	runCallers(t, f, []*erp.TokenSource{ts2}, 10, 200, time.Second)
	checkLifetimes(t, f, 400*time.Second)
}

// skewedStore stores a token whose expiry we believe to be earlier than
// Exact's, so our refresh comes too early for Exact.
func skewedSetup(t *testing.T) (*fakeClock, *fakeExact, *store.SQLite, *erp.StoredToken) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	tok := f.consent()
	tok.Expiry = tok.Expiry.Add(-20 * time.Second)
	if err := s.SaveToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return clock, f, s, tok
}

func TestTokenSourceTooEarlyKeepsValidToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		old  bool
	}{{"400 with Reason header", false}, {"older 401 form", true}} {
		t.Run(tc.name, func(t *testing.T) {
			clock, f, s, tok := skewedSetup(t)
			f.oldTooEarly = tc.old
			obs := &recObserver{}
			ts := newSource(f, s, obs)
			clock.Advance(15 * time.Second) // we think 25 s are left, Exact 45 s
			for i := range 3 {
				got, err := ts.Token()
				if err != nil {
					t.Fatalf("Token #%d: %v", i, err)
				}
				if got.AccessToken != tok.AccessToken {
					t.Errorf("Token #%d: got a different access token, want the still valid one", i)
				}
			}
			if c := f.counts(); c.TooEarly != 1 || c.Refreshes != 0 {
				t.Errorf("counts = %+v, want one too-early answer (then back-off) and no refresh", c)
			}
			if obs.counts[erp.RefreshTooEarly] != 1 {
				t.Errorf("observer = %v, want one too_early", obs.counts)
			}
			// Later, within Exact's window, the refresh succeeds.
			clock.Advance(20 * time.Second)
			got, err := ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessToken == tok.AccessToken {
				t.Error("token not refreshed inside Exact's window")
			}
			if c := f.counts(); c.Refreshes != 1 || c.Reuses != 0 {
				t.Errorf("counts = %+v, want one refresh", c)
			}
			if st, err := s.LoadToken(context.Background()); err != nil || !st.RefreshStarted.IsZero() {
				t.Errorf("stored = %+v, %v; want no refresh mark left", st, err)
			}
			assertNoSecrets(t, f, obs.reasons...)
		})
	}
}

func TestTokenSourcePersistsRefreshTokenFromErrorResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   map[string]string
		reason string
	}{
		{"too early", 400, map[string]string{"error": "access_denied", "error_description": "Rate limit exceeded: access_token not expired"}, "TooEarlyToRefreshTokens: x"},
		{"rate limited", 429, map[string]string{"error": "rate_limited", "error_description": "Too many requests"}, ""},
		{"server error", 500, map[string]string{"error": "server_error"}, ""},
		{"old token with a new one", 401, map[string]string{"error": "unauthorized_client", "error_description": "Old refresh token used."}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
			s := openStore(t, t.TempDir(), clock)
			tok := f.consent()
			if err := s.SaveToken(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			f.hook = func(w http.ResponseWriter, form url.Values) bool {
				if tc.reason != "" {
					w.Header().Set("Reason", tc.reason)
				}
				b := map[string]string{"refresh_token": "Gcp7!NEW-from-error"}
				for k, v := range tc.body {
					b[k] = v
				}
				writeJSON(w, tc.status, b)
				return true
			}
			ts := newSource(f, s, nil)
			clock.Advance(35 * time.Second) // 25 s left: refresh is due
			got, err := ts.Token()
			if err != nil {
				t.Fatalf("Token: %v (the old token is still valid and must be used)", err)
			}
			if got.AccessToken != tok.AccessToken {
				t.Error("want the still valid stored access token")
			}
			st, err := s.LoadToken(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if st.RefreshToken != "Gcp7!NEW-from-error" || !st.RefreshStarted.IsZero() || st.ConsentNeeded != "" {
				t.Errorf("stored = refresh %q, mark %v, consent %q; want the new refresh token, no mark, no consent", st.RefreshToken, st.RefreshStarted, st.ConsentNeeded)
			}
		})
	}
}

func TestTokenSourceConsentRequired(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(w http.ResponseWriter, form url.Values) bool
	}{
		{"old refresh token used", nil},
		{"refresh token expired", func(w http.ResponseWriter, _ url.Values) bool {
			writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "The refresh token expired at 1-1-2026 and it is now 2-2-2026."})
			return true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
			s := openStore(t, t.TempDir(), clock)
			tok := f.consent()
			f.consent() // rotates elsewhere: tok's refresh token is dead now
			f.mu.Lock()
			f.used[tok.RefreshToken] = true
			f.lastExpiry = clock.Now()
			f.hook = tc.hook
			f.mu.Unlock()
			if err := s.SaveToken(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
			ts := newSource(f, s, nil)
			clock.Advance(40 * time.Second)
			_, err := ts.Token()
			if !errors.Is(err, erp.ErrConsentRequired) {
				t.Fatalf("Token error = %v, want ErrConsentRequired", err)
			}
			st := ts.Status(context.Background())
			if st.OK || !st.ConsentNeeded || !strings.Contains(st.Reason, "exactql auth") || strings.Contains(st.Reason, "interrupted") {
				t.Errorf("Status = %+v, want consent needed naming `exactql auth`, not an interruption", st)
			}
			// The state is durable: another process sees it without calling Exact.
			before := f.counts()
			s2 := openStore(t, filepathDir(s), clock)
			ts2 := newSource(f, s2, nil)
			if _, err := ts2.Token(); !errors.Is(err, erp.ErrConsentRequired) {
				t.Errorf("second process Token error = %v, want ErrConsentRequired", err)
			}
			if after := f.counts(); after != before {
				t.Errorf("second process called Exact: %+v → %+v", before, after)
			}
			// A new consent heals it for running processes.
			if err := s2.SaveToken(context.Background(), f.consent()); err != nil {
				t.Fatal(err)
			}
			if _, err := ts.Token(); err != nil {
				t.Errorf("Token after new consent: %v", err)
			}
			if st := ts.Status(context.Background()); !st.OK || st.LastError != "" {
				t.Errorf("Status after new consent = %+v, want OK without a stale error", st)
			}
			assertNoSecrets(t, f, err.Error(), st.Reason)
		})
	}
}

func filepathDir(s *store.SQLite) string {
	p := s.Path()
	return p[:strings.LastIndex(p, "/")]
}

// crashAt makes store s fail the given writes, as if the process died there.
func crashAt(s *store.SQLite, ops ...string) {
	s.FailWrites(func(op string) error {
		for _, o := range ops {
			if o == op {
				return errors.New("process killed")
			}
		}
		return nil
	})
}

func TestTokenSourceCrashAfterMarkBeforeCommit(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	dir := t.TempDir()
	s1 := openStore(t, dir, clock)
	if err := s1.SaveToken(context.Background(), f.consent()); err != nil {
		t.Fatal(err)
	}
	ts1 := newSource(f, s1, nil)
	clock.Advance(58 * time.Second) // 2 s left: the old token cannot be handed out
	// Dies after Exact rotated but before the commit (and never unlocks).
	crashAt(s1, store.OpCommit, store.OpUnlock)
	if _, err := ts1.Token(); err == nil {
		t.Fatal("Token succeeded although the commit failed")
	}
	if c := f.counts(); c.Refreshes != 1 {
		t.Fatalf("counts = %+v, want Exact to have rotated once", c)
	}
	s1.Close()

	// Restart after the dead holder's lease ran out.
	clock.Advance(50 * time.Second)
	s2 := openStore(t, dir, clock)
	ts2 := newSource(f, s2, nil)
	_, err := ts2.Token()
	if !errors.Is(err, erp.ErrConsentRequired) {
		t.Fatalf("Token after restart = %v, want ErrConsentRequired", err)
	}
	st := ts2.Status(context.Background())
	if st.OK || !st.ConsentNeeded || !strings.Contains(st.Reason, "interrupted") || !strings.Contains(st.Reason, "exactql auth") {
		t.Errorf("Status = %+v, want consent needed because a refresh was interrupted", st)
	}
	if c := f.counts(); c.Reuses != 1 {
		t.Errorf("counts = %+v, want exactly the one retry of the consumed token", c)
	}
	assertNoSecrets(t, f, err.Error(), st.Reason)
}

func TestTokenSourceCrashBeforeMarkKeepsWorkingToken(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	dir := t.TempDir()
	s1 := openStore(t, dir, clock)
	if err := s1.SaveToken(context.Background(), f.consent()); err != nil {
		t.Fatal(err)
	}
	ts1 := newSource(f, s1, nil)
	clock.Advance(58 * time.Second) // 2 s left: too little to hand out
	crashAt(s1, store.OpMark, store.OpUnlock)
	if _, err := ts1.Token(); err == nil {
		t.Fatal("Token succeeded although marking failed")
	}
	if c := f.counts(); c.Refreshes != 0 || c.Reuses != 0 {
		t.Fatalf("counts = %+v, want Exact not called", c)
	}
	s1.Close()

	clock.Advance(50 * time.Second)
	s2 := openStore(t, dir, clock)
	ts2 := newSource(f, s2, nil)
	tok, err := ts2.Token()
	if err != nil {
		t.Fatalf("Token after restart: %v", err)
	}
	f.use(tok.AccessToken)
	if c := f.counts(); c.Refreshes != 1 || c.Reuses != 0 || c.BadUses != 0 {
		t.Errorf("counts = %+v, want one clean refresh", c)
	}
	if st := ts2.Status(context.Background()); !st.OK || st.RefreshPending {
		t.Errorf("Status = %+v, want OK", st)
	}
}

func TestTokenSourceNetworkFailureKeepsMark(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	tok := f.consent()
	if err := s.SaveToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	// Exact rotates but the answer is lost on the way back.
	f.hook = func(w http.ResponseWriter, form url.Values) bool {
		f.used[form.Get("refresh_token")] = true
		f.issueLocked()
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("no hijacker")
			return true
		}
		c, _, _ := hj.Hijack()
		c.Close()
		return true
	}
	ts := newSource(f, s, nil)
	clock.Advance(40 * time.Second)
	got, err := ts.Token()
	if err != nil || got.AccessToken != tok.AccessToken {
		t.Fatalf("Token = %v, want the still valid old token", err)
	}
	if st := ts.Status(context.Background()); !st.OK || !st.RefreshPending {
		t.Errorf("Status = %+v, want OK with the refresh mark kept", st)
	}
	f.mu.Lock()
	f.hook = nil
	f.mu.Unlock()
	clock.Advance(15 * time.Second) // past the back-off
	_, err = ts.Token()
	if !errors.Is(err, erp.ErrConsentRequired) {
		t.Fatalf("Token = %v, want ErrConsentRequired", err)
	}
	if st := ts.Status(context.Background()); !st.ConsentNeeded || !strings.Contains(st.Reason, "interrupted") {
		t.Errorf("Status = %+v, want consent needed after an interrupted refresh", st)
	}
}

func TestSeedToken(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	ctx := context.Background()
	seedTok := f.consent()
	f.mu.Lock()
	f.lastExpiry = clock.Now() // the seeded chain's access token is unknown
	f.mu.Unlock()

	if seeded, err := erp.SeedToken(ctx, s, ""); err != nil || seeded {
		t.Errorf("SeedToken(empty) = %v, %v; want false, nil", seeded, err)
	}
	if seeded, err := erp.SeedToken(ctx, s, seedTok.RefreshToken); err != nil || !seeded {
		t.Fatalf("SeedToken = %v, %v; want true, nil", seeded, err)
	}
	if seeded, err := erp.SeedToken(ctx, s, "Gcp7!other"); err != nil || seeded {
		t.Errorf("second SeedToken = %v, %v; want false, nil", seeded, err)
	}
	st, err := s.LoadToken(ctx)
	if err != nil || st.RefreshToken != seedTok.RefreshToken {
		t.Fatalf("stored refresh token changed by a second seed (%v)", err)
	}
	ts := newSource(f, s, nil)
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token from seeded store: %v", err)
	}
	f.use(tok.AccessToken)
	if c := f.counts(); c.Refreshes != 1 || c.BadUses != 0 {
		t.Errorf("counts = %+v, want one refresh", c)
	}
}

func TestTokenSourceEmptyStore(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	ts := newSource(f, s, nil)
	if _, err := ts.Token(); !errors.Is(err, erp.ErrConsentRequired) {
		t.Errorf("Token = %v, want ErrConsentRequired", err)
	}
	if st := ts.Status(context.Background()); st.OK || !st.ConsentNeeded {
		t.Errorf("Status = %+v, want consent needed", st)
	}
}

func TestTokenSourceBadSecretIsNotLeaked(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	if err := s.SaveToken(context.Background(), f.consent()); err != nil {
		t.Fatal(err)
	}
	// Exact echoing request data into its error must not leak it either
	// way: we only ever report Exact's short description.
	obs := &recObserver{}
	ts := erp.NewTokenSource(context.Background(), erp.TokenSourceOptions{
		BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: "wrong-" + testSecret,
		Store: s, HTTPClient: f.srv.Client(), Now: clock.Now, RefreshWindow: 30 * time.Second, Observer: obs,
	})
	clock.Advance(59 * time.Second)
	_, err := ts.Token()
	if err == nil || errors.Is(err, erp.ErrConsentRequired) {
		t.Fatalf("Token = %v, want a non-consent error", err)
	}
	msgs := append(append([]string{}, obs.reasons...), err.Error(), ts.Status(context.Background()).LastError)
	assertNoSecrets(t, f, msgs...)
	for _, m := range msgs {
		if strings.Contains(m, "wrong-"+testSecret) {
			t.Errorf("message %q contains the secret", m)
		}
	}
}

func TestTokenSourceMarkWithoutRotationRecovers(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	tok := f.consent()
	if err := s.SaveToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	// Exact's load balancer fails before Exact sees the refresh.
	f.hook = func(w http.ResponseWriter, _ url.Values) bool {
		http.Error(w, "<html>503</html>", http.StatusServiceUnavailable)
		return true
	}
	ts := newSource(f, s, nil)
	clock.Advance(40 * time.Second)
	if got, err := ts.Token(); err != nil || got.AccessToken != tok.AccessToken {
		t.Fatalf("Token = %v, want the still valid old token", err)
	}
	if st := ts.Status(context.Background()); !st.OK || !st.RefreshPending || st.LastError == "" {
		t.Errorf("Status = %+v, want OK, mark kept, last error reported", st)
	}
	f.mu.Lock()
	f.hook = nil
	f.mu.Unlock()
	clock.Advance(10 * time.Second)
	got, err := ts.Token()
	if err != nil {
		t.Fatalf("Token after the outage: %v", err)
	}
	f.use(got.AccessToken)
	if c := f.counts(); c.Refreshes != 1 || c.Reuses != 0 || c.BadUses != 0 {
		t.Errorf("counts = %+v, want one clean refresh", c)
	}
	if st := ts.Status(context.Background()); !st.OK || st.RefreshPending || st.LastError != "" {
		t.Errorf("Status = %+v, want OK without mark or error", st)
	}
}

func TestTokenSourceRedactsEchoedSecrets(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	if err := s.SaveToken(context.Background(), f.consent()); err != nil {
		t.Fatal(err)
	}
	// A misbehaving endpoint echoes what it got.
	f.hook = func(w http.ResponseWriter, form url.Values) bool {
		w.Header().Set("Reason", "bad "+form.Get("client_secret"))
		writeJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "token " + form.Get("refresh_token") + " secret " + form.Get("client_secret")})
		return true
	}
	obs := &recObserver{}
	ts := newSource(f, s, obs)
	clock.Advance(59 * time.Second)
	_, err := ts.Token()
	if !errors.Is(err, erp.ErrConsentRequired) {
		t.Fatalf("Token = %v, want ErrConsentRequired", err)
	}
	st := ts.Status(context.Background())
	assertNoSecrets(t, f, append(append([]string{}, obs.reasons...), err.Error(), st.Reason, st.LastError)...)
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q: want the echoed values redacted", err)
	}
}
