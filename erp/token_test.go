package erp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
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

// fakeExact is the sandbox's OAuth server (erp/sandbox: Exact's rules of
// rotation, "not too early" and consent) behind a test's instruments: hooks
// that answer or break a token request in its place, the pre-2026 401 form
// of "too early", and a record of every token handed out, so tests can
// check that no token was used after its expiry or leaked into a message.
type fakeExact struct {
	t        *testing.T
	clock    *fakeClock
	lifetime time.Duration
	window   time.Duration
	sb       *sandbox.Sandbox
	srv      *httptest.Server

	mu           sync.Mutex
	access       map[string]time.Time // access token → expiry
	refresh      string               // the newest refresh token handed out
	issued       []string             // every token handed out (for leak checks)
	oldTooEarly  bool                 // answer too early in the pre-2026 401 form
	badUses      int                  // API uses of unknown or expired access tokens
	minRemaining time.Duration        // smallest validity left at any use
	// hook, when set, sees each token request first and answers it itself
	// when it returns true (forward sends the request on to the sandbox).
	hook          func(w http.ResponseWriter, form url.Values, forward func() *httptest.ResponseRecorder) bool
	beforeRefresh func()
}

// newFakeExact starts the sandbox's OAuth server with access tokens living
// lifetime, refreshable in their last window, for the test client; the
// redirect URLs are registered for consent.
func newFakeExact(t *testing.T, clock *fakeClock, lifetime, window time.Duration, redirects ...string) *fakeExact {
	f := &fakeExact{t: t, clock: clock, lifetime: lifetime, window: window,
		access: map[string]time.Time{}, minRemaining: time.Duration(1 << 62)}
	f.sb = sandbox.New(sandbox.Options{Clock: clock, ClientID: testClientID, ClientSecret: testSecret,
		TokenLifetime: lifetime, RefreshWindow: window, RedirectURLs: redirects,
		Data: gen.Options{Items: 10, Customers: 10}})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/oauth2/token", f.token)
	mux.HandleFunc("GET /api/oauth2/auth", f.auth)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// consent gives a stored token as if `exactql auth` had just run: a code
// from the consent page, exchanged at the token endpoint.
func (f *fakeExact) consent() *erp.StoredToken {
	f.t.Helper()
	q := url.Values{"client_id": {testClientID}, "redirect_uri": {sandbox.DefaultHTTPSRedirectURL}, "response_type": {"code"}}
	resp, err := noFollow.Get(f.srv.URL + "/api/oauth2/auth?" + q.Encode())
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		f.t.Fatalf("consent page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok := f.post(url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {sandbox.DefaultHTTPSRedirectURL}})
	return &erp.StoredToken{AccessToken: tok["access_token"], RefreshToken: tok["refresh_token"], Expiry: f.clock.Now().Add(f.lifetime)}
}

// rotateElsewhere spends refresh token rt at Exact, as another process of
// a split brain would: rt is an old refresh token from then on. The clock
// visits the refresh window and comes back.
func (f *fakeExact) rotateElsewhere(rt string) {
	f.t.Helper()
	back := f.clock.Now()
	f.clock.Advance(f.lifetime - f.window + time.Second)
	f.post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	f.clock.Set(back)
}

// post sends a token request for the test client straight to the sandbox
// (no hook sees it) and returns the answer.
func (f *fakeExact) post(form url.Values) map[string]string {
	f.t.Helper()
	form.Set("client_id", testClientID)
	form.Set("client_secret", testSecret)
	req := httptest.NewRequest(http.MethodPost, "/api/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := f.exchange(req, []byte(form.Encode()))
	var tok map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || rec.Code != http.StatusOK {
		f.t.Fatalf("token endpoint: %d %v %v", rec.Code, tok, err)
	}
	return tok
}

// exchange has the sandbox answer token request r (its body) and records
// the tokens it hands out.
func (f *fakeExact) exchange(r *http.Request, body []byte) *httptest.ResponseRecorder {
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	f.sb.ServeHTTP(rec, req)
	if rec.Code == http.StatusOK {
		var tok map[string]string
		if json.Unmarshal(rec.Body.Bytes(), &tok) == nil {
			f.mu.Lock()
			f.access[tok["access_token"]] = f.clock.Now().Add(f.lifetime)
			f.refresh = tok["refresh_token"]
			f.issued = append(f.issued, tok["access_token"], tok["refresh_token"])
			f.mu.Unlock()
		}
	}
	return rec
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// token passes a token request to the sandbox, through the hooks, and
// records the tokens it hands out.
func (f *fakeExact) token(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	form, _ := url.ParseQuery(string(body))
	forward := func() *httptest.ResponseRecorder { return f.exchange(r, body) }
	if f.beforeRefresh != nil && form.Get("grant_type") == "refresh_token" {
		f.beforeRefresh()
	}
	f.mu.Lock()
	hook, old := f.hook, f.oldTooEarly
	f.mu.Unlock()
	if hook != nil && hook(w, form, forward) {
		return
	}
	rec := forward()
	if old && rec.Code == http.StatusBadRequest && strings.HasPrefix(rec.Header().Get("Reason"), "TooEarlyToRefreshTokens") {
		writeJSON(w, 401, map[string]string{"error": "unauthorized_client", "error_description": "Access Token not expired"})
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// auth is the consent page: the person approves at once, so the sandbox
// redirects with a code (which contains "!").
func (f *fakeExact) auth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	q.Set("approve", "1")
	r.URL.RawQuery = q.Encode()
	f.sb.ServeHTTP(w, r)
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

// counts are the sandbox's counters of refreshes, reuses of an old refresh
// token and too-early refreshes, and the uses of bad access tokens seen.
func (f *fakeExact) counts() counts {
	st := f.sb.Stats()
	f.mu.Lock()
	defer f.mu.Unlock()
	return counts{int(st.TokenRefreshes), int(st.OldTokenReuses), int(st.TooEarlyRefreshes), f.badUses}
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
	if err := s.SaveToken(t.Context(), f.consent()); err != nil {
		t.Fatal(err)
	}
	ts := newSource(f, s, nil)
	const steps, step = 1200, time.Second // 20 lifetimes
	runCallers(t, f, []*erp.TokenSource{ts}, 50, steps, step)
	checkLifetimes(t, f, steps*step)
	if st := ts.Status(t.Context()); !st.OK {
		t.Errorf("Status = %+v, want OK", st)
	}
}

func TestTokenSourceTwoProcessesOneStore(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	dir := t.TempDir()
	s1 := openStore(t, dir, clock)
	s2 := openStore(t, dir, clock)
	if err := s1.SaveToken(t.Context(), f.consent()); err != nil {
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
	if err := s1.SaveToken(t.Context(), f.consent()); err != nil {
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
			if st, err := s.LoadToken(t.Context()); err != nil || !st.RefreshStarted.IsZero() {
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
			if err := s.SaveToken(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
			f.hook = func(w http.ResponseWriter, form url.Values, _ func() *httptest.ResponseRecorder) bool {
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
			st, err := s.LoadToken(t.Context())
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
		hook func(w http.ResponseWriter, form url.Values, _ func() *httptest.ResponseRecorder) bool
	}{
		{"old refresh token used", nil},
		{"refresh token expired", func(w http.ResponseWriter, _ url.Values, _ func() *httptest.ResponseRecorder) bool {
			writeJSON(w, 400, map[string]string{"error": "invalid_request", "error_description": "The refresh token expired at 1-1-2026 and it is now 2-2-2026."})
			return true
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
			s := openStore(t, t.TempDir(), clock)
			tok := f.consent()
			f.rotateElsewhere(tok.RefreshToken) // tok's refresh token is old now
			f.mu.Lock()
			f.hook = tc.hook
			f.mu.Unlock()
			if err := s.SaveToken(t.Context(), tok); err != nil {
				t.Fatal(err)
			}
			ts := newSource(f, s, nil)
			clock.Advance(40 * time.Second)
			_, err := ts.Token()
			if !errors.Is(err, erp.ErrConsentRequired) {
				t.Fatalf("Token error = %v, want ErrConsentRequired", err)
			}
			st := ts.Status(t.Context())
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
			if err := s2.SaveToken(t.Context(), f.consent()); err != nil {
				t.Fatal(err)
			}
			if _, err := ts.Token(); err != nil {
				t.Errorf("Token after new consent: %v", err)
			}
			if st := ts.Status(t.Context()); !st.OK || st.LastError != "" {
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
	if err := s1.SaveToken(t.Context(), f.consent()); err != nil {
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
	st := ts2.Status(t.Context())
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
	if err := s1.SaveToken(t.Context(), f.consent()); err != nil {
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
	if st := ts2.Status(t.Context()); !st.OK || st.RefreshPending {
		t.Errorf("Status = %+v, want OK", st)
	}
}

func TestTokenSourceNetworkFailureKeepsMark(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	tok := f.consent()
	if err := s.SaveToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	// Exact rotates but the answer is lost on the way back.
	f.hook = func(w http.ResponseWriter, form url.Values, forward func() *httptest.ResponseRecorder) bool {
		forward() // Exact rotates
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
	if st := ts.Status(t.Context()); !st.OK || !st.RefreshPending {
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
	if st := ts.Status(t.Context()); !st.ConsentNeeded || !strings.Contains(st.Reason, "interrupted") {
		t.Errorf("Status = %+v, want consent needed after an interrupted refresh", st)
	}
}

func TestSeedToken(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	ctx := t.Context()
	// A chain without an access token, as EXACT_REFRESH_TOKEN seeds it.
	seedRT := f.sb.IssueRefreshToken()

	if seeded, err := erp.SeedToken(ctx, s, ""); err != nil || seeded {
		t.Errorf("SeedToken(empty) = %v, %v; want false, nil", seeded, err)
	}
	if seeded, err := erp.SeedToken(ctx, s, seedRT); err != nil || !seeded {
		t.Fatalf("SeedToken = %v, %v; want true, nil", seeded, err)
	}
	if seeded, err := erp.SeedToken(ctx, s, "Gcp7!other"); err != nil || seeded {
		t.Errorf("second SeedToken = %v, %v; want false, nil", seeded, err)
	}
	st, err := s.LoadToken(ctx)
	if err != nil || st.RefreshToken != seedRT {
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
	if st := ts.Status(t.Context()); st.OK || !st.ConsentNeeded {
		t.Errorf("Status = %+v, want consent needed", st)
	}
}

func TestTokenSourceBadSecretIsNotLeaked(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	if err := s.SaveToken(t.Context(), f.consent()); err != nil {
		t.Fatal(err)
	}
	// Exact echoing request data into its error must not leak it either
	// way: we only ever report Exact's short description.
	obs := &recObserver{}
	ts := erp.NewTokenSource(t.Context(), erp.TokenSourceOptions{
		BaseURL: f.srv.URL, ClientID: testClientID, ClientSecret: "wrong-" + testSecret,
		Store: s, HTTPClient: f.srv.Client(), Now: clock.Now, RefreshWindow: 30 * time.Second, Observer: obs,
	})
	clock.Advance(59 * time.Second)
	_, err := ts.Token()
	if err == nil || errors.Is(err, erp.ErrConsentRequired) {
		t.Fatalf("Token = %v, want a non-consent error", err)
	}
	msgs := append(append([]string{}, obs.reasons...), err.Error(), ts.Status(t.Context()).LastError)
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
	if err := s.SaveToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	// Exact's load balancer fails before Exact sees the refresh.
	f.hook = func(w http.ResponseWriter, _ url.Values, _ func() *httptest.ResponseRecorder) bool {
		http.Error(w, "<html>503</html>", http.StatusServiceUnavailable)
		return true
	}
	ts := newSource(f, s, nil)
	clock.Advance(40 * time.Second)
	if got, err := ts.Token(); err != nil || got.AccessToken != tok.AccessToken {
		t.Fatalf("Token = %v, want the still valid old token", err)
	}
	if st := ts.Status(t.Context()); !st.OK || !st.RefreshPending || st.LastError == "" {
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
	if st := ts.Status(t.Context()); !st.OK || st.RefreshPending || st.LastError != "" {
		t.Errorf("Status = %+v, want OK without mark or error", st)
	}
}

func TestTokenSourceRedactsEchoedSecrets(t *testing.T) {
	clock := newFakeClock()
	f := newFakeExact(t, clock, 60*time.Second, 30*time.Second)
	s := openStore(t, t.TempDir(), clock)
	if err := s.SaveToken(t.Context(), f.consent()); err != nil {
		t.Fatal(err)
	}
	// A misbehaving endpoint echoes what it got.
	f.hook = func(w http.ResponseWriter, form url.Values, _ func() *httptest.ResponseRecorder) bool {
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
	st := ts.Status(t.Context())
	assertNoSecrets(t, f, append(append([]string{}, obs.reasons...), err.Error(), st.Reason, st.LastError)...)
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %q: want the echoed values redacted", err)
	}
}
