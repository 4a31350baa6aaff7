package main

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/server"
	"github.com/exactql/exactql/server/cors"
)

// config is every setting of the gateway, read from the environment (ARCHITECTURE §9).
// Only cmd reads configuration; everything else receives values.
type config struct {
	Mode               string // "sandbox" or "production"
	Addr               string
	DataDir            string
	JWTSecret          string
	JWTSecretGenerated bool

	PublicPrices bool
	WebshopOnly  bool
	Currency     string
	CORSOrigins  []string
	Playground   bool
	LogLevel     string
	LogFormat    string
	Timezone     *time.Location
	TimezoneName string

	ExactBaseURL      string
	ExactClientID     string
	ExactClientSecret string
	ExactRedirectURL  string
	ExactDivision     int
	ExactRefreshToken string

	MaxOrderLines     int
	OrderRetryBase    time.Duration
	OrderPollInterval time.Duration
	UpstreamWait      time.Duration
	CallerBudget      int
	BatchSize         int

	TTLReference time.Duration // item groups, warehouses, shipping methods
	TTLItems     time.Duration
	TTLPrices    time.Duration
	TTLAccounts  time.Duration
	TTLStock     time.Duration
	TTLAbsent    time.Duration
	StaleMaxAge  time.Duration
	CacheBytes   int64

	MaxBodyBytes  int64
	MaxDepth      int
	MaxComplexity int
	Introspection bool

	// Request hardening (issue 17).
	MaxQueryBytes   int
	QueryCacheBytes int64
	APQCacheBytes   int64
	JWTMaxTTL       time.Duration
	JWTIssuer       string
	JWTAudience     string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (EXACTQL_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// AdminAddr, when set, is where /metrics and /readyz are served instead
	// of Addr (EXACTQL_ADMIN_ADDR).
	AdminAddr string
	// DatabaseURL selects the PostgreSQL store shared by replicas (§11);
	// empty means the embedded SQLite file in DataDir.
	DatabaseURL string

	// Caller sign-in with an OpenID Connect provider (issue 13 item 6).
	JWKSURL      string
	ClaimAccount string
	ClaimContact string

	// Warnings are start-up warnings about the environment (unknown
	// variables); run fills them, serve logs them.
	Warnings []string

	// Sandbox mode only.
	SandboxSeed      int64
	SandboxItems     int
	SandboxCustomers int
	// SandboxPessimistic turns on every pessimistic switch of the embedded
	// sandbox; SandboxBlockErrors makes it block endpoints like Exact.
	SandboxPessimistic bool
	SandboxBlockErrors bool

	// MaxURLLength is the longest URL of one chunked Exact lookup.
	MaxURLLength int

	// The mirror's feeds and webhooks (ARCHITECTURE §3, §12).
	Sync          bool
	SyncShare     float64
	PublicURL     string
	WebhookSecret string
	// Freshness bounds: an answer using data older than these says
	// extensions.stale (ARCHITECTURE §3).
	FreshStock, FreshPrices, FreshCustomers, FreshReference time.Duration

	// The response cache (issue 15 item 3).
	ResponseCache      bool
	ResponseCacheTTL   time.Duration
	ResponseCacheBytes int64

	// now is the gateway's and the sandbox's clock for tests (nil means real
	// time); no environment variable sets it.
	now func() time.Time

	// Order abuse limits (issue 17 items 3 and 5).
	OrderAttemptsPerMinute int
	OrderMaxUnknownRefs    int
	MaxLineQuantity        decimal.Decimal
	MaxOrderAmount         decimal.Decimal
}

// setting describes one environment variable for parsing and for `exactql help`.
type setting struct {
	Name, Default, Help string
}

// settings lists every variable the gateway reads, in README order.
var settings = []setting{
	{"EXACTQL_MODE", "sandbox without EXACT_CLIENT_ID, else production", "sandbox or production; production refuses to start without Exact credentials"},
	{"EXACTQL_ADDR", "127.0.0.1:8080 in sandbox mode (demo tokens stay local), else :8080", "listen address"},
	{"EXACTQL_DATA_DIR", "./data", "directory of the embedded SQLite store (tokens, idempotency records, order journal)"},
	{"EXACTQL_JWT_SECRET", "generated in sandbox mode", "HS256 secret for callers' bearer tokens; required in production"},
	{"EXACTQL_PUBLIC_PRICES", "false", "anonymous callers see default prices"},
	{"EXACTQL_WEBSHOP_ONLY", "false", "only items flagged IsWebshopItem are sellable"},
	{"EXACTQL_CURRENCY", "EUR", "the division's currency"},
	{"EXACTQL_CORS_ORIGINS", "", "comma-separated browser origins allowed"},
	{"EXACTQL_PLAYGROUND", "true in sandbox mode, else false", "serve the GraphiQL playground at /"},
	{"EXACTQL_INTROSPECTION", "true in sandbox mode, else false", "allow schema introspection"},
	{"EXACTQL_LOG_LEVEL", "info", "zerolog level: trace, debug, info, warn, error, fatal, panic or disabled"},
	{"EXACTQL_LOG_FORMAT", "console on a terminal, else json", "json or console"},
	{"EXACTQL_TIMEZONE", "Europe/Amsterdam", "the division's time zone, for \"today\" in price and date rules"},
	{"EXACTQL_MAX_ORDER_LINES", "200", "most lines one order may have"},
	{"EXACTQL_ORDER_RETRY_BASE", "30s", "first wait before the order worker retries an order Exact did not take; it doubles up to 30m, jittered"},
	{"EXACTQL_ORDER_POLL_INTERVAL", "5s", "how often the order worker looks for pending orders that are due"},
	{"EXACTQL_UPSTREAM_WAIT", "2s", "longest a read waits for Exact budget before answering RATE_LIMITED"},
	{"EXACTQL_CALLER_BUDGET", "30", "Exact calls one caller may cause per minute"},
	{"EXACTQL_BATCH_SIZE", "25", "IDs per $filter batch sent to Exact"},
	{"EXACTQL_TTL_REFERENCE", "1h", "cache TTL of item groups, warehouses, shipping methods"},
	{"EXACTQL_TTL_ITEMS", "10m", "cache TTL of items and product pages"},
	{"EXACTQL_TTL_PRICES", "5m", "cache TTL of prices, price lists, periods and volume discounts"},
	{"EXACTQL_TTL_ACCOUNTS", "5m", "cache TTL of accounts, contacts and addresses"},
	{"EXACTQL_TTL_STOCK", "60s", "cache TTL of stock per warehouse"},
	{"EXACTQL_TTL_ABSENT", "5m", "how long an unknown ID is remembered as absent"},
	{"EXACTQL_STALE_MAX_AGE", "24h", "longest a cached value is served stale while Exact fails or the budget is spent"},
	{"EXACTQL_CACHE_BYTES", "268435456", "cache size in bytes"},
	{"EXACTQL_MAX_BODY_BYTES", "1048576", "largest accepted request body"},
	{"EXACTQL_MAX_DEPTH", "12", "deepest accepted GraphQL selection"},
	{"EXACTQL_MAX_COMPLEXITY", "5000", "highest accepted GraphQL query complexity"},
	{"EXACTQL_MAX_QUERY_BYTES", "32768", "longest accepted GraphQL query document, apart from the body limit"},
	{"EXACTQL_QUERY_CACHE_BYTES", "16777216", "memory the parsed-query cache may keep (estimated)"},
	{"EXACTQL_APQ_CACHE_BYTES", "4194304", "memory the automatic persisted query cache may keep"},
	{"EXACTQL_JWT_MAX_TTL", "24h", "longest lifetime a caller token may have left; tokens whose exp is further out are refused (sandbox demo tokens are minted with it)"},
	{"EXACTQL_JWT_ISSUER", "", "when set, caller tokens must carry this iss claim"},
	{"EXACTQL_JWT_AUDIENCE", "", "when set, caller tokens' aud claim must include this value"},
	{"EXACTQL_JWKS_URL", "", "an OpenID Connect provider's jwks_uri: caller tokens signed with its keys (RS256, ES256, EdDSA) are accepted beside HS256 ones; needs EXACTQL_JWT_ISSUER and EXACTQL_JWT_AUDIENCE"},
	{"EXACTQL_CLAIM_ACCOUNT", "exact_account", "name of the caller token claim holding the buyer's Exact account ID"},
	{"EXACTQL_CLAIM_CONTACT", "exact_contact", "name of the caller token claim holding the buyer's Exact contact ID"},
	{"EXACT_BASE_URL", "https://start.exactonline.nl", "Exact host for API and OAuth"},
	{"EXACT_CLIENT_ID", "", "the Exact app's client ID; without it the gateway runs in sandbox mode"},
	{"EXACT_CLIENT_SECRET", "", "the Exact app's client secret"},
	{"EXACT_REDIRECT_URL", "", "the Exact app's redirect URL: loopback http (`exactql auth` listens) or https (`exactql auth` takes the redirected URL pasted on stdin)"},
	{"EXACT_DIVISION", "current/Me", "division number"},
	{"EXACT_REFRESH_TOKEN", "", "seeds the token store when it is empty"},
	{"EXACTQL_TRUSTED_PROXIES", "", "comma-separated CIDRs (or addresses) of reverse proxies whose X-Forwarded-For names the client; the right-most address that is not one of them is the client"},
	{"EXACTQL_ADMIN_ADDR", "", "separate listen address for /metrics and /readyz (e.g. 127.0.0.1:9090); empty serves them on EXACTQL_ADDR"},
	{"EXACTQL_SANDBOX_SEED", "1", "sandbox mode: data set seed"},
	{"EXACTQL_SANDBOX_ITEMS", "2000", "sandbox mode: number of items"},
	{"EXACTQL_SANDBOX_CUSTOMERS", "150", "sandbox mode: number of customers"},
	{"EXACTQL_FRESHNESS_STOCK", "5m", "answers using stock data older than this say extensions.stale and staleSeconds"},
	{"EXACTQL_FRESHNESS_PRICES", "15m", "the same bound for prices and the catalogue's items"},
	{"EXACTQL_FRESHNESS_CUSTOMERS", "15m", "the same bound for accounts, contacts and addresses"},
	{"EXACTQL_FRESHNESS_REFERENCE", "1h", "the same bound for item groups, warehouses, shipping methods and price lists"},
	{"EXACTQL_SYNC", "true", "keep the mirror: sync feeds fill a local copy of Exact's data"},
	{"EXACTQL_SYNC_SHARE", "0.3", "share of Exact's daily call limit the mirror's feeds may spend (0 < share ≤ 1)"},
	{"EXACTQL_PUBLIC_URL", "", "the gateway's public base URL (absolute http(s) URL, optionally with a path, no query or fragment): makes Product.pictureUrl and thumbnailUrl absolute URLs under it; also the webhook callback's base for `exactql webhooks subscribe` (https there)"},
	{"EXACT_WEBHOOK_SECRET", "", "the Exact app's webhook secret; without it POST /webhooks/exact refuses every notification"},
	{"EXACTQL_ORDER_ATTEMPTS_PER_MINUTE", "10", "new placeOrder attempts one buyer (Exact account) may make per minute; replays of a recorded idempotency key are not counted; 0 turns the limit off"},
	{"EXACTQL_ORDER_MAX_UNKNOWN_PRODUCTS", "10", "distinct unknown product references one order may carry before the gateway stops looking the rest up (UNKNOWN_PRODUCT)"},
	{"EXACTQL_MAX_LINE_QUANTITY", "100000", "largest quantity of one order line (QUANTITY_TOO_LARGE above it)"},
	{"EXACTQL_MAX_ORDER_AMOUNT", "1000000", "largest order amount excluding VAT, in the buyer's currency (ORDER_TOO_LARGE above it)"},
	{"EXACTQL_MAX_URL_LENGTH", "2000", "longest URL of one Exact lookup; keys are chunked by this length as well as by count"},
	{"EXACTQL_SANDBOX_PESSIMISTIC", "false", "sandbox mode: turn on every pessimistic switch (substringof 501, Account eq null 400, URL length 2048, line re-pricing, Remarks cut at 100)"},
	{"EXACTQL_SANDBOX_BLOCK_ERRORS", "false", "sandbox mode: block an endpoint for the hour after 10 error answers, as Exact does"},
	{"EXACTQL_DATABASE_URL", "", "PostgreSQL URL (postgres://…; pool_max_conns=N sets the pool, default 10); when set the token chain, rate budget, idempotency records, order journal and the mirror's rows live there, shared by every replica; production mode only"},
	{"EXACTQL_RESPONSE_CACHE", "on", "on or off: keep whole answers of read-only operations in memory per price scope (never shared across buyers)"},
	{"EXACTQL_RESPONSE_CACHE_TTL", "30s", "longest a cached answer is served (1s to 24h); data changes, the buyer's own orders and midnight in EXACTQL_TIMEZONE drop it sooner"},
	{"EXACTQL_RESPONSE_CACHE_BYTES", "33554432", "memory the response cache may keep (estimated); one answer may take at most 1/64 of it"},
}

// loadConfig reads the configuration through getenv and validates it.
func loadConfig(getenv func(string) string) (*config, error) {
	p := parser{getenv: getenv}
	c := &config{
		ExactClientID:     getenv("EXACT_CLIENT_ID"),
		ExactClientSecret: getenv("EXACT_CLIENT_SECRET"),
		ExactRedirectURL:  getenv("EXACT_REDIRECT_URL"),
		ExactRefreshToken: getenv("EXACT_REFRESH_TOKEN"),
	}
	c.Mode = p.str("EXACTQL_MODE", "")
	if c.Mode == "" {
		c.Mode = "production"
		if c.ExactClientID == "" {
			c.Mode = "sandbox"
		}
	}
	if c.Mode != "sandbox" && c.Mode != "production" {
		return nil, fmt.Errorf("EXACTQL_MODE must be sandbox or production, not %q", c.Mode)
	}
	sandbox := c.Mode == "sandbox"
	// Sandbox mode serves demo tokens: only this machine may reach it
	// unless EXACTQL_ADDR says otherwise.
	defaultAddr := ":8080"
	if sandbox {
		defaultAddr = "127.0.0.1:8080"
	}
	c.Addr = p.str("EXACTQL_ADDR", defaultAddr)
	c.DataDir = p.str("EXACTQL_DATA_DIR", "./data")
	c.JWTSecret = getenv("EXACTQL_JWT_SECRET")
	c.PublicPrices = p.boolean("EXACTQL_PUBLIC_PRICES", false)
	c.WebshopOnly = p.boolean("EXACTQL_WEBSHOP_ONLY", false)
	c.Currency = strings.ToUpper(p.str("EXACTQL_CURRENCY", "EUR"))
	if origins, err := cors.ParseOrigins(getenv("EXACTQL_CORS_ORIGINS")); err != nil {
		p.fail("EXACTQL_CORS_ORIGINS", err)
	} else {
		c.CORSOrigins = origins
	}
	c.Playground = p.boolean("EXACTQL_PLAYGROUND", sandbox)
	c.Introspection = p.boolean("EXACTQL_INTROSPECTION", sandbox)
	c.LogLevel = strings.ToLower(p.str("EXACTQL_LOG_LEVEL", "info"))
	if !validLogLevel(c.LogLevel) {
		p.fail("EXACTQL_LOG_LEVEL", fmt.Errorf("must be one of %s, not %q", strings.Join(logLevels, ", "), c.LogLevel))
	}
	c.LogFormat = p.str("EXACTQL_LOG_FORMAT", "")
	c.TimezoneName = p.str("EXACTQL_TIMEZONE", "Europe/Amsterdam")
	if loc, err := time.LoadLocation(c.TimezoneName); err != nil {
		p.fail("EXACTQL_TIMEZONE", err)
	} else {
		c.Timezone = loc
	}
	c.MaxOrderLines = p.integer("EXACTQL_MAX_ORDER_LINES", 200, 1, 10000)
	c.OrderRetryBase = p.duration("EXACTQL_ORDER_RETRY_BASE", 30*time.Second)
	c.OrderPollInterval = p.duration("EXACTQL_ORDER_POLL_INTERVAL", 5*time.Second)
	c.UpstreamWait = p.duration("EXACTQL_UPSTREAM_WAIT", 2*time.Second)
	c.CallerBudget = p.integer("EXACTQL_CALLER_BUDGET", 30, 1, 1<<30)
	c.BatchSize = p.integer("EXACTQL_BATCH_SIZE", 25, 1, 60)
	c.TTLReference = p.duration("EXACTQL_TTL_REFERENCE", time.Hour)
	c.TTLItems = p.duration("EXACTQL_TTL_ITEMS", 10*time.Minute)
	c.TTLPrices = p.duration("EXACTQL_TTL_PRICES", 5*time.Minute)
	c.TTLAccounts = p.duration("EXACTQL_TTL_ACCOUNTS", 5*time.Minute)
	c.TTLStock = p.duration("EXACTQL_TTL_STOCK", 60*time.Second)
	c.TTLAbsent = p.duration("EXACTQL_TTL_ABSENT", 5*time.Minute)
	c.StaleMaxAge = p.duration("EXACTQL_STALE_MAX_AGE", 24*time.Hour)
	c.CacheBytes = int64(p.integer("EXACTQL_CACHE_BYTES", 256<<20, 1<<20, 1<<40))
	c.MaxBodyBytes = int64(p.integer("EXACTQL_MAX_BODY_BYTES", 1<<20, 1024, 64<<20))
	c.MaxDepth = p.integer("EXACTQL_MAX_DEPTH", 12, 2, 100)
	c.MaxComplexity = p.integer("EXACTQL_MAX_COMPLEXITY", 5000, 10, 1<<30)
	c.MaxQueryBytes = p.integer("EXACTQL_MAX_QUERY_BYTES", 32<<10, 256, 16<<20)
	c.QueryCacheBytes = int64(p.integer("EXACTQL_QUERY_CACHE_BYTES", 16<<20, 64<<10, 1<<34))
	c.APQCacheBytes = int64(p.integer("EXACTQL_APQ_CACHE_BYTES", 4<<20, 64<<10, 1<<34))
	c.JWTMaxTTL = p.duration("EXACTQL_JWT_MAX_TTL", 24*time.Hour)
	if c.JWTMaxTTL < time.Minute {
		p.fail("EXACTQL_JWT_MAX_TTL", fmt.Errorf("must be at least 1m, not %s", c.JWTMaxTTL))
	}
	c.JWTIssuer = p.str("EXACTQL_JWT_ISSUER", "")
	c.JWTAudience = p.str("EXACTQL_JWT_AUDIENCE", "")
	c.JWKSURL = p.str("EXACTQL_JWKS_URL", "")
	if c.JWKSURL != "" {
		if u, err := url.Parse(c.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.fail("EXACTQL_JWKS_URL", errors.New("must be an absolute https URL"))
		} else if c.JWTIssuer == "" || c.JWTAudience == "" {
			// An identity provider signs tokens for every app it serves;
			// without both checks a token meant for another app would do.
			p.fail("EXACTQL_JWKS_URL", errors.New("needs EXACTQL_JWT_ISSUER and EXACTQL_JWT_AUDIENCE"))
		}
	}
	c.ClaimAccount = p.claimName("EXACTQL_CLAIM_ACCOUNT", "exact_account")
	c.ClaimContact = p.claimName("EXACTQL_CLAIM_CONTACT", "exact_contact")
	if c.ClaimAccount == c.ClaimContact {
		p.fail("EXACTQL_CLAIM_CONTACT", errors.New("must differ from EXACTQL_CLAIM_ACCOUNT"))
	}
	c.ExactBaseURL = strings.TrimRight(p.str("EXACT_BASE_URL", "https://start.exactonline.nl"), "/")
	if d := getenv("EXACT_DIVISION"); d != "" {
		c.ExactDivision = p.integer("EXACT_DIVISION", 0, 1, 1<<31-1)
	}
	if tp, err := server.ParseTrustedProxies(getenv("EXACTQL_TRUSTED_PROXIES")); err != nil {
		p.fail("EXACTQL_TRUSTED_PROXIES", err)
	} else {
		c.TrustedProxies = tp
	}
	c.AdminAddr = p.str("EXACTQL_ADMIN_ADDR", "")
	c.SandboxSeed = int64(p.integer("EXACTQL_SANDBOX_SEED", 1, 0, 1<<31-1))
	c.SandboxItems = p.integer("EXACTQL_SANDBOX_ITEMS", 2000, 10, 200000)
	c.SandboxCustomers = p.integer("EXACTQL_SANDBOX_CUSTOMERS", 150, 10, 100000)
	c.Sync = p.boolean("EXACTQL_SYNC", true)
	c.FreshStock = p.duration("EXACTQL_FRESHNESS_STOCK", 5*time.Minute)
	c.FreshPrices = p.duration("EXACTQL_FRESHNESS_PRICES", 15*time.Minute)
	c.FreshCustomers = p.duration("EXACTQL_FRESHNESS_CUSTOMERS", 15*time.Minute)
	c.FreshReference = p.duration("EXACTQL_FRESHNESS_REFERENCE", time.Hour)
	for name, d := range map[string]time.Duration{"EXACTQL_FRESHNESS_STOCK": c.FreshStock, "EXACTQL_FRESHNESS_PRICES": c.FreshPrices,
		"EXACTQL_FRESHNESS_CUSTOMERS": c.FreshCustomers, "EXACTQL_FRESHNESS_REFERENCE": c.FreshReference} {
		if d <= 0 {
			p.fail(name, fmt.Errorf("must be above 0"))
		}
	}
	c.SyncShare = 0.3
	if v := strings.TrimSpace(getenv("EXACTQL_SYNC_SHARE")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0 && f <= 1) {
			p.fail("EXACTQL_SYNC_SHARE", fmt.Errorf("must be a number above 0 and at most 1, not %q", v))
		} else {
			c.SyncShare = f
		}
	}
	c.PublicURL = strings.TrimRight(p.str("EXACTQL_PUBLIC_URL", ""), "/")
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.PublicURL, "#") || u.User != nil {
			p.fail("EXACTQL_PUBLIC_URL", fmt.Errorf("must be an absolute http(s) URL without query, fragment or user, like https://shop.example.com"))
		}
	}
	c.WebhookSecret = getenv("EXACT_WEBHOOK_SECRET")
	c.OrderAttemptsPerMinute = p.integer("EXACTQL_ORDER_ATTEMPTS_PER_MINUTE", 10, 0, 1<<20)
	c.OrderMaxUnknownRefs = p.integer("EXACTQL_ORDER_MAX_UNKNOWN_PRODUCTS", 10, 1, 10000)
	c.MaxLineQuantity = p.positiveDecimal("EXACTQL_MAX_LINE_QUANTITY", validate.DefaultMaxLineQuantity)
	c.MaxOrderAmount = p.positiveDecimal("EXACTQL_MAX_ORDER_AMOUNT", validate.DefaultMaxOrderAmount)
	c.SandboxPessimistic = p.boolean("EXACTQL_SANDBOX_PESSIMISTIC", false)
	c.SandboxBlockErrors = p.boolean("EXACTQL_SANDBOX_BLOCK_ERRORS", false)
	c.MaxURLLength = p.integer("EXACTQL_MAX_URL_LENGTH", 2000, 500, 8000)
	c.DatabaseURL = strings.TrimSpace(getenv("EXACTQL_DATABASE_URL"))
	if c.DatabaseURL != "" {
		// The value is never echoed: it may carry a password.
		if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
			p.fail("EXACTQL_DATABASE_URL", fmt.Errorf("must be a postgres:// or postgresql:// URL"))
		} else if sandbox {
			// The in-process sandbox is new on every start, and sandbox mode
			// empties its store; a shared PostgreSQL store is never emptied
			// and may hold a production token chain and journal, so the two
			// do not mix.
			p.fail("EXACTQL_DATABASE_URL", fmt.Errorf("is for production mode (sandbox mode keeps a throw-away SQLite store and never touches PostgreSQL); run replicas in production mode, e.g. against `exact-sandbox`"))
		}
	}
	switch v := strings.ToLower(p.str("EXACTQL_RESPONSE_CACHE", "on")); v {
	case "on", "true", "1":
		c.ResponseCache = true
	case "off", "false", "0":
	default:
		p.fail("EXACTQL_RESPONSE_CACHE", fmt.Errorf("must be on or off, not %q", v))
	}
	c.ResponseCacheTTL = p.duration("EXACTQL_RESPONSE_CACHE_TTL", 30*time.Second)
	if c.ResponseCacheTTL < time.Second || c.ResponseCacheTTL > 24*time.Hour {
		p.fail("EXACTQL_RESPONSE_CACHE_TTL", fmt.Errorf("must be from 1s to 24h, not %s", c.ResponseCacheTTL))
	}
	c.ResponseCacheBytes = int64(p.integer("EXACTQL_RESPONSE_CACHE_BYTES", 32<<20, 64<<10, 1<<34))
	if p.err != nil {
		return nil, p.err
	}
	if !sandbox {
		var missing []string
		for _, kv := range [][2]string{{"EXACT_CLIENT_ID", c.ExactClientID}, {"EXACT_CLIENT_SECRET", c.ExactClientSecret}} {
			if kv[1] == "" {
				missing = append(missing, kv[0])
			}
		}
		if c.JWTSecret == "" && c.JWKSURL == "" {
			missing = append(missing, "EXACTQL_JWT_SECRET (or EXACTQL_JWKS_URL)")
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("production mode needs %s", strings.Join(missing, ", "))
		}
		if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
			return nil, fmt.Errorf("EXACTQL_JWT_SECRET must be at least 32 characters")
		}
	}
	return c, nil
}

