// Package erp is the Exact Online REST client: typed services per Exact
// area, a safe OData query builder, __next paging, typed errors and a
// governor that keeps every call within Exact's rate limits. It does not log;
// it returns errors and exposes counters.
//
// Exact behaviour the client relies on but no source confirms (query forms
// such as substringof and "Account eq null", URL length, which answers count
// toward Exact's error block) is listed in erp/README.md, each with the
// reading the client takes and the sandbox switch that tests the
// pessimistic one.
package erp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// DefaultBaseURL is Exact Online's Dutch host.
const DefaultBaseURL = "https://start.exactonline.nl"

const (
	maxErrorBody   = 64 << 10
	maxJSONBody    = 32 << 20
	maxPictureBody = 10 << 20
	maxAttempts    = 3
)

// Observer receives one event per HTTP call made to Exact, for metrics.
// Status 0 means a transport error (no response).
type Observer interface {
	ObserveCall(endpoint, method string, status int, d time.Duration)
}

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets Exact's host, e.g. https://start.exactonline.be
// (default DefaultBaseURL).
func WithBaseURL(u string) Option {
	return func(c *Client) error {
		p, err := url.Parse(strings.TrimRight(u, "/"))
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("erp.WithBaseURL: invalid base URL")
		}
		p.RawQuery, p.Fragment = "", ""
		c.base = p
		return nil
	}
}

// WithDivision sets the division; 0 discovers it through current/Me on first use.
func WithDivision(d int) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("erp.WithDivision: negative division")
		}
		c.division = d
		return nil
	}
}

// WithHTTPClient sets the HTTP client (its Timeout bounds each attempt). The
// token source, if any, is applied by wrapping a copy's Transport.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return fmt.Errorf("erp.WithHTTPClient: nil client")
		}
		c.hc = hc
		return nil
	}
}

// WithTokenSource sets the OAuth2 token source whose tokens authorise calls.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(c *Client) error {
		c.ts = ts
		return nil
	}
}

// WithBatchSize sets how many keys one batch-by-IDs call puts in its $filter
// (default 25).
func WithBatchSize(n int) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("erp.WithBatchSize: size must be positive")
		}
		c.batch = n
		return nil
	}
}

// WithClock sets the clock of the default governor.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		c.now = now
		return nil
	}
}

// WithGovernor sets the governor (default NewGovernor(GovernorOptions{})).
// A governor belongs to one division; do not share one between clients of
// different divisions.
func WithGovernor(g *Governor) Option {
	return func(c *Client) error {
		c.gov = g
		return nil
	}
}

// WithObserver sets the metrics hook.
func WithObserver(o Observer) Option {
	return func(c *Client) error {
		c.obs = o
		return nil
	}
}

// WithCallGate installs a check run before every read sent to Exact (each
// attempt, retries included): a non-nil error refuses the call without
// sending it. The gateway uses it for per-caller budgets (ARCHITECTURE §7);
// order writes are never gated, so an accepted order is never held back by
// its buyer's browsing.
func WithCallGate(gate func(ctx context.Context) error) Option {
	return func(c *Client) error {
		c.gate = gate
		return nil
	}
}

// WithBackoff sets the wait before retry number attempt (1, 2, …) of an
// idempotent GET. The default is jittered exponential: 200 ms, 400 ms, …
// each ±50 %, at most 5 s.
func WithBackoff(f func(attempt int) time.Duration) Option {
	return func(c *Client) error {
		c.backoff = f
		return nil
	}
}

func defaultBackoff(attempt int) time.Duration {
	d := 200 * time.Millisecond << (attempt - 1)
	if d > 5*time.Second || d <= 0 {
		d = 5 * time.Second
	}
	return d/2 + rand.N(d)
}

