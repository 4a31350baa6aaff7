package erp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// ErrNoToken is returned by a TokenStore that holds no token yet: a person
// must run `exactql auth` (or the store must be seeded with
// EXACT_REFRESH_TOKEN).
var ErrNoToken = errors.New("erp: no Exact token stored")

// ErrTooEarly is reported (wrapped) when Exact refused a refresh because the
// current access token is not yet in its refresh window. The token source then
// keeps using the stored, still valid access token.
var ErrTooEarly = errors.New("erp: Exact refused the token refresh: access token not expired yet")

// ErrTokenEndpoint wraps every other failure to talk to Exact's token
// endpoint (network errors, 5xx, unexpected answers). Such failures are
// transient: the token source retries after a back-off.
var ErrTokenEndpoint = errors.New("erp: Exact token endpoint failed")

// DefaultRefreshWindow is the last part of an access token's life in which
// Exact accepts a refresh (exact-online-api.md §2.4).
const DefaultRefreshWindow = 30 * time.Second

// StoredToken is the durable state of the OAuth2 token chain.
type StoredToken struct {
	// AccessToken is the current bearer token; it may be empty (seeded
	// store) or expired.
	AccessToken string
	// RefreshToken is the newest refresh token Exact handed out.
	RefreshToken string
	// Expiry is when AccessToken expires, computed from our clock when the
	// token response arrived (never earlier than Exact's own expiry).
	Expiry time.Time
	// RefreshStarted is non-zero while a refresh with RefreshToken was (or
	// may have been) in flight: it is committed before Exact is called and
	// cleared together with the new tokens. A set mark found later means
	// Exact may already have consumed RefreshToken.
	RefreshStarted time.Time
	// ConsentNeeded is the reason the chain is broken, "" when it is fine.
	ConsentNeeded string
}

// TokenStore keeps the token chain durably and serialises refreshes across
// processes. It is implemented by store.SQLite.
type TokenStore interface {
	// LoadToken returns the stored token or ErrNoToken.
	LoadToken(ctx context.Context) (*StoredToken, error)
	// WithRefreshLock runs fn holding the cross-process refresh lock. fn
	// gets the token as stored right now (re-read after the lock was taken;
	// nil when the store is empty) and mark, which durably commits
	// RefreshStarted on the stored token before fn calls Exact. Whatever fn
	// returns as a non-nil token is committed durably (replacing the stored
	// one, including its RefreshStarted and ConsentNeeded) before
	// WithRefreshLock returns, even when fn also returns an error, and even
	// when ctx is done by then. When fn returns a nil token the stored token
	// is left as it is (a mark stays set). fn's error is returned wrapped.
	WithRefreshLock(ctx context.Context, fn func(current *StoredToken, mark func(started time.Time) error) (*StoredToken, error)) error
	// SaveToken stores a token unconditionally (initial consent, seeding).
	SaveToken(ctx context.Context, t *StoredToken) error
}

// RefreshOutcome classifies one call of Exact's token endpoint for a
// TokenObserver.
type RefreshOutcome string

// The refresh outcomes reported to a TokenObserver.
const (
	RefreshOK             RefreshOutcome = "ok"
	RefreshTooEarly       RefreshOutcome = "too_early"
	RefreshConsentNeeded  RefreshOutcome = "consent_needed"
	RefreshTransientError RefreshOutcome = "error"
)

// TokenObserver is told about every call of Exact's token endpoint made by a
// TokenSource (for metrics and logs). Reason never contains a token or secret.
type TokenObserver interface {
	ObserveRefresh(outcome RefreshOutcome, reason string)
}

// TokenSourceOptions configures NewTokenSource.
type TokenSourceOptions struct {
	// BaseURL is Exact's host, e.g. https://start.exactonline.nl.
	BaseURL      string
	ClientID     string
	ClientSecret string
	// Store keeps the token chain; required.
	Store TokenStore
	// HTTPClient calls the token endpoint; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RefreshWindow is how long before expiry Exact accepts a refresh;
	// DefaultRefreshWindow when zero.
	RefreshWindow time.Duration
	// RefreshTimeout bounds waiting for the refresh lock plus the call to
	// Exact; 30 s when zero. It must stay below the store's lock lease.
	RefreshTimeout time.Duration
	// Observer, when set, is told about every token endpoint call.
	Observer TokenObserver
}