// parser collects the first error while reading typed variables.
type parser struct {
	getenv func(string) string
	err    error
}

func (p *parser) fail(name string, err error) {
	if p.err == nil {
		p.err = fmt.Errorf("%s: %w", name, err)
	}
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) boolean(name string, def bool) bool {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, fmt.Errorf("not a boolean: %q", v))
		return def
	}
	return b
}

func (p *parser) integer(name string, def, min, max int) int {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		p.fail(name, fmt.Errorf("must be an integer from %d to %d, not %q", min, max, v))
		return def
	}
	return n
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.fail(name, fmt.Errorf("not a duration like 90s or 5m: %q", v))
		return def
	}
	return d
}

// claimName reads a JWT claim name: printable, no spaces, at most 256 bytes.
func (p *parser) claimName(name, def string) string {
	v := p.str(name, def)
	if len(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		p.fail(name, fmt.Errorf("not a claim name: %q", v))
		return def
	}
	return v
}

// logLevels are zerolog's level names.
var logLevels = []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}

func validLogLevel(s string) bool {
	for _, l := range logLevels {
		if s == l {
			return true
		}
	}
	return false
}

// positiveDecimal reads a number greater than 0 with at most 12 integer
// digits (what an order line or amount can sensibly hold).
func (p *parser) positiveDecimal(name string, def decimal.Decimal) decimal.Decimal {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	d, err := decimal.NewFromString(v)
	if err != nil || !d.IsPositive() || d.GreaterThanOrEqual(decimal.New(1, 12)) {
		p.fail(name, fmt.Errorf("must be a number above 0 and below 1e12, not %q", v))
		return def
	}
	return d
}