// Client talks to one Exact Online division. Create it with New; it is safe
// for concurrent use.
type Client struct {
	base     *url.URL
	hc       *http.Client
	ts       oauth2.TokenSource
	batch    int
	now      func() time.Time
	gov      *Governor
	obs      Observer
	backoff  func(int) time.Duration
	gate     func(context.Context) error
	maxURL   atomic.Int64 // longest lookup URL; lowered when Exact refuses a long one
	shapes   *[numShapes]shapeState
	divMu    sync.Mutex
	division int

	tokens *countingSource

	statsMu sync.Mutex
	calls   map[string]map[int]int64
	retries int64
	capped  int64

	Items            *ItemsService
	ItemGroups       *ItemGroupsService
	SalesItemPrices  *SalesItemPricesService
	PriceLists       *PriceListsService
	PriceListPeriods *PriceListPeriodsService
	VolumeDiscounts  *VolumeDiscountsService
	ItemWarehouses   *ItemWarehousesService
	Warehouses       *WarehousesService
	Accounts         *AccountsService
	Contacts         *ContactsService
	Addresses        *AddressesService
	ShippingMethods  *ShippingMethodsService
	SalesOrders      *SalesOrdersService
	SalesOrderLines  *SalesOrderLinesService
}

// New returns a Client configured by opts.
func New(opts ...Option) (*Client, error) {
	c := &Client{batch: 25, calls: map[string]map[int]int64{}, backoff: defaultBackoff}
	c.maxURL.Store(DefaultMaxURLLength)
	c.shapes = newShapeStates()
	if err := WithBaseURL(DefaultBaseURL)(c); err != nil {
		return nil, err
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	hc := *c.hc
	// Never follow a redirect: it could carry the token to another host, and
	// Exact answers an expired session with a redirect to its login page.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.ts != nil {
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		c.tokens = &countingSource{ts: c.ts}
		hc.Transport = &oauth2.Transport{Source: c.tokens, Base: base}
	}
	c.hc = &hc
	if c.gov == nil {
		c.gov = NewGovernor(GovernorOptions{Now: c.now})
	}
	c.Items = &ItemsService{entitySet[Item]{c: c, path: "logistics/Items", key: "ID"}}
	c.ItemGroups = &ItemGroupsService{entitySet[ItemGroup]{c: c, path: "logistics/ItemGroups", key: "ID"}}
	c.SalesItemPrices = &SalesItemPricesService{entitySet[SalesItemPrice]{c: c, path: "logistics/SalesItemPrices", key: "ID"}}
	c.PriceLists = &PriceListsService{entitySet[SalesPriceList]{c: c, path: "sales/SalesPriceLists", key: "ID"}}
	c.PriceListPeriods = &PriceListPeriodsService{entitySet[SalesPriceListPeriod]{c: c, path: "sales/SalesPriceListPeriods", key: "ID"}}
	c.VolumeDiscounts = &VolumeDiscountsService{entitySet[SalesPriceListVolumeDiscount]{c: c, path: "sales/SalesPriceListVolumeDiscounts", key: "ID"}}
	c.ItemWarehouses = &ItemWarehousesService{entitySet[ItemWarehouse]{c: c, path: "inventory/ItemWarehouses", key: "ID"}}
	c.Warehouses = &WarehousesService{entitySet[Warehouse]{c: c, path: "inventory/Warehouses", key: "ID"}}
	c.Accounts = &AccountsService{entitySet[Account]{c: c, path: "crm/Accounts", key: "ID"}}
	c.Contacts = &ContactsService{entitySet[Contact]{c: c, path: "crm/Contacts", key: "ID"}}
	c.Addresses = &AddressesService{entitySet[Address]{c: c, path: "crm/Addresses", key: "ID"}}
	c.ShippingMethods = &ShippingMethodsService{entitySet[ShippingMethod]{c: c, path: "sales/ShippingMethods", key: "ID"}}
	c.SalesOrders = &SalesOrdersService{entitySet[SalesOrder]{c: c, path: "salesorder/SalesOrders", key: "OrderID"}}
	c.SalesOrderLines = &SalesOrderLinesService{entitySet[SalesOrderLine]{c: c, path: "salesorder/SalesOrderLines", key: "ID"}}
	return c, nil
}

