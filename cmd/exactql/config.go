package main

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/server"
	"github.com/exactql/exactql/server/cors"
)

// config is every setting of the gateway, read from the environment (ARCHITECTURE §9).
// Only cmd reads configuration; everything else receives values.
type config struct {
	Mode      string // "sandbox" or "production"
	Addr      string
	DataDir   string
	JWTSecret string

	PublicPrices bool
	// Shop is EXACTQL_CURRENCY, EXACTQL_WEBSHOP_ONLY and EXACTQL_TIMEZONE:
	// one value given to the read model and the order service alike.
	validate.Shop
	CORSOrigins  []string
	Playground   bool
	LogLevel     string
	LogFormat    string
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

	// TTLs are the read cache's lifetimes (EXACTQL_TTL_*).
	TTLs        live.TTLs
	StaleMaxAge time.Duration
	CacheBytes  int64

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
	Freshness live.Freshness

	// HTTPTimeouts are the gateway's HTTP server timeouts.
	HTTPTimeouts httpTimeouts

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

// httpTimeouts are an http.Server's timeouts (EXACTQL_*_TIMEOUT).
type httpTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// setting is one environment variable: its name, its default, its help
// text and its parser, stated once. `exactql help` prints the table,
// unknownVariables checks names against it, loadConfig runs the parsers in
// table order, and TestREADMESettingsTable ties it to README.md's table.
type setting struct {
	Name string
	// Default is the value parsed when the variable is unset or blank;
	// "" when there is none.
	Default string
	// Shown is the default as documented when it is not one plain value
	// (it depends on the mode or on other settings); parse then receives
	// "" when the variable is unset.
	Shown string
	Help  string
	// parse reads v (the variable's trimmed value, or Default) into c.
	// Errors go to p.fail; p.name is the setting's name.
	parse func(p *parser, c *config, v string)
}

// DefaultText is the default as `exactql help` and README.md show it.
func (s setting) DefaultText() string {
	switch {
	case s.Shown != "":
		return s.Shown
	case s.Default == "":
		return "none"
	}
	return s.Default
}

// dur formats a default duration the way the settings are written (1h,
// 10m, 90s), not as Duration.String's 1h0m0s.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ttls and fresh are the read path's documented defaults.
var (
	ttls  = live.DefaultTTLs()
	fresh = live.DefaultFreshness()
)

// settings lists every variable the gateway reads, in README order.
var settings = []setting{
	{Name: "EXACTQL_MODE", Shown: "sandbox without EXACT_CLIENT_ID, else production", Help: "sandbox or production; production refuses to start without Exact credentials",
		parse: func(p *parser, c *config, v string) {
			switch v {
			case "":
				c.Mode = "production"
				if p.getenv("EXACT_CLIENT_ID") == "" {
					c.Mode = "sandbox"
				}
			case "sandbox", "production":
				c.Mode = v
			default:
				p.fail(fmt.Errorf("must be sandbox or production, not %q", v))
			}
		}},
	{Name: "EXACTQL_ADDR", Shown: "127.0.0.1:8080 in sandbox mode (demo tokens stay local), else :8080", Help: "listen address",
		parse: func(p *parser, c *config, v string) {
			// Sandbox mode serves demo tokens: only this machine may reach
			// it unless EXACTQL_ADDR says otherwise.
			c.Addr = cmp.Or(v, c.sandbox(":8080", "127.0.0.1:8080"))
		}},
	{Name: "EXACTQL_DATA_DIR", Default: "./data", Help: "directory of the embedded SQLite store (tokens, idempotency records, order journal)",
		parse: func(p *parser, c *config, v string) { c.DataDir = v }},
	{Name: "EXACTQL_JWT_SECRET", Shown: "generated in sandbox mode", Help: "HS256 secret for callers' bearer tokens; required in production",
		parse: func(p *parser, c *config, v string) { c.JWTSecret = p.getenv(p.name) }},
	{Name: "EXACTQL_PUBLIC_PRICES", Default: "false", Help: "anonymous callers see default prices",
		parse: func(p *parser, c *config, v string) { c.PublicPrices = p.boolean(v) }},
	{Name: "EXACTQL_WEBSHOP_ONLY", Default: "false", Help: "only items flagged IsWebshopItem are sellable",
		parse: func(p *parser, c *config, v string) { c.WebshopOnly = p.boolean(v) }},
	{Name: "EXACTQL_CURRENCY", Default: validate.DefaultCurrency, Help: "the division's currency",
		parse: func(p *parser, c *config, v string) { c.Currency = strings.ToUpper(v) }},
	{Name: "EXACTQL_CORS_ORIGINS", Help: "comma-separated browser origins allowed",
		parse: func(p *parser, c *config, v string) { c.CORSOrigins = parseWith(p, v, cors.ParseOrigins) }},
	{Name: "EXACTQL_PLAYGROUND", Shown: "true in sandbox mode, else false", Help: "serve the GraphiQL playground at /",
		parse: func(p *parser, c *config, v string) { c.Playground = p.boolean(cmp.Or(v, c.sandbox("false", "true"))) }},
	{Name: "EXACTQL_INTROSPECTION", Shown: "true in sandbox mode, else false", Help: "allow schema introspection",
		parse: func(p *parser, c *config, v string) {
			c.Introspection = p.boolean(cmp.Or(v, c.sandbox("false", "true")))
		}},
	{Name: "EXACTQL_LOG_LEVEL", Default: "info", Help: "zerolog level: trace, debug, info, warn, error, fatal, panic or disabled",
		parse: func(p *parser, c *config, v string) {
			c.LogLevel = strings.ToLower(v)
			if !slices.Contains(logLevels, c.LogLevel) {
				p.fail(fmt.Errorf("must be one of %s, not %q", strings.Join(logLevels, ", "), c.LogLevel))
			}
		}},
	{Name: "EXACTQL_LOG_FORMAT", Shown: "console on a terminal, else json", Help: "json or console",
		parse: func(p *parser, c *config, v string) { c.LogFormat = v }},
	{Name: "EXACTQL_TIMEZONE", Default: "Europe/Amsterdam", Help: "the division's time zone, for \"today\" in price and date rules",
		parse: func(p *parser, c *config, v string) {
			c.TimezoneName = v
			c.Location = parseWith(p, v, time.LoadLocation)
		}},
	{Name: "EXACTQL_MAX_ORDER_LINES", Default: strconv.Itoa(validate.DefaultMaxLines), Help: "most lines one order may have",
		parse: func(p *parser, c *config, v string) { c.MaxOrderLines = p.integer(v, 1, 10000) }},
	{Name: "EXACTQL_ORDER_RETRY_BASE", Default: dur(orders.DefaultRetryBase), Help: "first wait before the order worker retries an order Exact did not take; it doubles up to 30m, jittered",
		parse: func(p *parser, c *config, v string) { c.OrderRetryBase = p.duration(v) }},
	{Name: "EXACTQL_ORDER_POLL_INTERVAL", Default: dur(orders.DefaultPollInterval), Help: "how often the order worker looks for pending orders that are due",
		parse: func(p *parser, c *config, v string) { c.OrderPollInterval = p.duration(v) }},
	{Name: "EXACTQL_UPSTREAM_WAIT", Default: "2s", Help: "longest a read waits for Exact budget before answering RATE_LIMITED",
		parse: func(p *parser, c *config, v string) { c.UpstreamWait = p.duration(v) }},
	{Name: "EXACTQL_CALLER_BUDGET", Default: "30", Help: "Exact calls one caller may cause per minute",
		parse: func(p *parser, c *config, v string) { c.CallerBudget = p.integer(v, 1, 1<<30) }},
	{Name: "EXACTQL_BATCH_SIZE", Default: "25", Help: "IDs per $filter batch sent to Exact",
		parse: func(p *parser, c *config, v string) { c.BatchSize = p.integer(v, 1, 60) }},
	{Name: "EXACTQL_TTL_REFERENCE", Default: dur(ttls.Reference), Help: "cache TTL of item groups, warehouses, shipping methods",
		parse: func(p *parser, c *config, v string) { c.TTLs.Reference = p.duration(v) }},
	{Name: "EXACTQL_TTL_ITEMS", Default: dur(ttls.Items), Help: "cache TTL of items and product pages",
		parse: func(p *parser, c *config, v string) { c.TTLs.Items = p.duration(v) }},
	{Name: "EXACTQL_TTL_PRICES", Default: dur(ttls.Prices), Help: "cache TTL of prices, price lists, periods and volume discounts",
		parse: func(p *parser, c *config, v string) { c.TTLs.Prices = p.duration(v) }},
	{Name: "EXACTQL_TTL_ACCOUNTS", Default: dur(ttls.Accounts), Help: "cache TTL of accounts, contacts and addresses",
		parse: func(p *parser, c *config, v string) { c.TTLs.Accounts = p.duration(v) }},
	{Name: "EXACTQL_TTL_STOCK", Default: dur(ttls.Stock), Help: "cache TTL of stock per warehouse",
		parse: func(p *parser, c *config, v string) { c.TTLs.Stock = p.duration(v) }},
	{Name: "EXACTQL_TTL_ABSENT", Default: dur(ttls.Absent), Help: "how long an unknown ID is remembered as absent",
		parse: func(p *parser, c *config, v string) { c.TTLs.Absent = p.duration(v) }},
	{Name: "EXACTQL_STALE_MAX_AGE", Default: "24h", Help: "longest a cached value is served stale while Exact fails or the budget is spent",
		parse: func(p *parser, c *config, v string) { c.StaleMaxAge = p.duration(v) }},
	{Name: "EXACTQL_CACHE_BYTES", Default: "268435456", Help: "cache size in bytes",
		parse: func(p *parser, c *config, v string) { c.CacheBytes = int64(p.integer(v, 1<<20, 1<<40)) }},
	{Name: "EXACTQL_MAX_BODY_BYTES", Default: "1048576", Help: "largest accepted request body",
		parse: func(p *parser, c *config, v string) { c.MaxBodyBytes = int64(p.integer(v, 1024, 64<<20)) }},
	{Name: "EXACTQL_MAX_DEPTH", Default: "12", Help: "deepest accepted GraphQL selection",
		parse: func(p *parser, c *config, v string) { c.MaxDepth = p.integer(v, 2, 100) }},
	{Name: "EXACTQL_MAX_COMPLEXITY", Default: "5000", Help: "highest accepted GraphQL query complexity",
		parse: func(p *parser, c *config, v string) { c.MaxComplexity = p.integer(v, 10, 1<<30) }},
	{Name: "EXACTQL_MAX_QUERY_BYTES", Default: "32768", Help: "longest accepted GraphQL query document, apart from the body limit",
		parse: func(p *parser, c *config, v string) { c.MaxQueryBytes = p.integer(v, 256, 16<<20) }},
	{Name: "EXACTQL_QUERY_CACHE_BYTES", Default: "16777216", Help: "memory the parsed-query cache may keep (estimated)",
		parse: func(p *parser, c *config, v string) { c.QueryCacheBytes = int64(p.integer(v, 64<<10, 1<<34)) }},
	{Name: "EXACTQL_APQ_CACHE_BYTES", Default: "4194304", Help: "memory the automatic persisted query cache may keep",
		parse: func(p *parser, c *config, v string) { c.APQCacheBytes = int64(p.integer(v, 64<<10, 1<<34)) }},
	{Name: "EXACTQL_JWT_MAX_TTL", Default: "24h", Help: "longest lifetime a caller token may have left; tokens whose exp is further out are refused (sandbox demo tokens are minted with it)",
		parse: func(p *parser, c *config, v string) {
			if c.JWTMaxTTL = p.duration(v); c.JWTMaxTTL < time.Minute {
				p.fail(fmt.Errorf("must be at least 1m, not %s", c.JWTMaxTTL))
			}
		}},
	{Name: "EXACTQL_JWT_ISSUER", Help: "when set, caller tokens must carry this iss claim",
		parse: func(p *parser, c *config, v string) { c.JWTIssuer = v }},
	{Name: "EXACTQL_JWT_AUDIENCE", Help: "when set, caller tokens' aud claim must include this value",
		parse: func(p *parser, c *config, v string) { c.JWTAudience = v }},
	{Name: "EXACTQL_JWKS_URL", Help: "an OpenID Connect provider's jwks_uri: caller tokens signed with its keys (RS256, ES256, EdDSA) are accepted beside HS256 ones; needs EXACTQL_JWT_ISSUER and EXACTQL_JWT_AUDIENCE",
		parse: func(p *parser, c *config, v string) {
			c.JWKSURL = v
			if v == "" {
				return
			}
			if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				p.fail(errors.New("must be an absolute https URL"))
			} else if c.JWTIssuer == "" || c.JWTAudience == "" {
				// An identity provider signs tokens for every app it
				// serves; without both checks a token meant for another
				// app would do.
				p.fail(errors.New("needs EXACTQL_JWT_ISSUER and EXACTQL_JWT_AUDIENCE"))
			}
		}},
	{Name: "EXACTQL_CLAIM_ACCOUNT", Default: "exact_account", Help: "name of the caller token claim holding the buyer's Exact account ID",
		parse: func(p *parser, c *config, v string) { c.ClaimAccount = p.claimName(v) }},
	{Name: "EXACTQL_CLAIM_CONTACT", Default: "exact_contact", Help: "name of the caller token claim holding the buyer's Exact contact ID",
		parse: func(p *parser, c *config, v string) {
			if c.ClaimContact = p.claimName(v); c.ClaimContact == c.ClaimAccount {
				p.fail(errors.New("must differ from EXACTQL_CLAIM_ACCOUNT"))
			}
		}},
	{Name: "EXACT_BASE_URL", Default: "https://start.exactonline.nl", Help: "Exact host for API and OAuth",
		parse: func(p *parser, c *config, v string) { c.ExactBaseURL = strings.TrimRight(v, "/") }},
	{Name: "EXACT_CLIENT_ID", Help: "the Exact app's client ID; without it the gateway runs in sandbox mode",
		parse: func(p *parser, c *config, v string) { c.ExactClientID = p.getenv(p.name) }},
	{Name: "EXACT_CLIENT_SECRET", Help: "the Exact app's client secret",
		parse: func(p *parser, c *config, v string) { c.ExactClientSecret = p.getenv(p.name) }},
	{Name: "EXACT_REDIRECT_URL", Help: "the Exact app's redirect URL: loopback http (`exactql auth` listens) or https (`exactql auth` takes the redirected URL pasted on stdin)",
		parse: func(p *parser, c *config, v string) { c.ExactRedirectURL = p.getenv(p.name) }},
	{Name: "EXACT_DIVISION", Shown: "current/Me", Help: "division number",
		parse: func(p *parser, c *config, v string) {
			if v != "" {
				c.ExactDivision = p.integer(v, 1, 1<<31-1)
			}
		}},
	{Name: "EXACT_REFRESH_TOKEN", Help: "seeds the token store when it is empty",
		parse: func(p *parser, c *config, v string) { c.ExactRefreshToken = p.getenv(p.name) }},
	{Name: "EXACTQL_TRUSTED_PROXIES", Help: "comma-separated CIDRs (or addresses) of reverse proxies whose X-Forwarded-For names the client; the right-most address that is not one of them is the client",
		parse: func(p *parser, c *config, v string) { c.TrustedProxies = parseWith(p, v, server.ParseTrustedProxies) }},
	{Name: "EXACTQL_ADMIN_ADDR", Help: "separate listen address for /metrics and /readyz (e.g. 127.0.0.1:9090); empty serves them on EXACTQL_ADDR",
		parse: func(p *parser, c *config, v string) { c.AdminAddr = v }},
	{Name: "EXACTQL_SANDBOX_SEED", Default: "1", Help: "sandbox mode: data set seed",
		parse: func(p *parser, c *config, v string) { c.SandboxSeed = int64(p.integer(v, 0, 1<<31-1)) }},
	{Name: "EXACTQL_SANDBOX_ITEMS", Default: "2000", Help: "sandbox mode: number of items",
		parse: func(p *parser, c *config, v string) { c.SandboxItems = p.integer(v, 10, 200000) }},
	{Name: "EXACTQL_SANDBOX_CUSTOMERS", Default: "150", Help: "sandbox mode: number of customers",
		parse: func(p *parser, c *config, v string) { c.SandboxCustomers = p.integer(v, 10, 100000) }},
	{Name: "EXACTQL_FRESHNESS_STOCK", Default: dur(fresh.Stock), Help: "answers using stock data older than this say extensions.stale and staleSeconds",
		parse: func(p *parser, c *config, v string) { c.Freshness.Stock = p.positiveDuration(v) }},
	{Name: "EXACTQL_FRESHNESS_PRICES", Default: dur(fresh.Prices), Help: "the same bound for prices and the catalogue's items",
		parse: func(p *parser, c *config, v string) { c.Freshness.Prices = p.positiveDuration(v) }},
	{Name: "EXACTQL_FRESHNESS_CUSTOMERS", Default: dur(fresh.Customers), Help: "the same bound for accounts, contacts and addresses",
		parse: func(p *parser, c *config, v string) { c.Freshness.Customers = p.positiveDuration(v) }},
	{Name: "EXACTQL_FRESHNESS_REFERENCE", Default: dur(fresh.Reference), Help: "the same bound for item groups, warehouses, shipping methods and price lists",
		parse: func(p *parser, c *config, v string) { c.Freshness.Reference = p.positiveDuration(v) }},
	{Name: "EXACTQL_SYNC", Default: "true", Help: "keep the mirror: sync feeds fill a local copy of Exact's data",
		parse: func(p *parser, c *config, v string) { c.Sync = p.boolean(v) }},
	{Name: "EXACTQL_SYNC_SHARE", Default: "0.3", Help: "share of Exact's daily call limit the mirror's feeds may spend (0 < share ≤ 1)",
		parse: func(p *parser, c *config, v string) {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0 && f <= 1) {
				p.fail(fmt.Errorf("must be a number above 0 and at most 1, not %q", v))
				return
			}
			c.SyncShare = f
		}},
	{Name: "EXACTQL_PUBLIC_URL", Shown: "none (pictures are relative paths)", Help: "the gateway's public base URL (absolute http(s) URL, optionally with a path, no query or fragment): makes Product.pictureUrl and thumbnailUrl absolute URLs under it; also the webhook callback's base for `exactql webhooks subscribe` (https there)",
		parse: func(p *parser, c *config, v string) {
			c.PublicURL = strings.TrimRight(v, "/")
			if c.PublicURL == "" {
				return
			}
			if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
				u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.PublicURL, "#") || u.User != nil {
				p.fail(errors.New("must be an absolute http(s) URL without query, fragment or user, like https://shop.example.com"))
			}
		}},
	{Name: "EXACT_WEBHOOK_SECRET", Help: "the Exact app's webhook secret; without it POST /webhooks/exact refuses every notification",
		parse: func(p *parser, c *config, v string) { c.WebhookSecret = p.getenv(p.name) }},
	{Name: "EXACTQL_ORDER_ATTEMPTS_PER_MINUTE", Default: "10", Help: "new placeOrder attempts one buyer (Exact account) may make per minute; replays of a recorded idempotency key are not counted; 0 turns the limit off",
		parse: func(p *parser, c *config, v string) { c.OrderAttemptsPerMinute = p.integer(v, 0, 1<<20) }},
	{Name: "EXACTQL_ORDER_MAX_UNKNOWN_PRODUCTS", Default: strconv.Itoa(orders.DefaultMaxUnknownRefs), Help: "distinct unknown product references one order may carry before the gateway stops looking the rest up (UNKNOWN_PRODUCT)",
		parse: func(p *parser, c *config, v string) { c.OrderMaxUnknownRefs = p.integer(v, 1, 10000) }},
	{Name: "EXACTQL_MAX_LINE_QUANTITY", Default: validate.DefaultMaxLineQuantity.String(), Help: "largest quantity of one order line (QUANTITY_TOO_LARGE above it)",
		parse: func(p *parser, c *config, v string) { c.MaxLineQuantity = p.positiveDecimal(v) }},
	{Name: "EXACTQL_MAX_ORDER_AMOUNT", Default: validate.DefaultMaxOrderAmount.String(), Help: "largest order amount excluding VAT, in the buyer's currency (ORDER_TOO_LARGE above it)",
		parse: func(p *parser, c *config, v string) { c.MaxOrderAmount = p.positiveDecimal(v) }},
	{Name: "EXACTQL_MAX_URL_LENGTH", Default: "2000", Help: "longest URL of one Exact lookup; keys are chunked by this length as well as by count",
		parse: func(p *parser, c *config, v string) { c.MaxURLLength = p.integer(v, 500, 8000) }},
	{Name: "EXACTQL_SANDBOX_PESSIMISTIC", Default: "false", Help: "sandbox mode: turn on every pessimistic switch (substringof 501, Account eq null 400, URL length 2048, line re-pricing, Remarks cut at 100)",
		parse: func(p *parser, c *config, v string) { c.SandboxPessimistic = p.boolean(v) }},
	{Name: "EXACTQL_SANDBOX_BLOCK_ERRORS", Default: "false", Help: "sandbox mode: block an endpoint for the hour after 10 error answers, as Exact does",
		parse: func(p *parser, c *config, v string) { c.SandboxBlockErrors = p.boolean(v) }},
	{Name: "EXACTQL_DATABASE_URL", Shown: "none: SQLite in `EXACTQL_DATA_DIR`", Help: "PostgreSQL URL (postgres://…; pool_max_conns=N sets the pool, default 10); when set the token chain, rate budget, idempotency records, order journal and the mirror's rows live there, shared by every replica; production mode only",
		parse: func(p *parser, c *config, v string) {
			c.DatabaseURL = v
			// The value is never echoed: it may carry a password.
			switch {
			case v == "":
			case !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://"):
				p.fail(errors.New("must be a postgres:// or postgresql:// URL"))
			case c.Mode == "sandbox":
				// The in-process sandbox is new on every start, and sandbox
				// mode empties its store; a shared PostgreSQL store is never
				// emptied and may hold a production token chain and journal,
				// so the two do not mix.
				p.fail(errors.New("is for production mode (sandbox mode keeps a throw-away SQLite store and never touches PostgreSQL); run replicas in production mode, e.g. against `exact-sandbox`"))
			}
		}},
	{Name: "EXACTQL_RESPONSE_CACHE", Default: "on", Help: "on or off: keep whole answers of read-only operations in memory per price scope (never shared across buyers)",
		parse: func(p *parser, c *config, v string) {
			switch v = strings.ToLower(v); v {
			case "on", "true", "1":
				c.ResponseCache = true
			case "off", "false", "0":
			default:
				p.fail(fmt.Errorf("must be on or off, not %q", v))
			}
		}},
	{Name: "EXACTQL_RESPONSE_CACHE_TTL", Default: "30s", Help: "longest a cached answer is served (1s to 24h); data changes, the buyer's own orders and midnight in EXACTQL_TIMEZONE drop it sooner",
		parse: func(p *parser, c *config, v string) {
			if c.ResponseCacheTTL = p.duration(v); c.ResponseCacheTTL < time.Second || c.ResponseCacheTTL > 24*time.Hour {
				p.fail(fmt.Errorf("must be from 1s to 24h, not %s", c.ResponseCacheTTL))
			}
		}},
	{Name: "EXACTQL_RESPONSE_CACHE_BYTES", Default: "33554432", Help: "memory the response cache may keep (estimated); one answer may take at most 1/64 of it",
		parse: func(p *parser, c *config, v string) { c.ResponseCacheBytes = int64(p.integer(v, 64<<10, 1<<34)) }},
	{Name: "EXACTQL_READ_HEADER_TIMEOUT", Default: "10s", Help: "longest a client may take to send a request's headers",
		parse: func(p *parser, c *config, v string) { c.HTTPTimeouts.ReadHeader = p.positiveDuration(v) }},
	{Name: "EXACTQL_READ_TIMEOUT", Default: "30s", Help: "longest a client may take to send a whole request, body included",
		parse: func(p *parser, c *config, v string) { c.HTTPTimeouts.Read = p.positiveDuration(v) }},
	{Name: "EXACTQL_WRITE_TIMEOUT", Default: "60s", Help: "longest from the end of a request's headers to the end of its answer",
		parse: func(p *parser, c *config, v string) { c.HTTPTimeouts.Write = p.positiveDuration(v) }},
	{Name: "EXACTQL_IDLE_TIMEOUT", Default: "120s", Help: "longest an idle keep-alive connection is kept open",
		parse: func(p *parser, c *config, v string) { c.HTTPTimeouts.Idle = p.positiveDuration(v) }},
}