// TokenSource is an oauth2.TokenSource for Exact Online that honours Exact's
// refresh rules (exact-online-api.md §2):
//
//   - Refresh rule (never early): with window W (30 s) and margin M = W/10,
//     a token is refreshed once at most W−M of its life is left (27 s), so at
//     Exact it is always inside the last W. Expiry is computed from our clock
//     when the response arrived, which is after Exact issued the token, so our
//     remaining time is never smaller than Exact's. Tokens with more than W−M
//     left are handed out without any I/O.
//   - Only if Exact refuses (too early) or the endpoint fails, the stored
//     token is still handed out while more than M of its life is left; after
//     that the caller gets the error. Failed attempts back off (M, 2M, … up
//     to W) so a broken endpoint is not hammered (200 calls/day limit).
//   - One refresh at a time: a mutex in the process and the store's
//     cross-process lock; after taking the lock the stored token is re-read,
//     and if another process refreshed already its token is used.
//   - Every refresh token Exact returns, even in an error response, is
//     committed before it is used or anything else happens.
//   - Crash safety: before Exact is called, a refresh mark is committed;
//     the new tokens are committed together with clearing it. A process
//     that dies before the mark, or after the commit, leaves a working
//     chain. One that dies in between (or loses Exact's answer on the
//     network, or sees a 5xx) leaves the mark: the next refresh tries the
//     stored refresh token once anyway (Exact may never have seen it) and,
//     if Exact answers "Old refresh token used", records consent-needed
//     with a reason saying the refresh was interrupted, never failing
//     silently.
//
// Use it directly (it caches); wrapping it in oauth2.ReuseTokenSource would
// only delay refreshes.
type TokenSource struct {
	ctx   context.Context
	o     TokenSourceOptions
	hc    *http.Client
	now   func() time.Time
	win   time.Duration
	marg  time.Duration
	tmo   time.Duration
	refMu sync.Mutex // serialises the slow path in this process

	mu        sync.Mutex
	cached    *StoredToken // last usable token seen
	notBefore time.Time    // back-off after a failed or refused refresh
	failures  int
	lastErr   string
}

// NewTokenSource returns a TokenSource. ctx must be long-lived (not a
// request's): it bounds every refresh.
func NewTokenSource(ctx context.Context, o TokenSourceOptions) *TokenSource {
	ts := &TokenSource{ctx: ctx, o: o, hc: o.HTTPClient, now: o.Now, win: o.RefreshWindow, tmo: o.RefreshTimeout}
	if ts.hc == nil {
		ts.hc = http.DefaultClient
	}
	if ts.now == nil {
		ts.now = time.Now
	}
	if ts.win <= 0 {
		ts.win = DefaultRefreshWindow
	}
	if ts.tmo <= 0 {
		ts.tmo = 30 * time.Second
	}
	ts.marg = ts.win / 10
	return ts
}

// fresh reports whether t can be handed out without refreshing first.
func (ts *TokenSource) fresh(t *StoredToken, now time.Time) bool {
	return t != nil && t.AccessToken != "" && t.ConsentNeeded == "" && t.Expiry.Sub(now) > ts.win-ts.marg
}

// usable reports whether t is still valid long enough to be handed out when
// a refresh is not possible right now.
func (ts *TokenSource) usable(t *StoredToken, now time.Time) bool {
	return t != nil && t.AccessToken != "" && t.ConsentNeeded == "" && t.Expiry.Sub(now) > ts.marg
}

func oauthToken(t *StoredToken) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry}
}

// Token returns a valid access token, refreshing it when it is inside its
// refresh window. The error wraps ErrConsentRequired when a person must run
// `exactql auth`.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	if t := ts.fastToken(); t != nil {
		return oauthToken(t), nil
	}
	ts.refMu.Lock()
	defer ts.refMu.Unlock()
	if t := ts.fastToken(); t != nil {
		return oauthToken(t), nil
	}
	t, err := ts.slowToken()
	if err != nil {
		return nil, err
	}
	return oauthToken(t), nil
}

func (ts *TokenSource) fastToken() *StoredToken {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.fresh(ts.cached, ts.now()) {
		return ts.cached
	}
	return nil
}

func (ts *TokenSource) setCached(t *StoredToken) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t != nil && t.ConsentNeeded == "" && t.AccessToken != "" {
		c := *t
		ts.cached = &c
	}
}