// Governor returns the client's rate governor.
func (c *Client) Governor() *Governor { return c.gov }

// Division returns the configured division or, when none was configured,
// the user's current division from current/Me (asked once).
func (c *Client) Division(ctx context.Context) (int, error) {
	c.divMu.Lock()
	defer c.divMu.Unlock()
	if c.division != 0 {
		return c.division, nil
	}
	me, err := c.Me(ctx)
	if err != nil {
		return 0, fmt.Errorf("erp.Division: %w", err)
	}
	if me.CurrentDivision <= 0 {
		return 0, fmt.Errorf("erp.Division: current/Me has no current division")
	}
	c.division = me.CurrentDivision
	return c.division, nil
}

// Me returns the authorised user from current/Me (no division in the path).
func (c *Client) Me(ctx context.Context) (*Me, error) {
	q, err := Query{}.encode(selectFields[Me]())
	if err != nil {
		return nil, fmt.Errorf("erp.Me: %w", err)
	}
	u := c.base.String() + "/api/v1/current/Me?" + q
	body, err := c.do(ctx, http.MethodGet, "current/Me", u, nil, maxJSONBody)
	if err != nil {
		return nil, fmt.Errorf("erp.Me: %w", err)
	}
	rows, _, err := decodeCollection[Me](body)
	if err != nil {
		return nil, fmt.Errorf("erp.Me: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("erp.Me: %w", ErrNotFound)
	}
	return &rows[0], nil
}

// Picture downloads an item picture (Items PictureUrl) with the app's
// token. Only URLs on the configured host are fetched; the call counts
// against the rate budget like any other.
func (c *Client) Picture(ctx context.Context, pictureURL string) ([]byte, string, error) {
	u, err := c.sameHost(pictureURL)
	if err != nil {
		return nil, "", fmt.Errorf("erp.Picture: %w", err)
	}
	var ctype string
	body, err := c.doFull(ctx, http.MethodGet, "picture", u, nil, maxPictureBody, func(h http.Header) { ctype = h.Get("Content-Type") })
	if err != nil {
		return nil, "", fmt.Errorf("erp.Picture: %w", err)
	}
	return body, ctype, nil
}

// sameHost checks that raw is an absolute URL on the configured scheme and host.
func (c *Client) sameHost(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) || u.User != nil {
		return "", ErrForeignURL
	}
	return u.String(), nil
}

// endpointURL returns the URL of path below /api/v1/{division}/.
func (c *Client) endpointURL(ctx context.Context, path, query string) (string, error) {
	div, err := c.Division(ctx)
	if err != nil {
		return "", err
	}
	u := c.base.String() + "/api/v1/" + strconv.Itoa(div) + "/" + path
	if query != "" {
		u += "?" + query
	}
	return u, nil
}

func (c *Client) do(ctx context.Context, method, endpoint, rawURL string, body []byte, limit int64) ([]byte, error) {
	return c.doFull(ctx, method, endpoint, rawURL, body, limit, nil)
}

