package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/catalog"
	"github.com/exactql/exactql/catalog/feeds"
	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
	"github.com/exactql/exactql/server/images"
	"github.com/exactql/exactql/server/respcache"
	"github.com/exactql/exactql/store"
	"github.com/rs/zerolog"
)

// demoToken is a ready-to-paste bearer token of a sandbox demo buyer.
type demoToken struct {
	Name    string `json:"name"`
	Account string `json:"account"`
	Rule    string `json:"rule"`
	Token   string `json:"token"`
}

// started describes a running gateway; tests receive it through a hook.
type started struct {
	URL        string
	AdminURL   string // "" unless EXACTQL_ADMIN_ADDR is set
	DemoTokens []demoToken
	Sandbox    *sandbox.Sandbox // nil in production mode
	Client     *erp.Client
	Cache      *cache.Cache
	Store      *store.SQLite // tests inject write failures through it; nil on PostgreSQL
	// ResponseCache is nil when EXACTQL_RESPONSE_CACHE is off.
	ResponseCache *respcache.Cache
	// Feeds is the mirror's feed runner; nil with EXACTQL_SYNC=false.
	Feeds *feeds.Runner
	// Mirror is the read model's mirror; nil with EXACTQL_SYNC=false.
	Mirror *catalog.Mirror
}

// exactConn is how the gateway reaches Exact (or the sandbox).
type exactConn struct {
	BaseURL, ClientID, ClientSecret, RefreshToken string
	Division                                      int
}

// serve runs the gateway until ctx ends: the steps of wiring (steps.go),
// each adding its parts, then the HTTP server. onReady, when set, is called
// once the listener is open (tests use it).
func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer, onReady func(started)) error {
	log := newLogger(cfg, stderr)
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	g := newWiring(ctx, cfg, log)
	defer g.close()
	for _, step := range []func() error{
		g.startSandbox,    // sandbox mode: the embedded Exact
		g.openStore,       // SQLite or PostgreSQL, token chain seeded
		g.startTokenChain, // metrics, caller budget, rotating token source
		g.newExactClient,  // governor, client, division
		g.newReadModel,    // cache, mirror and feeds, read path, response cache
		g.startOrders,     // order service and its worker
		g.newHTTPHandler,  // resolvers, images, auth, webhooks
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return g.serveHTTP(ctx, stdout, onReady)
}

// startSandbox starts the embedded Exact sandbox on a loopback port.
func startSandbox(cfg *config) (*sandbox.Sandbox, exactConn, func(), error) {
	opts := sandbox.Options{Data: gen.Options{Seed: cfg.SandboxSeed, Items: cfg.SandboxItems,
		Customers: cfg.SandboxCustomers, Currency: cfg.Currency}, Location: cfg.Location}
	if cfg.now != nil {
		opts.Clock = funcClock(cfg.now)
	}
	opts.BlockAfterErrors = cfg.SandboxBlockErrors
	sb := sandbox.New(opts)
	if cfg.SandboxPessimistic {
		sb.Faults().SetPessimistic(true)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, exactConn{}, nil, fmt.Errorf("sandbox listener: %w", err)
	}
	hs := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	conn := exactConn{BaseURL: "http://" + ln.Addr().String(), ClientID: sb.ClientID(), ClientSecret: sb.ClientSecret(),
		RefreshToken: sb.IssueRefreshToken(), Division: sb.Division()}
	// The gateway has stopped calling it by the time this runs: close at
	// once (a graceful Shutdown would wait 5 s for connections the HTTP
	// client dialled but never used).
	stop := func() { _ = hs.Close() }
	return sb, conn, stop, nil
}

// funcClock adapts a clock function to sandbox.Clock.
type funcClock func() time.Time

func (f funcClock) Now() time.Time { return f().UTC() }

// demoTokens mints the demo buyers' tokens, valid for ttl (EXACTQL_JWT_MAX_TTL:
// a longer lifetime would be refused by the gateway itself) and carrying the
// issuer and audience the gateway checks.
func demoTokens(sb *sandbox.Sandbox, secret []byte, ttl time.Duration, rules server.TokenRules) ([]demoToken, error) {
	var out []demoToken
	now := time.Now()
	for _, b := range sb.DemoBuyers() {
		tok, err := server.SignTokenWithRules(secret, "demo-"+strings.ToLower(strings.ReplaceAll(b.Rule, "_", "-")), b.AccountID, b.ContactID, ttl, now, rules)
		if err != nil {
			return nil, fmt.Errorf("demo token: %w", err)
		}
		out = append(out, demoToken{Name: b.Name, Account: b.AccountID, Rule: b.Rule, Token: tok})
	}
	return out, nil
}

func demoHandler(demo []demoToken) http.Handler {
	body, _ := json.MarshalIndent(demo, "", "  ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(body)
	})
}