func consentErr(reason string) error {
	return fmt.Errorf("erp.TokenSource: %s: %w", reason, ErrConsentRequired)
}

// slowToken runs with refMu held.
func (ts *TokenSource) slowToken() (*StoredToken, error) {
	ctx, cancel := context.WithTimeout(ts.ctx, ts.tmo)
	defer cancel()
	st, err := ts.o.Store.LoadToken(ctx)
	if errors.Is(err, ErrNoToken) {
		return nil, consentErr("no Exact token stored")
	}
	if err != nil {
		return nil, fmt.Errorf("erp.TokenSource: load token: %w", err)
	}
	if st.ConsentNeeded != "" {
		return nil, consentErr(st.ConsentNeeded)
	}
	now := ts.now()
	if ts.fresh(st, now) {
		// Another process refreshed, a new consent was stored, or another
		// goroutine here refreshed: earlier failures no longer matter.
		ts.mu.Lock()
		ts.failures, ts.notBefore, ts.lastErr = 0, time.Time{}, ""
		ts.mu.Unlock()
		ts.setCached(st)
		return st, nil
	}
	ts.mu.Lock()
	wait := now.Before(ts.notBefore)
	ts.mu.Unlock()
	if wait {
		if ts.usable(st, now) {
			return st, nil
		}
		ts.mu.Lock()
		last := ts.lastErr
		ts.mu.Unlock()
		return nil, fmt.Errorf("erp.TokenSource: access token expires and refresh is backing off after: %s: %w", last, ErrTokenEndpoint)
	}

	var result *StoredToken
	var consent string // why consent is needed, when fn found out
	err = ts.o.Store.WithRefreshLock(ctx, func(cur *StoredToken, mark func(time.Time) error) (*StoredToken, error) {
		if cur == nil {
			consent = "no Exact token stored"
			return nil, consentErr(consent)
		}
		if cur.ConsentNeeded != "" {
			consent = cur.ConsentNeeded
			return nil, consentErr(consent)
		}
		now := ts.now()
		if ts.fresh(cur, now) {
			result = cur
			return nil, nil
		}
		interrupted := !cur.RefreshStarted.IsZero()
		if err := mark(now); err != nil {
			return nil, fmt.Errorf("mark refresh started: %w", err)
		}
		res, err := ts.exchange(ctx, url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {cur.RefreshToken},
		})
		got := ts.now()
		switch {
		case err == nil:
			nt := &StoredToken{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, Expiry: got.Add(res.ExpiresIn)}
			result = nt
			return nt, nil
		case res == nil:
			// No answer from Exact: it may have consumed the refresh token,
			// so the mark stays set.
			return nil, err
		}
		// Exact answered with an error: it did not rotate unless it sent a
		// refresh token, which is kept in any case.
		nt := *cur
		nt.RefreshStarted = time.Time{}
		if res.RefreshToken != "" {
			nt.RefreshToken = res.RefreshToken
		}
		if res.AccessToken != "" && res.ExpiresIn > 0 {
			nt.AccessToken, nt.Expiry = res.AccessToken, got.Add(res.ExpiresIn)
		}
		if errors.Is(err, ErrConsentRequired) && res.RefreshToken == "" {
			reason := "Exact rejected the stored refresh token (" + res.describe() + ")"
			if interrupted {
				reason = "a previous token refresh was interrupted (Exact's answer was never saved) and Exact now rejects the stored refresh token as used (" + res.describe() + ")"
			}
			nt.ConsentNeeded = reason + "; run `exactql auth`"
			consent = reason
			result = &nt
			return &nt, consentErr(reason)
		}
		if errors.Is(err, ErrConsentRequired) {
			// Exact rejected the request but handed out a new refresh
			// token: the chain lives on, try again later.
			err = fmt.Errorf("%w: %s (a new refresh token was returned and saved)", ErrTokenEndpoint, res.describe())
		}
		if res.status >= 500 && res.RefreshToken == "" {
			// A 5xx may have come after Exact rotated; keep the mark.
			return nil, err
		}
		result = &nt
		return &nt, err
	})
	now = ts.now()
	if err == nil {
		if result == nil {
			return nil, fmt.Errorf("erp.TokenSource: refresh produced no token: %w", ErrTokenEndpoint)
		}
		ts.mu.Lock()
		ts.failures, ts.notBefore, ts.lastErr = 0, time.Time{}, ""
		ts.mu.Unlock()
		ts.setCached(result)
		return result, nil
	}
	if errors.Is(err, ErrConsentRequired) {
		if consent != "" {
			err = consentErr(consent)
		}
		ts.mu.Lock()
		ts.cached, ts.lastErr = nil, err.Error()
		ts.mu.Unlock()
		return nil, err
	}
	ts.backoff(now, err)
	// Too early or a transient failure: keep the still valid stored access
	// token. A token from fn is not used here, as it may not have been
	// committed (the store failed).
	if ts.usable(st, now) {
		return st, nil
	}
	return nil, fmt.Errorf("erp.TokenSource: refresh: %w", err)
}