// loadConfig reads the configuration through getenv and validates it.
func loadConfig(getenv func(string) string) (*config, error) {
	p := parser{getenv: getenv}
	c := &config{}
	for _, s := range settings {
		p.name = s.Name
		s.parse(&p, c, cmp.Or(strings.TrimSpace(getenv(s.Name)), s.Default))
	}
	if p.err != nil {
		return nil, p.err
	}
	if c.Mode == "production" {
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

// sandbox returns inSandbox in sandbox mode, else other (EXACTQL_MODE is
// parsed first).
func (c *config) sandbox(other, inSandbox string) string {
	if c.Mode == "sandbox" {
		return inSandbox
	}
	return other
}

// parser collects the first error while the settings parse their values.
type parser struct {
	getenv func(string) string
	name   string // the setting being parsed
	err    error
}

func (p *parser) fail(err error) {
	if p.err == nil {
		p.err = fmt.Errorf("%s: %w", p.name, err)
	}
}

// parseWith runs a parser of another package, reporting its error.
func parseWith[T any](p *parser, v string, parse func(string) (T, error)) T {
	t, err := parse(v)
	if err != nil {
		p.fail(err)
	}
	return t
}

func (p *parser) boolean(v string) bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(fmt.Errorf("not a boolean: %q", v))
	}
	return b
}

func (p *parser) integer(v string, min, max int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		p.fail(fmt.Errorf("must be an integer from %d to %d, not %q", min, max, v))
	}
	return n
}

func (p *parser) duration(v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.fail(fmt.Errorf("not a duration like 90s or 5m: %q", v))
	}
	return d
}

func (p *parser) positiveDuration(v string) time.Duration {
	d := p.duration(v)
	if d <= 0 {
		p.fail(errors.New("must be above 0"))
	}
	return d
}

// claimName reads a JWT claim name: printable, no spaces, at most 256 bytes.
func (p *parser) claimName(v string) string {
	if len(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		p.fail(fmt.Errorf("not a claim name: %q", v))
	}
	return v
}

// logLevels are zerolog's level names.
var logLevels = []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}

// positiveDecimal reads a number greater than 0 with at most 12 integer
// digits (what an order line or amount can sensibly hold).
func (p *parser) positiveDecimal(v string) decimal.Decimal {
	d, err := decimal.NewFromString(v)
	if err != nil || !d.IsPositive() || d.GreaterThanOrEqual(decimal.New(1, 12)) {
		p.fail(fmt.Errorf("must be a number above 0 and below 1e12, not %q", v))
	}
	return d
}
