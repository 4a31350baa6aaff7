package sandbox

import (
	"sync"
	"time"
)

// Faults injects failures into the sandbox. All methods are safe for
// concurrent use. A fault that counts ("next N calls") is consumed by the API
// calls it hits; token, consent and picture calls only see latency and
// maintenance.
type Faults struct {
	mu            sync.Mutex
	latency       time.Duration
	failNext      int
	failStatus    int
	maintenance   bool
	force429      int
	dropAfterPost bool
	rejectNext    string
	rejectSet     bool
	revoke        func()
}

// FaultState is a snapshot of the active faults, as GET /sandbox/faults shows it.
type FaultState struct {
	LatencyMS       int64  `json:"latency_ms"`
	FailNext        int    `json:"fail_next"`
	FailStatus      int    `json:"fail_status"`
	Maintenance     bool   `json:"maintenance"`
	Force429        int    `json:"force_429"`
	DropAfterPost   bool   `json:"drop_after_post"`
	RejectNextOrder string `json:"reject_next_order,omitempty"`
}

// SetLatency delays every answer (API, token, consent, picture) by d of real
// time; the delay ends early when the client goes away. Zero turns it off.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = max(d, 0)
}

// FailNext makes the next n API calls fail with status (500 or 503 usual;
// anything outside 500..599 becomes 503) and an Exact-style error body.
func (f *Faults) FailNext(n int, status int) {
	if status < 500 || status > 599 {
		status = 503
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = max(n, 0)
	f.failStatus = status
}

// SetMaintenance switches maintenance mode: while on, every API, token,
// consent and picture call gets 503 with an Exact-style JSON error body.
func (f *Faults) SetMaintenance(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maintenance = on
}

// Force429 makes the next n authenticated API calls answer 429 (empty body,
// minutely headers only) regardless of the real budget; they consume none of it.
func (f *Faults) Force429(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.force429 = max(n, 0)
}

// DropConnectionAfterNextPost makes the next successful order POST create the
// order and then close the connection without any response.
func (f *Faults) DropConnectionAfterNextPost() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropAfterPost = true
}

// RejectNextOrder makes the next order POST fail with 400 and message as
// Exact's error text; no order is created.
func (f *Faults) RejectNextOrder(message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejectNext = message
	f.rejectSet = true
}

// RevokeRefreshTokens invalidates every refresh token issued so far: each
// later refresh with them gets 401 unauthorized_client. Access tokens
// already issued stay valid until they expire, and tokens issued afterwards
// (new consent, IssueRefreshToken) work normally.
func (f *Faults) RevokeRefreshTokens() {
	if f.revoke != nil {
		f.revoke()
	}
}

// Reset clears every pending fault (latency, failures, maintenance, forced
// 429s, drop, reject). Revocations are not undone.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency, f.failNext, f.failStatus, f.maintenance, f.force429 = 0, 0, 0, false, 0
	f.dropAfterPost, f.rejectNext, f.rejectSet = false, "", false
}

// State returns a snapshot of the active faults.
func (f *Faults) State() FaultState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FaultState{
		LatencyMS: f.latency.Milliseconds(), FailNext: f.failNext, FailStatus: f.failStatus,
		Maintenance: f.maintenance, Force429: f.force429, DropAfterPost: f.dropAfterPost,
		RejectNextOrder: f.rejectNext,
	}
}

func (f *Faults) getLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

func (f *Faults) inMaintenance() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maintenance
}

// takeFail consumes one forced failure and returns its status, or 0.
func (f *Faults) takeFail() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext == 0 {
		return 0
	}
	f.failNext--
	return f.failStatus
}

func (f *Faults) take429() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.force429 == 0 {
		return false
	}
	f.force429--
	return true
}

func (f *Faults) takeReject() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.rejectSet {
		return "", false
	}
	m := f.rejectNext
	f.rejectNext, f.rejectSet = "", false
	return m, true
}

func (f *Faults) takeDrop() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dropAfterPost
	f.dropAfterPost = false
	return d
}

// Faults returns the sandbox's fault controls.
func (s *Sandbox) Faults() *Faults { return s.faults }