// doFull sends one logical call through the governor: GETs are retried on
// 5xx, timeouts and connection errors; a POST is sent exactly once.
func (c *Client) doFull(ctx context.Context, method, endpoint, rawURL string, body []byte, limit int64, onHeader func(http.Header)) ([]byte, error) {
	prio := PriorityFromContext(ctx)
	if method != http.MethodGet {
		prio = PriorityWrite
	}
	attempts := 1
	if method == http.MethodGet {
		attempts = maxAttempts
	}
	var lastErr error
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			c.statsMu.Lock()
			c.retries++
			c.statsMu.Unlock()
			t := time.NewTimer(c.backoff(attempt - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, lastErr
			case <-t.C:
			}
		}
		out, retry, err := c.attempt(ctx, prio, method, endpoint, rawURL, body, limit, onHeader)
		if err == nil {
			return out, nil
		}
		lastErr = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (c *Client) attempt(ctx context.Context, prio Priority, method, endpoint, rawURL string, body []byte, limit int64, onHeader func(http.Header)) (out []byte, retry bool, err error) {
	// Error accounting (ARCHITECTURE §3.6): reads of an endpoint stop at
	// the read cap of 4xx answers an hour, writes at the higher write cap,
	// counting calls in flight as possible errors, so a burst of failing
	// reads can never use the headroom an order POST needs.
	done, capped, err := c.gov.admitErrors(ctx, endpoint, method != http.MethodGet)
	if err != nil {
		return nil, false, err
	}
	if capped {
		c.statsMu.Lock()
		c.capped++
		c.statsMu.Unlock()
		return nil, false, &Error{Method: method, Endpoint: endpoint, Reason: reasonErrorCap,
			Message: "too many error responses from this endpoint in the last hour; not calling it"}
	}
	status := 0
	defer func() { done(status) }()
	if c.gate != nil && prio != PriorityWrite {
		if err := c.gate(ctx); err != nil {
			return nil, false, err
		}
	}
	release, err := c.gov.Wait(WithPriority(ctx, prio), prio)
	if err != nil {
		var rl *RateLimitError
		if errors.As(err, &rl) {
			rl.Endpoint = endpoint
		}
		return nil, false, err
	}
	defer release()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, false, &transportError{method: method, endpoint: endpoint, err: errors.New("invalid request")}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Prefer", "return=representation")
	}
	reportSent(ctx)
	start := time.Now()
	resp, err := c.hc.Do(req)
	d := time.Since(start)
	if err != nil {
		c.observe(endpoint, method, 0, d)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the full URL
		}
		te := &transportError{method: method, endpoint: endpoint, err: err}
		return nil, IsTransient(te) && !errors.Is(err, context.Canceled), te
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	c.gov.Update(resp.Header, resp.StatusCode)
	c.observe(endpoint, method, resp.StatusCode, d)
	if onHeader != nil {
		onHeader(resp.Header)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		if err != nil {
			return nil, method == http.MethodGet, &transportError{method: method, endpoint: endpoint, err: err}
		}
		if int64(len(b)) > limit {
			return nil, false, &Error{StatusCode: resp.StatusCode, Method: method, Endpoint: endpoint, Message: "response too large"}
		}
		return b, false, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		s := c.gov.Snapshot()
		reset := s.BlockedUntil
		if reset.IsZero() {
			reset = s.MinuteReset
		}
		return nil, false, &RateLimitError{Reset: reset, Minutely: resp.Header.Get(hdrMinReset) != "", Endpoint: endpoint}
	}
	e := parseError(resp, method, endpoint)
	// 501 is Exact refusing the query's form (substringof, §5.9): asking
	// again cannot help.
	retry = resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && method == http.MethodGet
	return nil, retry, e
}

// parseError reads Exact's error body through a LimitReader.
func parseError(resp *http.Response, method, endpoint string) *Error {
	e := &Error{StatusCode: resp.StatusCode, Method: method, Endpoint: endpoint, Reason: resp.Header.Get("Reason")}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var odata struct {
		Error struct {
			Code    string `json:"code"`
			Message struct {
				Value string `json:"value"`
			} `json:"message"`
		} `json:"error"`
	}
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	switch {
	case json.Unmarshal(b, &odata) == nil && (odata.Error.Message.Value != "" || odata.Error.Code != ""):
		e.Code, e.Message = odata.Error.Code, odata.Error.Message.Value
	case json.Unmarshal(b, &oauth) == nil && oauth.Error != "":
		e.Code, e.Message = oauth.Error, oauth.Description
	}
	e.Message = SafeMessage(e.Message)
	return e
}

func (c *Client) observe(endpoint, method string, status int, d time.Duration) {
	c.statsMu.Lock()
	m := c.calls[endpoint]
	if m == nil {
		m = map[int]int64{}
		c.calls[endpoint] = m
	}
	m[status]++
	c.statsMu.Unlock()
	if c.obs != nil {
		c.obs.ObserveCall(endpoint, method, status, d)
	}
}