func (ts *TokenSource) backoff(now time.Time, err error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.failures++
	d := ts.marg << min(ts.failures-1, 10)
	if d > ts.win || d <= 0 {
		d = ts.win
	}
	ts.notBefore = now.Add(d)
	ts.lastErr = err.Error()
}

// TokenStatus is the token chain's state for /readyz and metrics.
type TokenStatus struct {
	// OK is true when a token is stored and no new consent is needed.
	OK bool
	// ConsentNeeded is true when a person must run `exactql auth`.
	ConsentNeeded bool
	// Reason explains a problem (never contains a token); "" when OK.
	Reason string
	// Expiry is the stored access token's expiry (zero when none).
	Expiry time.Time
	// RefreshPending is true when a refresh mark is set: a refresh is in
	// flight somewhere or was interrupted (then the next refresh tells).
	RefreshPending bool
	// LastError is the last refresh failure in this process, "" if none.
	LastError string
}

// Status reads the stored token chain (so consent lost or regained in another
// process is seen) and reports whether it is usable.
func (ts *TokenSource) Status(ctx context.Context) TokenStatus {
	ts.mu.Lock()
	last := ts.lastErr
	ts.mu.Unlock()
	st, err := ts.o.Store.LoadToken(ctx)
	switch {
	case errors.Is(err, ErrNoToken):
		return TokenStatus{ConsentNeeded: true, Reason: "no Exact token stored; run `exactql auth`", LastError: last}
	case err != nil:
		return TokenStatus{Reason: "token store: " + err.Error(), LastError: last}
	case st.ConsentNeeded != "":
		return TokenStatus{ConsentNeeded: true, Reason: st.ConsentNeeded, Expiry: st.Expiry, LastError: last}
	}
	return TokenStatus{OK: true, Expiry: st.Expiry, RefreshPending: !st.RefreshStarted.IsZero(), LastError: last}
}

// SeedToken stores refreshToken (EXACT_REFRESH_TOKEN) as the start of the
// token chain, but only when the store holds no token at all; seeded reports
// whether it did. The first Token call then refreshes it.
func SeedToken(ctx context.Context, store TokenStore, refreshToken string) (seeded bool, err error) {
	if refreshToken == "" {
		return false, nil
	}
	err = store.WithRefreshLock(ctx, func(cur *StoredToken, _ func(time.Time) error) (*StoredToken, error) {
		if cur != nil {
			return nil, nil
		}
		seeded = true
		return &StoredToken{RefreshToken: refreshToken}, nil
	})
	if err != nil {
		return false, fmt.Errorf("erp.SeedToken: %w", err)
	}
	return seeded, nil
}

// tokenResponse is a parsed answer of Exact's token endpoint, success or not.
type tokenResponse struct {
	status       int
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	errCode      string
	errDesc      string
	reason       string // the Reason header
}

func (r *tokenResponse) describe() string {
	s := fmt.Sprintf("HTTP %d", r.status)
	if r.errCode != "" {
		s += " " + r.errCode
	}
	if r.errDesc != "" {
		s += ": " + r.errDesc
	}
	return s
}

// expiresIn accepts Exact's string ("600") and a plain JSON number.
type expiresIn int64

func (e *expiresIn) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*e = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("expires_in %q is not a number", s)
	}
	*e = expiresIn(n)
	return nil
}

const maxTokenBody = 64 << 10

