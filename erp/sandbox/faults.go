package sandbox

import (
	"net/http"
	"regexp"
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

	// Pessimistic switches: Exact behaviour that is UNCONFIRMED
	// (exact-online-api.md §5.9), imitated in its least convenient form.
	substringOf501    bool
	refuseAccountNull bool
	maxURLLength      int
	repriceLines      bool
	remarksLimit      int
}

// Defaults SetPessimistic uses for the two switches that take a length.
const (
	// DefaultMaxURLLength is IIS's default query-string limit, rounded: the
	// longest request URL (scheme, host, path and query) answered when the
	// URL-length switch is on and no other length is set.
	DefaultMaxURLLength = 2048
	// DefaultRemarksLimit is the Remarks length orders are cut to when the
	// truncation switch is on and no other length is set.
	DefaultRemarksLimit = 100
	// fallbackRepriceDiscount is the discount Exact is assumed to add on
	// top of a sent UnitPrice for an account without DiscountSales.
	fallbackRepriceDiscount = "0.05"
)

// FaultState is a snapshot of the active faults, as GET /sandbox/faults shows it.
type FaultState struct {
	LatencyMS       int64  `json:"latency_ms"`
	FailNext        int    `json:"fail_next"`
	FailStatus      int    `json:"fail_status"`
	Maintenance     bool   `json:"maintenance"`
	Force429        int    `json:"force_429"`
	DropAfterPost   bool   `json:"drop_after_post"`
	RejectNextOrder string `json:"reject_next_order,omitempty"`
	// The pessimistic switches (off, false or 0, by default).
	SubstringOf501      bool `json:"substringof_501"`
	RefuseAccountEqNull bool `json:"refuse_account_eq_null"`
	MaxURLLength        int  `json:"max_url_length"`
	RepriceLines        bool `json:"reprice_lines"`
	RemarksLimit        int  `json:"remarks_limit"`
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

// SetSubstringOf501 makes every GET whose $filter uses substringof answer
// 501 Not Implemented, as one Exact endpoint did in 2016 (§5.9).
func (f *Faults) SetSubstringOf501(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.substringOf501 = on
}

// SetRefuseAccountEqNull makes every GET whose $filter compares Account with
// null ("Account eq null") answer 400: whether Exact accepts it is
// UNCONFIRMED (§5.9).
func (f *Faults) SetRefuseAccountEqNull(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuseAccountNull = on
}

// SetMaxURLLength makes every API call whose full URL (scheme, host, path
// and query, as sent) is longer than n characters answer 400, as a front end
// with a query-string limit would; 0 turns it off. Exact's limit is
// UNCONFIRMED (§3.5).
func (f *Faults) SetMaxURLLength(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maxURLLength = max(n, 0)
}

// SetRepriceLines makes the order POST re-price every line sent without a
// Discount field on top of its UnitPrice: the account's DiscountSales (5 %
// when it has none) is taken off, giving a lower NetPrice and amount. Lines
// that carry Discount (even 0) keep their price. Whether Exact does this is
// UNCONFIRMED (§5.9).
func (f *Faults) SetRepriceLines(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.repriceLines = on
}

// SetRemarksLimit makes the order POST silently cut Remarks to n characters
// (runes); 0 turns it off. Exact's real limit and whether edits keep the
// text are UNCONFIRMED (§5.9).
func (f *Faults) SetRemarksLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remarksLimit = max(n, 0)
}

// SetPessimistic turns all five pessimistic switches on (URL length
// DefaultMaxURLLength, Remarks DefaultRemarksLimit) or off.
func (f *Faults) SetPessimistic(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.substringOf501, f.refuseAccountNull, f.repriceLines = on, on, on
	f.maxURLLength, f.remarksLimit = 0, 0
	if on {
		f.maxURLLength, f.remarksLimit = DefaultMaxURLLength, DefaultRemarksLimit
	}
}

// Reset clears every pending fault (latency, failures, maintenance, forced
// 429s, drop, reject) and turns the pessimistic switches off. Revocations
// are not undone.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency, f.failNext, f.failStatus, f.maintenance, f.force429 = 0, 0, 0, false, 0
	f.dropAfterPost, f.rejectNext, f.rejectSet = false, "", false
	f.substringOf501, f.refuseAccountNull, f.repriceLines = false, false, false
	f.maxURLLength, f.remarksLimit = 0, 0
}

// State returns a snapshot of the active faults.
func (f *Faults) State() FaultState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FaultState{
		LatencyMS: f.latency.Milliseconds(), FailNext: f.failNext, FailStatus: f.failStatus,
		Maintenance: f.maintenance, Force429: f.force429, DropAfterPost: f.dropAfterPost,
		RejectNextOrder: f.rejectNext,
		SubstringOf501:  f.substringOf501, RefuseAccountEqNull: f.refuseAccountNull,
		MaxURLLength: f.maxURLLength, RepriceLines: f.repriceLines, RemarksLimit: f.remarksLimit,
	}
}

var (
	substringOfRE = regexp.MustCompile(`(?i)\bsubstringof\s*\(`)
	accountNullRE = regexp.MustCompile(`(^|[\s(])Account\s+eq\s+null($|[\s)])`)
)

// refuseShape returns the status and message with which a pessimistic
// switch refuses the call to fullURL with the given $filter, or 0.
func (f *Faults) refuseShape(method, fullURL, filter string) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxURLLength > 0 && len(fullURL) > f.maxURLLength {
		return http.StatusBadRequest, "The request URL is too long."
	}
	if method != http.MethodGet {
		return 0, ""
	}
	if f.substringOf501 && substringOfRE.MatchString(filter) {
		return http.StatusNotImplemented, "Not implemented: the function substringof is not supported on this endpoint."
	}
	if f.refuseAccountNull && accountNullRE.MatchString(filter) {
		return http.StatusBadRequest, "Error in query syntax: a comparison with null is not supported for Account."
	}
	return 0, ""
}

// orderSwitches returns the order-side pessimistic switches.
func (f *Faults) orderSwitches() (reprice bool, remarksLimit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.repriceLines, f.remarksLimit
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