// Stats are the client's counters, for metrics.
type Stats struct {
	// Calls counts HTTP calls by endpoint and status (0 = transport error).
	Calls map[string]map[int]int64
	// Retries counts repeated GET attempts.
	Retries int64
	// RateLimited counts 429 responses.
	RateLimited int64
	// ErrorCapped counts calls refused because their endpoint hit the hourly error cap.
	ErrorCapped int64
	// TokenRefreshes counts the distinct access tokens the client has used
	// (the first one included): how often the token source refreshed.
	TokenRefreshes int64
	// Budget is the governor's view of the rate budget.
	Budget GovernorState
}

// countingSource counts the distinct access tokens its source hands out. It
// keeps only a hash of the last one.
type countingSource struct {
	ts   oauth2.TokenSource
	mu   sync.Mutex
	last [32]byte
	n    int64
}

func (s *countingSource) Token() (*oauth2.Token, error) {
	t, err := s.ts.Token()
	if err != nil || t == nil {
		return t, err
	}
	h := sha256.Sum256([]byte(t.AccessToken))
	s.mu.Lock()
	if h != s.last {
		s.last = h
		s.n++
	}
	s.mu.Unlock()
	return t, nil
}

func (s *countingSource) count() int64 {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Stats returns a copy of the client's counters.
func (c *Client) Stats() Stats {
	c.statsMu.Lock()
	s := Stats{Calls: make(map[string]map[int]int64, len(c.calls)), Retries: c.retries, ErrorCapped: c.capped}
	for ep, m := range c.calls {
		mm := make(map[int]int64, len(m))
		for k, v := range m {
			mm[k] = v
		}
		s.Calls[ep] = mm
	}
	c.statsMu.Unlock()
	s.TokenRefreshes = c.tokens.count()
	s.Budget = c.gov.Snapshot()
	s.RateLimited = s.Budget.RateLimited
	return s
}

// decodeCollection decodes Exact's envelope: {"d":{"results":[…],"__next":…}},
// {"d":[…]} or a single entity {"d":{…}}.
func decodeCollection[T any](body []byte) ([]T, string, error) {
	var env struct {
		D json.RawMessage `json:"d"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, "", fmt.Errorf("decode response: %w", err)
	}
	d := bytes.TrimSpace(env.D)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) {
		return nil, "", fmt.Errorf("decode response: no \"d\"")
	}
	if d[0] == '[' {
		var rows []T
		if err := json.Unmarshal(d, &rows); err != nil {
			return nil, "", fmt.Errorf("decode response: %w", err)
		}
		return rows, "", nil
	}
	var coll struct {
		Results json.RawMessage `json:"results"`
		Next    string          `json:"__next"`
	}
	if err := json.Unmarshal(d, &coll); err != nil {
		return nil, "", fmt.Errorf("decode response: %w", err)
	}
	if len(coll.Results) > 0 && coll.Results[0] == '[' {
		var rows []T
		if err := json.Unmarshal(coll.Results, &rows); err != nil {
			return nil, "", fmt.Errorf("decode response: %w", err)
		}
		return rows, coll.Next, nil
	}
	// One report (UNCONFIRMED) has "d" as an object keyed "0", "1", …
	var keyed map[string]json.RawMessage
	if err := json.Unmarshal(d, &keyed); err == nil && len(keyed) > 0 {
		if _, ok := keyed["0"]; ok {
			rows := make([]T, len(keyed))
			for k, raw := range keyed {
				i, err := strconv.Atoi(k)
				if err != nil || i < 0 || i >= len(rows) {
					rows = nil
					break
				}
				if err := json.Unmarshal(raw, &rows[i]); err != nil {
					return nil, "", fmt.Errorf("decode response: %w", err)
				}
			}
			if rows != nil {
				return rows, "", nil
			}
		}
	}
	var one T
	if err := json.Unmarshal(d, &one); err != nil {
		return nil, "", fmt.Errorf("decode response: %w", err)
	}
	return []T{one}, "", nil
}
