// Package metrics is the gateway's Prometheus instrumentation: GraphQL
// operations and error codes (gqlgen hooks), Exact calls and token refreshes
// (erp observers), and scrape-time views of the Exact budget, the cache, the
// per-caller limiter and the order service. Everything lives on the Metrics'
// own registry, never the global one, so tests and several servers in one
// process do not collide.
package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/exactql/exactql/erp"
)

// Label values used when a real value cannot be used.
const (
	// LabelAnonymous is the operation label of unnamed operations.
	LabelAnonymous = "anonymous"
	// LabelOther replaces label values that are invalid or beyond the
	// cardinality cap.
	LabelOther = "other"
	// LabelNoCode is the code label of GraphQL errors without
	// extensions.code.
	LabelNoCode = "none"
)

// Default cardinality caps for Options' zero values.
const (
	DefaultMaxOperations = 200
	DefaultMaxCodes      = 50
	DefaultMaxEndpoints  = 100
)

// ErrRegistered is returned by a Watch method called a second time.
var ErrRegistered = errors.New("metrics: already registered")

// labelRE is what a label value taken from a client (operation name) or
// from a response (error code) must look like: a GraphQL name of at most
// 64 characters.
var labelRE = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]{0,63}$`)

// Options configure New. Zero fields take the defaults.
type Options struct {
	// MaxOperations caps the distinct operation names recorded; later
	// names are counted as "other" (default DefaultMaxOperations).
	MaxOperations int
	// MaxCodes caps the distinct error codes (default DefaultMaxCodes).
	MaxCodes int
	// MaxEndpoints caps the distinct Exact endpoints (default
	// DefaultMaxEndpoints).
	MaxEndpoints int
	// Now is the clock for operation latency (default time.Now). Latency
	// runs from gqlgen's own start time when it is known (read from the
	// real clock), so only tests driving the hooks by hand should set it.
	Now func() time.Time
	// NoRuntimeMetrics leaves out the Go runtime and process collectors.
	NoRuntimeMetrics bool
}

// Metrics holds the gateway's collectors on its own registry. It is safe
// for concurrent use. It implements erp.Observer and erp.TokenObserver.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	gqlRequests *prometheus.CounterVec
	gqlDuration *prometheus.HistogramVec
	gqlErrors   *prometheus.CounterVec

	exactCalls    *prometheus.CounterVec
	exactDuration *prometheus.HistogramVec
	tokenRefresh  *prometheus.CounterVec

	ops, codes, endpoints *labelSet

	mu      sync.Mutex
	watched map[string]bool
}

var (
	_ erp.Observer      = (*Metrics)(nil)
	_ erp.TokenObserver = (*Metrics)(nil)
)

// New returns Metrics with the GraphQL, Exact call and token refresh
// collectors registered (and, unless turned off, Go runtime and process
// metrics). The scrape-time views are added with the Watch methods.
func New(o Options) *Metrics {
	if o.MaxOperations <= 0 {
		o.MaxOperations = DefaultMaxOperations
	}
	if o.MaxCodes <= 0 {
		o.MaxCodes = DefaultMaxCodes
	}
	if o.MaxEndpoints <= 0 {
		o.MaxEndpoints = DefaultMaxEndpoints
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		now: o.Now,
		gqlRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exactql_graphql_requests_total",
			Help: "GraphQL operations answered, by operation name (unnamed: anonymous; invalid or beyond the cap: other).",
		}, []string{"operation"}),
		gqlDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "exactql_graphql_request_duration_seconds",
			Help:    "Time from reading a GraphQL request to its response, by operation name.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		gqlErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exactql_graphql_errors_total",
			Help: "GraphQL errors in responses, by extensions.code (none when absent).",
		}, []string{"code"}),
		exactCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exactql_exact_calls_total",
			Help: "HTTP calls made to Exact Online, by endpoint and status (0: no response).",
		}, []string{"endpoint", "status"}),
		exactDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "exactql_exact_call_duration_seconds",
			Help:    "Duration of HTTP calls made to Exact Online, by endpoint.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"endpoint"}),
		tokenRefresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exactql_exact_token_refreshes_total",
			Help: "Calls of Exact's token endpoint, by outcome (ok, too_early, consent_needed, error).",
		}, []string{"outcome"}),
		ops:       newLabelSet(o.MaxOperations),
		codes:     newLabelSet(o.MaxCodes),
		endpoints: newLabelSet(o.MaxEndpoints),
		watched:   map[string]bool{},
	}
	m.reg.MustRegister(m.gqlRequests, m.gqlDuration, m.gqlErrors, m.exactCalls, m.exactDuration, m.tokenRefresh)
	for _, oc := range refreshOutcomes {
		m.tokenRefresh.WithLabelValues(string(oc))
	}
	if !o.NoRuntimeMetrics {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Handler serves the registry in Prometheus' exposition format, for
// GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer returns the registry, for tests and for pushing elsewhere.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// ObserveCall implements erp.Observer: one HTTP call to Exact.
func (m *Metrics) ObserveCall(endpoint, method string, status int, d time.Duration) {
	ep := m.endpoints.admit(endpoint, validEndpoint)
	m.exactCalls.WithLabelValues(ep, strconv.Itoa(status)).Inc()
	m.exactDuration.WithLabelValues(ep).Observe(d.Seconds())
}

var refreshOutcomes = []erp.RefreshOutcome{erp.RefreshOK, erp.RefreshTooEarly, erp.RefreshConsentNeeded, erp.RefreshTransientError}

// ObserveRefresh implements erp.TokenObserver: one call of Exact's token
// endpoint. The reason is not recorded (unbounded text).
func (m *Metrics) ObserveRefresh(outcome erp.RefreshOutcome, _ string) {
	label := LabelOther
	for _, oc := range refreshOutcomes {
		if outcome == oc {
			label = string(oc)
		}
	}
	m.tokenRefresh.WithLabelValues(label).Inc()
}

// register adds a scrape-time collector once under name.
func (m *Metrics) register(name string, c prometheus.Collector) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watched[name] {
		return fmt.Errorf("metrics.Watch%s: %w", name, ErrRegistered)
	}
	if err := m.reg.Register(c); err != nil {
		return fmt.Errorf("metrics.Watch%s: %w", name, err)
	}
	m.watched[name] = true
	return nil
}

// labelSet admits label values up to a cap; values beyond it, or invalid
// ones, become LabelOther, so clients cannot blow up the series count.
type labelSet struct {
	mu   sync.RWMutex
	max  int
	seen map[string]struct{}
}

func newLabelSet(max int) *labelSet {
	return &labelSet{max: max, seen: map[string]struct{}{}}
}

// admit returns v if it is known, or valid and there is room (recording
// it); LabelOther otherwise.
func (s *labelSet) admit(v string, valid func(string) bool) string {
	s.mu.RLock()
	_, ok := s.seen[v]
	s.mu.RUnlock()
	if ok {
		return v
	}
	if !valid(v) {
		return LabelOther
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[v]; ok {
		return v
	}
	if len(s.seen) >= s.max {
		return LabelOther
	}
	s.seen[v] = struct{}{}
	return v
}

// known returns v if it was admitted before, LabelOther otherwise.
func (s *labelSet) known(v string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.seen[v]; ok {
		return v
	}
	return LabelOther
}

func validName(v string) bool { return labelRE.MatchString(v) }

// validEndpoint accepts Exact endpoint names such as "logistics/Items",
// "current/Me" or "picture".
func validEndpoint(v string) bool {
	if v == "" || len(v) > 100 {
		return false
	}
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '/', r == '_', r == '.', r == '-':
		default:
			return false
		}
	}
	return true
}

// Register adds a collector owned by another package (the mirror's feed
// runner) under name; registering a name twice is ErrRegistered.
func (m *Metrics) Register(name string, c prometheus.Collector) error { return m.register(name, c) }