func hostPort(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// printBanner writes the start banner to stdout. Its "GraphQL endpoint:"
// and "Exact sandbox:" lines are read by scripts (.ci/run): keep their form.
func printBanner(w io.Writer, cfg *config, url, sandboxURL string, demo []demoToken) {
	fmt.Fprintf(w, "exactql %s (%s mode)\n", version, cfg.Mode)
	fmt.Fprintf(w, "GraphQL endpoint: %s/graphql\n", url)
	if cfg.Playground {
		fmt.Fprintf(w, "Playground:       %s/\n", url)
	}
	if sandboxURL != "" {
		// The embedded sandbox (loopback only): its control API (faults,
		// clock, stock and price changes) is what e2e scripts drive.
		fmt.Fprintf(w, "Exact sandbox:    %s (embedded; control API at %s/sandbox/, e.g. POST /sandbox/faults)\n", sandboxURL, sandboxURL)
	}
	if len(demo) > 0 {
		fmt.Fprintf(w, "Demo buyers (also at %s/demo/tokens); send as Authorization: Bearer <token>\n", url)
		for _, d := range demo {
			fmt.Fprintf(w, "  %-18s %-28s %s\n", d.Rule, d.Name, d.Token)
		}
	}
}

func newLogger(cfg *config, stderr io.Writer) zerolog.Logger {
	level, err := zerolog.ParseLevel(strings.ToLower(cfg.LogLevel))
	if err != nil || level == zerolog.NoLevel {
		level = zerolog.InfoLevel
	}
	var w io.Writer = stderr
	format := cfg.LogFormat
	if format == "" {
		format = "json"
		if f, ok := stderr.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "console"
			}
		}
	}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// readiness answers /readyz: ready when the store is writable and the Exact
// token chain needs no new consent. An Exact outage does not make the
// gateway unready (it serves cached data); the details report it.
type readiness struct {
	store  interface{ Ping(context.Context) error }
	tokens *erp.TokenSource
	gov    *erp.Governor
	feeds  *feeds.Runner // nil with EXACTQL_SYNC=false
	role   *mirrorRole   // nil on SQLite
}

func (r readiness) Ready(ctx context.Context) (bool, map[string]any) {
	// States only: error texts (the token endpoint's, the database's) can
	// name internal addresses and stay in the log and metrics.
	details := map[string]any{}
	ok := true
	switch err := r.store.Ping(ctx); {
	case errors.Is(err, store.ErrReplaced):
		ok = false
		details["store"] = "replaced"
	case err != nil:
		ok = false
		details["store"] = "not_writable"
	default:
		details["store"] = "ok"
	}
	s := r.tokens.Status(ctx)
	switch {
	case s.ConsentNeeded:
		ok = false
		details["exact_token"] = "consent_needed"
	case !s.OK:
		ok = false
		details["exact_token"] = "unavailable"
	default:
		details["exact_token"] = "ok"
	}
	if s.LastError != "" {
		details["exact_token_last_refresh"] = "failed"
	}
	g := r.gov.Snapshot()
	details["exact_budget"] = g
	if n := r.gov.SharedBudgetErrors(); n > 0 {
		details["shared_budget_errors"] = n // PostgreSQL could not be reached for the shared budget
	}
	if r.feeds != nil {
		// The mirror never makes the gateway unready: until a feed's first
		// pass completes, its data comes from the fallback path.
		details["mirror"] = mirrorDetails(r.feeds.Status())
	}
	if r.role != nil {
		details["mirror_role"] = r.role.Role()
	}
	return ok, details
}

