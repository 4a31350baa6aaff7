package sandbox

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Default credentials of a sandbox. They look like Exact's but are fixed, so a
// restarted sandbox accepts the same configuration.
const (
	DefaultClientID     = "6e1c8f3a-52d4-4b7e-9a06-3c2d51f8e7b9"
	DefaultClientSecret = "sbxSecret-Qm3tK8vR2pX7wZ4n"
	DefaultRedirectURL  = "http://127.0.0.1:8765/callback"
)

// Options configure a Sandbox. Zero values take the defaults listed per field.
type Options struct {
	// Data configures the generated data set; zero fields take
	// gen.DefaultOptions()'s values, and a zero Today is Clock.Now().
	Data gen.Options
	// Clock is the sandbox's time; nil means real time.
	Clock Clock
	// ClientID, ClientSecret and RedirectURL are the registered app; defaults
	// DefaultClientID, DefaultClientSecret, DefaultRedirectURL.
	ClientID, ClientSecret, RedirectURL string
	// RedirectURLs are further redirect URLs registered for the client;
	// DefaultHTTPSRedirectURL is always registered too (oauth.go).
	RedirectURLs []string
	// TokenLifetime is the access-token lifetime; default 600 s.
	TokenLifetime time.Duration
	// RefreshWindow is how long before its access token expires a chain may
	// be refreshed; default 30 s.
	RefreshWindow time.Duration
	// CodeLifetime is the authorization-code lifetime; default 3 min.
	CodeLifetime time.Duration
	// RefreshTokenLifetime is the lifetime of an unused refresh token; default 30 days.
	RefreshTokenLifetime time.Duration
	// MinuteLimit and DayLimit are the API call budgets per client id per
	// division; defaults 60 and 5000.
	MinuteLimit, DayLimit int
	// MinuteLength and DayLength are the rate windows; defaults 1 min and
	// 24 h. The error-count "hour" is 60 × MinuteLength.
	MinuteLength, DayLength time.Duration
	// BlockAfterErrors makes 10 error answers (400, 401, 403, 404) on one
	// endpoint within an "hour" block that endpoint with 403 until the hour
	// window ends.
	BlockAfterErrors bool
	// PageSize is the page size of plain endpoints (default 60); SyncPageSize
	// that of sync/ and bulk/ endpoints (default 1000).
	PageSize, SyncPageSize int
	// WebhookSecret signs webhook deliveries (HashCode); default
	// DefaultWebhookSecret.
	WebhookSecret string
	// WebhookClient sends webhook deliveries; default a client with a 10 s
	// timeout.
	WebhookClient *http.Client
	// Location is the division's time zone: posted orders' Created and
	// Modified are its local wall-clock time encoded as epoch ms, as Exact
	// does (exact-online-api.md §5.9). Default Europe/Amsterdam.
	Location *time.Location
}

func (o *Options) setDefaults() {
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	// Zero fields take gen's defaults, so callers can set just a seed or a size.
	gd := gen.DefaultOptions()
	if o.Data.Items <= 0 {
		o.Data.Items = gd.Items
	}
	if o.Data.Customers <= 0 {
		o.Data.Customers = gd.Customers
	}
	if o.Data.Warehouses <= 0 {
		o.Data.Warehouses = gd.Warehouses
	}
	if o.Data.Division <= 0 {
		o.Data.Division = gd.Division
	}
	if o.Data.Currency == "" {
		o.Data.Currency = gd.Currency
	}
	if o.Data.Today.IsZero() {
		o.Data.Today = o.Clock.Now()
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.ClientID, DefaultClientID)
	def(&o.ClientSecret, DefaultClientSecret)
	def(&o.RedirectURL, DefaultRedirectURL)
	def(&o.WebhookSecret, DefaultWebhookSecret)
	if o.WebhookClient == nil {
		o.WebhookClient = &http.Client{Timeout: 10 * time.Second}
	}
	defD := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defD(&o.TokenLifetime, 600*time.Second)
	defD(&o.RefreshWindow, 30*time.Second)
	defD(&o.CodeLifetime, 3*time.Minute)
	defD(&o.RefreshTokenLifetime, 30*24*time.Hour)
	defD(&o.MinuteLength, time.Minute)
	defD(&o.DayLength, 24*time.Hour)
	defI := func(i *int, v int) {
		if *i <= 0 {
			*i = v
		}
	}
	defI(&o.MinuteLimit, 60)
	defI(&o.DayLimit, 5000)
	defI(&o.PageSize, 60)
	defI(&o.SyncPageSize, 1000)
	if o.Location == nil {
		o.Location = defaultLocation()
	}
}

// Sandbox is an in-memory imitation of Exact Online's REST API and OAuth2
// endpoints. It is an http.Handler; all methods are safe for concurrent use.
type Sandbox struct {
	opts     Options
	clock    Clock
	division int
	currency string

	mu           sync.RWMutex // guards the data below
	sets         map[string][]odata.Record
	schemas      map[string]odata.EntitySet
	linesByOrder map[string][]odata.Record
	maxTS        int64
	maxOrderNo   int64
	demoBuyers   []gen.DemoBuyer

	tokens     *tokenStore
	limits     *limiter
	log        callLog
	faults     *Faults
	hooks      webhookState
	orderHooks orderHooks

	// sleep waits d or until ctx ends; replaced in tests.
	sleep func(ctx context.Context, d time.Duration)
}

