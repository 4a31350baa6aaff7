package sandbox

import (
	"sync"
	"time"
)

// Call kinds recorded in the call log.
const (
	KindAPI     = "api"     // /api/v1/...
	KindToken   = "token"   // POST /api/oauth2/token
	KindAuth    = "auth"    // /api/oauth2/auth (consent page)
	KindPicture = "picture" // /docs/SysImage.aspx
)

// Call is one request the sandbox answered. Path never carries secrets:
// tokens travel in headers and form bodies, which are not recorded.
type Call struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Query    string    `json:"query,omitempty"` // API and picture calls only
	Endpoint string    `json:"endpoint"`        // e.g. "logistics/Items", "current/Me", "oauth2/token"
	Division int       `json:"division,omitempty"`
	Status   int       `json:"status"`
	Kind     string    `json:"kind"`
}

// Stats are the sandbox's counters since start (or the last ResetCalls).
type Stats struct {
	// Calls counts answers per endpoint and status, e.g. Calls["logistics/Items"][200].
	Calls map[string]map[int]int `json:"calls"`
	// TokenCalls counts every call of the token endpoint.
	TokenCalls int `json:"token_calls"`
	// CodeExchanges counts successful authorization_code grants.
	CodeExchanges int `json:"code_exchanges"`
	// TokenRefreshes counts successful refresh_token grants.
	TokenRefreshes int `json:"token_refreshes"`
	// OldTokenReuses counts refreshes with an already rotated refresh token.
	OldTokenReuses int `json:"old_token_reuses"`
	// TooEarlyRefreshes counts refreshes refused because the access token was not about to expire.
	TooEarlyRefreshes int `json:"too_early_refreshes"`
	// RateLimited counts 429 answers (real and forced).
	RateLimited int `json:"rate_limited"`
	// Blocked counts 403 answers given because an endpoint had too many errors.
	Blocked int `json:"blocked"`
	// OrdersCreated counts sales orders created by POST.
	OrdersCreated int `json:"orders_created"`
	// Faults counts answers produced by injected faults (5xx, maintenance, rejected orders, dropped connections).
	Faults int `json:"faults"`
}

// maxCalls bounds the call log; when full, the older half is dropped.
// The Stats counters keep counting.
const maxCalls = 100_000

// callLog holds the call log and counters.
type callLog struct {
	mu    sync.Mutex
	calls []Call
	stats Stats
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.calls) >= maxCalls {
		// Keep the newer half so a long-running sandbox stays bounded.
		l.calls = append(l.calls[:0:0], l.calls[len(l.calls)-maxCalls/2:]...)
	}
	l.calls = append(l.calls, c)
	if l.stats.Calls == nil {
		l.stats.Calls = map[string]map[int]int{}
	}
	m := l.stats.Calls[c.Endpoint]
	if m == nil {
		m = map[int]int{}
		l.stats.Calls[c.Endpoint] = m
	}
	m[c.Status]++
	if c.Status == 429 {
		l.stats.RateLimited++
	}
	if c.Kind == KindToken {
		l.stats.TokenCalls++
	}
}

func (l *callLog) count(f func(*Stats)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.stats)
}

func (l *callLog) snapshot() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}

func (l *callLog) statsCopy() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats
	st.Calls = make(map[string]map[int]int, len(l.stats.Calls))
	for ep, m := range l.stats.Calls {
		c := make(map[int]int, len(m))
		for k, v := range m {
			c[k] = v
		}
		st.Calls[ep] = c
	}
	return st
}

func (l *callLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
	l.stats = Stats{}
}

// Calls returns a copy of the call log in arrival order (at most the last
// 100,000 calls are kept).
func (s *Sandbox) Calls() []Call { return s.log.snapshot() }

// CallCount returns how many logged calls satisfy filter (all when nil).
func (s *Sandbox) CallCount(filter func(Call) bool) int {
	n := 0
	for _, c := range s.log.snapshot() {
		if filter == nil || filter(c) {
			n++
		}
	}
	return n
}

// ResetCalls empties the call log and zeroes the Stats counters. Rate-limit
// and error windows are not affected.
func (s *Sandbox) ResetCalls() { s.log.reset() }

// Stats returns a copy of the counters.
func (s *Sandbox) Stats() Stats { return s.log.statsCopy() }