// auth runs the one-time Exact consent and stores the token chain. With a
// loopback http EXACT_REDIRECT_URL it listens for Exact's redirect itself;
// with any other (Exact requires https for apps registered since 2021), or
// with paste set, the person pastes the redirected URL (or its code) on
// stdin.
func auth(ctx context.Context, cfg *config, stdin io.Reader, stdout io.Writer, paste bool) error {
	if cfg.Mode != "production" {
		return errors.New("auth needs EXACT_CLIENT_ID, EXACT_CLIENT_SECRET and EXACT_REDIRECT_URL of your Exact app")
	}
	if cfg.ExactRedirectURL == "" {
		return errors.New("auth needs EXACT_REDIRECT_URL, the redirect URL registered for the app (an https URL, or a loopback one such as http://localhost:8765/callback)")
	}
	st, _, _, err := openStore(ctx, cfg, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	o := erp.ConsentOptions{BaseURL: cfg.ExactBaseURL, ClientID: cfg.ExactClientID,
		ClientSecret: cfg.ExactClientSecret, RedirectURL: cfg.ExactRedirectURL, Store: st,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}, Now: cfg.now}
	if paste || !erp.IsLoopbackRedirect(cfg.ExactRedirectURL) {
		err = erp.RunConsentPaste(ctx, o, stdin, func(u string) {
			fmt.Fprintf(stdout, "Open this URL in a browser, sign in to Exact Online and allow access:\n\n  %s\n\n"+
				"Exact then sends the browser to %s?code=…\n"+
				"That page need not load. Copy the full address from the browser's address bar and paste it here\n"+
				"(or just the code) within 3 minutes, then press Enter:\n", u, cfg.ExactRedirectURL)
		}, func(hint string) { fmt.Fprintln(stdout, hint) })
	} else {
		err = erp.RunConsent(ctx, o, func(u string) {
			fmt.Fprintf(stdout, "Open this URL in a browser, sign in to Exact Online and allow access:\n\n  %s\n\nWaiting for Exact to redirect to %s …\n", u, cfg.ExactRedirectURL)
		})
	}
	if err != nil {
		return err
	}
	where := cfg.DataDir
	if cfg.DatabaseURL != "" {
		where = "PostgreSQL (EXACTQL_DATABASE_URL)"
	}
	fmt.Fprintf(stdout, "Exact tokens stored in %s. Start the gateway with `exactql serve`.\n", where)
	return nil
}

// imageSource gives the images handler an item's picture URLs (from the
// cached read path) and the pictures themselves (from Exact, with the app's
// token).
type imageSource struct {
	reader *live.Reader
	client *erp.Client
}

func (s imageSource) Item(ctx context.Context, id string) (images.URLs, bool, error) {
	items, err := s.reader.Items(ctx, []string{id})
	if err != nil {
		return images.URLs{}, false, err
	}
	if len(items) == 0 || items[0] == nil {
		return images.URLs{}, false, nil
	}
	return images.URLs{Picture: items[0].PictureURL, Thumbnail: items[0].PictureThumbnailURL}, true, nil
}

// Visible applies the read path's sellability rule (live.Reader.Sellable,
// the one GraphQL uses) to the item: pictures of items GraphQL hides are
// not served.
func (s imageSource) Visible(ctx context.Context, id string) (bool, error) {
	items, err := s.reader.Items(ctx, []string{id})
	if err != nil {
		return false, err
	}
	return len(items) > 0 && s.reader.Sellable(items[0]), nil
}

func (s imageSource) Picture(ctx context.Context, url string) ([]byte, string, error) {
	return s.client.Picture(ctx, url)
}

// mirrorDetails reports each feed for /readyz: whether its first pass is
// complete, its rows, its lag in seconds and the last error as a state
// code (never its text).
func mirrorDetails(st []feeds.FeedStatus) map[string]any {
	out := make(map[string]any, len(st))
	for _, f := range st {
		d := map[string]any{"complete": f.Complete, "rows": f.Rows, "lag_seconds": int64(f.Lag.Seconds()),
			"state": "ok"}
		switch {
		case f.ErrorCode != "":
			d["state"] = f.ErrorCode
		case !f.Complete:
			d["state"] = "first_pass"
		}
		out[f.Feed] = d
	}
	return out
}

// subscribeSandbox subscribes the embedded sandbox's webhooks to the
// gateway's callback for every topic the feeds listen to. A failure is
// logged: the feeds still poll on their intervals.
func subscribeSandbox(ctx context.Context, client *erp.Client, callback string, log zerolog.Logger) {
	subs := client.WebhookSubscriptions()
	for _, topic := range webhookTopics {
		if _, err := subs.Create(ctx, callback, topic, "exactql mirror (sandbox)"); err != nil {
			log.Warn().Err(err).Str("topic", topic).Msg("sandbox webhook subscription failed; the feed polls on its interval")
		}
	}
}