// New generates the data set and returns a sandbox ready to serve.
func New(opts Options) *Sandbox {
	opts.setDefaults()
	data := gen.Generate(opts.Data)
	s := &Sandbox{
		opts:       opts,
		clock:      opts.Clock,
		division:   opts.Data.Division,
		currency:   opts.Data.Currency,
		sets:       data.Sets,
		schemas:    gen.Schemas(),
		maxTS:      data.MaxTimestamp,
		maxOrderNo: data.MaxOrderNumber,
		demoBuyers: data.DemoBuyers,
		tokens:     newTokenStore(),
		limits:     newLimiter(),
		faults:     &Faults{},
		sleep:      realSleep,
	}
	if s.sets == nil {
		s.sets = map[string][]odata.Record{}
	}
	s.faults.revoke = s.revokeAll
	s.hooks.hc = opts.WebhookClient
	addSyncSchemas(s.schemas)
	s.linesByOrder = map[string][]odata.Record{}
	for _, l := range s.sets[pathOrderLines] {
		if id, ok := l["OrderID"].(string); ok {
			s.linesByOrder[id] = append(s.linesByOrder[id], l)
		}
	}
	return s
}

func realSleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Division returns the sandbox's division number.
func (s *Sandbox) Division() int { return s.division }

// ClientID returns the registered client id.
func (s *Sandbox) ClientID() string { return s.opts.ClientID }

// ClientSecret returns the registered client secret.
func (s *Sandbox) ClientSecret() string { return s.opts.ClientSecret }

// RedirectURL returns the registered redirect URL.
func (s *Sandbox) RedirectURL() string { return s.opts.RedirectURL }

// DemoBuyers returns the generated demonstration buyers, one per pricing rule.
func (s *Sandbox) DemoBuyers() []gen.DemoBuyer {
	return append([]gen.DemoBuyer(nil), s.demoBuyers...)
}

// Orders returns all sales orders, generated and posted, in creation order.
// The records are copies.
func (s *Sandbox) Orders() []odata.Record {
	s.mu.RLock()
	defer s.mu.RUnlock()
	src := s.sets[pathOrders]
	out := make([]odata.Record, len(src))
	for i, r := range src {
		c := make(odata.Record, len(r))
		for k, v := range r {
			c[k] = v
		}
		out[i] = c
	}
	return out
}

// statusWriter remembers the status written; Unwrap lets
// http.ResponseController reach the connection for hijacking.
type statusWriter struct {
	http.ResponseWriter
	status  int
	wrote   bool
	dropped net.Conn // hijacked connection to close once the call is logged
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP routes /api/oauth2/…, /api/v1/…, /docs/SysImage.aspx and the
// control API under /sandbox/.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	var kind, endpoint string
	var h func(*statusWriter, *http.Request, *Call)
	switch {
	case strings.HasPrefix(p, "/sandbox/"):
		s.serveControl(w, r)
		return
	case p == "/api/oauth2/token":
		kind, endpoint = KindToken, "oauth2/token"
		h = func(w *statusWriter, r *http.Request, _ *Call) { s.handleToken(w, r) }
	case p == "/api/oauth2/auth":
		kind, endpoint = KindAuth, "oauth2/auth"
		h = func(w *statusWriter, r *http.Request, _ *Call) { s.handleAuth(w, r) }
	case strings.HasPrefix(p, "/api/v1/"):
		kind = KindAPI
		h = s.handleAPI
	case p == "/docs/SysImage.aspx":
		kind, endpoint = KindPicture, "docs/SysImage.aspx"
		h = s.handlePicture
	default:
		writeExactError(w, http.StatusNotFound, "Not found.")
		return
	}
	call := Call{Time: s.clock.Now(), Method: r.Method, Path: p, Endpoint: endpoint, Kind: kind}
	if kind == KindAPI || kind == KindPicture {
		call.Query = r.URL.RawQuery
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			if !sw.wrote {
				writeExactError(sw, http.StatusInternalServerError, "An unexpected error occurred in the sandbox.")
			}
		}
		call.Status = sw.status
		s.log.add(call)
		if sw.dropped != nil {
			_ = sw.dropped.Close()
		}
	}()
	if d := s.faults.getLatency(); d > 0 {
		s.sleep(r.Context(), d)
	}
	if s.faults.inMaintenance() {
		s.log.count(func(st *Stats) { st.Faults++ })
		writeExactError(sw, http.StatusServiceUnavailable, "Exact Online is down for maintenance. Please try again later.")
		return
	}
	h(sw, r, &call)
}

// exactError is Exact's OData error body.
type exactError struct {
	Error struct {
		Code    string `json:"code"`
		Message struct {
			Lang  string `json:"lang"`
			Value string `json:"value"`
		} `json:"message"`
	} `json:"error"`
}

// writeExactError answers status with Exact's error body carrying msg.
func writeExactError(w http.ResponseWriter, status int, msg string) {
	var e exactError
	e.Error.Message.Value = msg
	b, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