// postToken calls POST {base}/api/oauth2/token with form (client id and
// secret are added). It returns a nil response only when no HTTP answer was
// received; error strings never contain the form's secrets.
func postToken(ctx context.Context, hc *http.Client, base, clientID, clientSecret string, form url.Values) (*tokenResponse, error) {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("client_id", clientID)
	f.Set("client_secret", clientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/api/oauth2/token", strings.NewReader(f.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build token request: %w", ErrTokenEndpoint)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error carries the URL only (no body), and the URL holds no
		// secret; still, report just the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %v", ErrTokenEndpoint, err)
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if rerr != nil && resp.StatusCode == http.StatusOK {
		return nil, fmt.Errorf("%w: read response: %v", ErrTokenEndpoint, rerr)
	}
	var raw struct {
		AccessToken  string    `json:"access_token"`
		TokenType    string    `json:"token_type"`
		ExpiresIn    expiresIn `json:"expires_in"`
		RefreshToken string    `json:"refresh_token"`
		Error        string    `json:"error"`
		ErrorDesc    string    `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &raw)
	r := &tokenResponse{
		status:       resp.StatusCode,
		AccessToken:  raw.AccessToken,
		RefreshToken: raw.RefreshToken,
		ExpiresIn:    time.Duration(raw.ExpiresIn) * time.Second,
		errCode:      raw.Error,
		errDesc:      clipText(raw.ErrorDesc, 200),
		reason:       clipText(resp.Header.Get("Reason"), 200),
	}
	if jerr != nil {
		r.errDesc = ""
	}
	// Exact's texts end up in errors and logs: never let them carry back
	// what we sent.
	for _, sec := range []string{clientSecret, form.Get("refresh_token"), form.Get("code")} {
		if sec != "" {
			r.errDesc = strings.ReplaceAll(r.errDesc, sec, "[redacted]")
			r.reason = strings.ReplaceAll(r.reason, sec, "[redacted]")
		}
	}
	if resp.StatusCode == http.StatusOK {
		switch {
		case jerr != nil:
			return r, fmt.Errorf("%w: HTTP 200 with an unreadable body", ErrTokenEndpoint)
		case r.AccessToken == "" || r.RefreshToken == "" || r.ExpiresIn <= 0:
			return r, fmt.Errorf("%w: HTTP 200 without access_token, refresh_token or expires_in", ErrTokenEndpoint)
		case raw.TokenType != "" && !strings.EqualFold(raw.TokenType, "bearer"):
			return r, fmt.Errorf("%w: unexpected token_type %q", ErrTokenEndpoint, clipText(raw.TokenType, 20))
		}
		return r, nil
	}
	return r, r.classify()
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// classify maps an error answer of the token endpoint to a sentinel.
func (r *tokenResponse) classify() error {
	desc := strings.ToLower(r.errDesc)
	switch {
	case strings.HasPrefix(strings.ToLower(r.reason), "tooearlytorefreshtokens"),
		strings.Contains(desc, "not expired"):
		// 400 access_denied + Reason header (current), or the older 401
		// "Access Token not expired".
		return fmt.Errorf("%w (%s)", ErrTooEarly, r.describe())
	case r.errCode == "unauthorized_client", r.errCode == "invalid_grant",
		r.errCode == "invalid_request" && strings.Contains(desc, "expired"):
		// Old refresh token used, refresh token expired, grant revoked:
		// only a new consent helps.
		return fmt.Errorf("%s: %w", r.describe(), ErrConsentRequired)
	}
	return fmt.Errorf("%w: %s", ErrTokenEndpoint, r.describe())
}

// exchange calls the token endpoint and reports the outcome to the observer.
func (ts *TokenSource) exchange(ctx context.Context, form url.Values) (*tokenResponse, error) {
	res, err := postToken(ctx, ts.hc, ts.o.BaseURL, ts.o.ClientID, ts.o.ClientSecret, form)
	if ts.o.Observer != nil {
		switch {
		case err == nil:
			ts.o.Observer.ObserveRefresh(RefreshOK, "")
		case errors.Is(err, ErrTooEarly):
			ts.o.Observer.ObserveRefresh(RefreshTooEarly, err.Error())
		case errors.Is(err, ErrConsentRequired):
			ts.o.Observer.ObserveRefresh(RefreshConsentNeeded, err.Error())
		default:
			ts.o.Observer.ObserveRefresh(RefreshTransientError, err.Error())
		}
	}
	return res, err
}
