package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"github.com/exactql/exactql/erp/callerlimit"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/orders"
	"github.com/exactql/exactql/resolvers"
	"github.com/exactql/exactql/server"
	"github.com/exactql/exactql/server/images"
	"github.com/exactql/exactql/server/metrics"
	"github.com/exactql/exactql/server/respcache"
	"github.com/exactql/exactql/server/webhooks"
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

// serve runs the gateway until ctx ends. onReady, when set, is called once
// the listener is open (tests use it).
func serve(ctx context.Context, cfg *config, stdout, stderr io.Writer, onReady func(started)) error {
	log := newLogger(cfg, stderr)
	for _, w := range cfg.Warnings {
		log.Warn().Msg(w)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	conn := exactConn{BaseURL: cfg.ExactBaseURL, ClientID: cfg.ExactClientID, ClientSecret: cfg.ExactClientSecret,
		RefreshToken: cfg.ExactRefreshToken, Division: cfg.ExactDivision}
	dataDir := cfg.DataDir
	var sb *sandbox.Sandbox
	if cfg.Mode == "sandbox" {
		var stopSandbox func()
		var err error
		sb, conn, stopSandbox, err = startSandbox(cfg)
		if err != nil {
			return err
		}
		defer stopSandbox()
		// The in-process sandbox is new on every start, so its store is too.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		if dataDir, err = os.MkdirTemp(cfg.DataDir, "sandbox-"); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		defer os.RemoveAll(dataDir)
		if cfg.JWTSecret == "" {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			cfg.JWTSecret = hex.EncodeToString(b)
		}
		log.Info().Str("exact", conn.BaseURL).Int("division", conn.Division).Msg("sandbox mode: an embedded Exact Online sandbox serves the data")
	}

	st, sqliteStore, sharedStore, err := openStore(ctx, cfg, dataDir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	if sharedStore {
		log.Info().Msg("store: PostgreSQL, shared with every replica on the same database")
	}
	if seeded, err := erp.SeedToken(ctx, st, conn.RefreshToken); err != nil {
		return fmt.Errorf("seeding the token store: %w", err)
	} else if seeded && sb != nil {
		// In sandbox mode the refresh token is the sandbox's own, never
		// EXACT_REFRESH_TOKEN (which sandbox mode ignores).
		log.Debug().Msg("token store seeded by the embedded sandbox")
	} else if seeded {
		log.Info().Msg("token store seeded from EXACT_REFRESH_TOKEN")
	}

	m := metrics.New(metrics.Options{})
	limiter, err := callerlimit.New(cfg.CallerBudget, func(ctx context.Context) string {
		return resolvers.FromContext(ctx).BudgetKey()
	}, nil)
	if err != nil {
		return fmt.Errorf("caller budget: %w", err)
	}
	upstreamHTTP := &http.Client{Timeout: 30 * time.Second}
	ts := erp.NewTokenSource(ctx, erp.TokenSourceOptions{BaseURL: conn.BaseURL, ClientID: conn.ClientID,
		ClientSecret: conn.ClientSecret, Store: st, HTTPClient: upstreamHTTP, Observer: m, Now: cfg.now})
	if s := ts.Status(ctx); s.ConsentNeeded {
		log.Error().Str("reason", s.Reason).Msg("Exact consent needed: run `exactql auth` (the gateway serves cached data only and /readyz fails)")
	}
	gov := erp.NewGovernor(erp.GovernorOptions{MaxWait: cfg.UpstreamWait})
	opts := []erp.Option{erp.WithBaseURL(conn.BaseURL), erp.WithHTTPClient(upstreamHTTP), erp.WithTokenSource(ts),
		erp.WithBatchSize(cfg.BatchSize), erp.WithGovernor(gov), erp.WithObserver(m), erp.WithCallGate(limiter.Allow)}
	if cfg.MaxURLLength > 0 {
		opts = append(opts, erp.WithMaxURLLength(cfg.MaxURLLength))
	}
	if conn.Division != 0 {
		opts = append(opts, erp.WithDivision(conn.Division))
	}
	client, err := erp.New(opts...)
	if err != nil {
		return fmt.Errorf("exact client: %w", err)
	}
	division := conn.Division
	if division == 0 {
		dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
		division, err = client.Division(dctx)
		dcancel()
		if err != nil {
			return fmt.Errorf("finding the Exact division through current/Me (set EXACT_DIVISION to skip): %w", err)
		}
	}
	if sharedStore {
		// Exact's limits are per app and division: replicas account in the
		// database (erp/budget.go), with the governor's own rules.
		gov.ShareBudget(erp.NewSharedBudget(st, erp.GovernorOptions{MaxWait: cfg.UpstreamWait}), division)
	}

	c, err := cache.New(cache.Options{MaxCostBytes: cfg.CacheBytes, StaleMaxAge: cfg.StaleMaxAge, Metrics: true})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	defer c.Close()
	lcfg := live.Config{
		Division: division, Shop: cfg.Shop,
		TTLs: cfg.TTLs, Freshness: cfg.Freshness,
	}
	// The mirror (ARCHITECTURE §3): sync feeds fill an in-memory index that
	// answers every read whose feeds finished their first full pass; the
	// cache-and-Exact path answers the rest. EXACTQL_SYNC=false: fallback only.
	// The response cache (issue 15): declared here so the mirror's
	// subscriber can drop cached answers when mirrored data changes.
	var respCache *respcache.Cache
	var mirror *catalog.Mirror
	var runner *feeds.Runner
	if cfg.Sync {
		mirror = catalog.NewMirror(catalog.Options{
			Shop:   cfg.Shop,
			Status: func() []feeds.FeedStatus { return runner.Status() },
			Now:    cfg.now,
		})
		fo := feeds.Options{Client: client, Store: st, Share: cfg.SyncShare, Subscriber: func(changes []feeds.Change) {
			mirror.Apply(changes)
			// Answers built before this batch may show data it changed.
			respCache.BumpData()
		}}
		if cfg.now != nil {
			fo.Now = cfg.now
		}
		if runner, err = feeds.New(fo); err != nil {
			return fmt.Errorf("mirror feeds: %w", err)
		}
		lcfg.Mirror = mirror
	}
	reader := live.NewReader(live.ExactUpstream{C: client}, c, lcfg)
	// The response cache (issue 15 item 3); nil when EXACTQL_RESPONSE_CACHE
	// is off (its invalidation hooks then do nothing).
	if cfg.ResponseCache {
		// Nothing tells the response cache when a read-cache entry expires
		// or is reloaded, so an answer is kept no longer than the
		// shortest-lived data it may be built from. respCache.BumpData is
		// the hook for changes that can be tracked (the mirror's apply).
		t := cfg.TTLs
		ttl := min(cfg.ResponseCacheTTL, t.Reference, t.Items, t.Prices, t.Accounts, t.Stock, t.Absent)
		if respCache, err = respcache.New(respcache.Options{MaxBytes: cfg.ResponseCacheBytes, TTL: max(ttl, time.Nanosecond),
			Location: cfg.Location, Now: cfg.now}); err != nil {
			return fmt.Errorf("response cache: %w", err)
		}
		if err := m.WatchResponseCache(func() metrics.ResponseCacheStats {
			s := respCache.Stats()
			return metrics.ResponseCacheStats{Hits: s.Hits, Misses: s.Misses, Bytes: s.Bytes}
		}); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	// One allowance per buyer, meant to be shared with previewOrder.
	orderAttempts := orders.NewAttemptLimiter(cfg.OrderAttemptsPerMinute, cfg.now)
	cursorKey, err := st.Secret(ctx, "orders-cursor", 32)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	orderExact := orders.NewExactIn(client, cfg.Location)
	if mirror != nil {
		orderExact = catalog.NewOrdersExact(mirror, orderExact, cfg.Location)
	}
	orderSvc := orders.NewService(orders.Options{Journal: newNotifyingJournal(st, respCache.BumpBuyer), Exact: orderExact, Catalog: reader,
		Shop: cfg.Shop, MaxLines: cfg.MaxOrderLines,
		Logger: log.With().Str("component", "orders").Logger(), RetryBase: cfg.OrderRetryBase, PollInterval: cfg.OrderPollInterval,
		MaxLineQuantity: cfg.MaxLineQuantity, MaxOrderAmount: cfg.MaxOrderAmount, MaxUnknownRefs: cfg.OrderMaxUnknownRefs,
		Attempts: orderAttempts, CursorKey: cursorKey, StoreHealth: st.CheckIdentity})
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		if err := orderSvc.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error().Err(err).Msg("order worker stopped")
		}
	}()
	// The worker stops with ctx (cancelled on return) before the store closes.
	defer func() { cancel(); <-workerDone }()
	if runner != nil {
		feedsDone := make(chan struct{})
		go func() {
			defer close(feedsDone)
			if err := runner.Run(ctx); err != nil && ctx.Err() == nil {
				log.Error().Err(err).Msg("mirror feeds stopped")
			}
		}()
		defer func() { cancel(); <-feedsDone }()
		if err := m.Register("Mirror", runner.Collector()); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	res := resolvers.New(resolvers.Deps{Reader: reader, PublicPrices: cfg.PublicPrices, Orders: orderSvc, Mirror: mirror})
	for _, err := range []error{m.WatchExact(client.Stats), m.WatchCache(c.Stats), m.WatchCallerLimit(limiter.Refusals),
		m.WatchToken(ts.Status), m.WatchStore(st.CheckIdentity), m.WatchOrders(func() metrics.OrderStats {
			s := orderSvc.Stats()
			return metrics.OrderStats{Outcomes: s.Outcomes, Pending: s.Pending, OldestPendingAge: s.OldestPendingAge, JournalErr: s.JournalErr}
		}), m.WatchOrderAbuse(func() metrics.OrderAbuseStats {
			return metrics.OrderAbuseStats{PriceMismatches: orderSvc.PriceMismatches(), AttemptsRefused: orderAttempts.Refused()}
		})} {
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	isrc := imageSource{reader: reader, client: client}
	imgs := images.Handler(isrc, c, images.Options{Division: division, Visible: isrc.Visible})

	secret := []byte(cfg.JWTSecret)
	var jwks *server.JWKS
	if cfg.JWKSURL != "" {
		if jwks, err = server.NewJWKS(cfg.JWKSURL, nil, cfg.now); err != nil {
			return err
		}
		jctx, jcancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := jwks.Refresh(jctx)
		jcancel()
		if err != nil {
			// Not fatal: the provider may be down for a moment; unknown
			// kids fetch the keys again (at most once a minute).
			log.Warn().Err(err).Msg("EXACTQL_JWKS_URL: the OpenID Connect provider's keys could not be read; its tokens are refused until they can")
		} else {
			log.Info().Str("issuer", cfg.JWTIssuer).Int("keys", n).Msg("caller tokens signed with the OpenID Connect provider's keys are accepted")
		}
	}
	var demo []demoToken
	var playHeaders map[string]string
	if sb != nil {
		if demo, err = demoTokens(sb, secret, cfg.JWTMaxTTL, server.TokenRules{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			AccountClaim: cfg.ClaimAccount, ContactClaim: cfg.ClaimContact}); err != nil {
			return err
		}
		// The playground's first query shows prices: a demo buyer on a price list.
		for _, d := range demo {
			if d.Rule == gen.RulePriceList {
				playHeaders = map[string]string{"Authorization": "Bearer " + d.Token}
			}
		}
	}
	deps := server.Deps{Logger: log, Resolvers: res, Operations: res.AroundOperations, Metrics: m, Images: imgs,
		Readiness: readiness{store: st, tokens: ts, gov: gov, feeds: runner}, ResponseCache: respCache}
	handler, err := server.New(server.Config{
		PlaygroundHeaders: playHeaders, CORSOrigins: cfg.CORSOrigins,
		JWTSecret: secret, Introspection: cfg.Introspection, MaxBodyBytes: cfg.MaxBodyBytes,
		MaxDepth: cfg.MaxDepth, MaxComplexity: cfg.MaxComplexity, PublicPrices: cfg.PublicPrices,
		Playground: cfg.Playground, TrustedProxies: cfg.TrustedProxies, SeparateAdmin: cfg.AdminAddr != "",

		MaxQueryBytes: cfg.MaxQueryBytes, QueryCacheBytes: cfg.QueryCacheBytes, APQCacheBytes: cfg.APQCacheBytes,
		JWTAudience: cfg.JWTAudience, JWTIssuer: cfg.JWTIssuer, JWTMaxTTL: cfg.JWTMaxTTL,
		JWKS: jwks, ClaimAccount: cfg.ClaimAccount, ClaimContact: cfg.ClaimContact,
	}, deps)
	if err != nil {
		return err
	}

	webhookSecret := cfg.WebhookSecret
	if sb != nil && webhookSecret == "" {
		webhookSecret = sb.WebhookSecret()
	}
	if sb != nil || runner != nil {
		mux := http.NewServeMux()
		if sb != nil {
			mux.Handle("GET /demo/tokens", demoHandler(demo))
		}
		if runner != nil {
			// Outside caller authentication: Exact signs its notifications
			// with the webhook secret instead (ARCHITECTURE §12).
			wh, err := webhooks.New(webhooks.Options{Secret: webhookSecret, Wake: runner.WakeTopic, Division: division})
			if err != nil {
				return fmt.Errorf("webhooks: %w", err)
			}
			mux.Handle(webhookPath, wh)
		}
		mux.Handle("/", handler)
		handler = mux
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	url := "http://" + hostPort(ln.Addr())
	to := cfg.HTTPTimeouts
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: to.ReadHeader, ReadTimeout: to.Read,
		WriteTimeout: to.Write, IdleTimeout: to.Idle, MaxHeaderBytes: 64 << 10,
		BaseContext: func(net.Listener) context.Context { return log.WithContext(context.Background()) }}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	// /metrics and /readyz on their own address when EXACTQL_ADMIN_ADDR is set.
	var adminURL string
	var adminSrv *http.Server
	if cfg.AdminAddr != "" {
		aln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen on %s (EXACTQL_ADMIN_ADDR): %w", cfg.AdminAddr, err)
		}
		adminURL = "http://" + hostPort(aln.Addr())
		adminSrv = &http.Server{Handler: server.AdminHandler(deps), ReadHeaderTimeout: to.ReadHeader,
			ReadTimeout: to.Read, WriteTimeout: to.Write, MaxHeaderBytes: 64 << 10,
			BaseContext: func(net.Listener) context.Context { return log.WithContext(context.Background()) }}
		go func() { errc <- adminSrv.Serve(aln) }()
		log.Info().Str("url", adminURL).Msg("serving /metrics and /readyz on the admin address")
	}

	printBanner(stdout, cfg, url, demo)
	if runner != nil {
		p := runner.Projection()
		fmt.Fprintf(stdout, "Mirror: %d feeds; steady-state polling projects %.0f Exact calls a day (%.0f scheduled + %.0f for webhook wake-ups), %.0f%% share of a %d-call daily limit\n",
			len(runner.Feeds()), p.Total, p.Scheduled, p.WakeAllowance, p.Share*100, p.DayLimit)
		log.Info().Float64("projected_calls_per_day", p.Total).Int("day_limit", p.DayLimit).Float64("share", p.Share).Msg("mirror feeds started")
		if sb != nil {
			// Sandbox mode: subscribe the sandbox to this gateway, so its
			// changes wake the feeds as Exact's webhooks would.
			subscribeSandbox(ctx, client, url+webhookPath, log)
		}
	} else {
		fmt.Fprintln(stdout, "Mirror: off (EXACTQL_SYNC=false); every read takes the cache-and-Exact path")
	}
	log.Info().Str("url", url).Str("mode", cfg.Mode).Msg("exactql is serving")
	if onReady != nil {
		onReady(started{URL: url, AdminURL: adminURL, DemoTokens: demo, Sandbox: sb, Client: client, Cache: c, Store: sqliteStore,
			ResponseCache: respCache, Feeds: runner, Mirror: mirror})
	}

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	if adminSrv != nil {
		defer adminSrv.Close() // probes and scrapes need no graceful end
	}
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
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

func printBanner(w io.Writer, cfg *config, url string, demo []demoToken) {
	fmt.Fprintf(w, "exactql %s (%s mode)\n", version, cfg.Mode)
	fmt.Fprintf(w, "GraphQL endpoint: %s/graphql\n", url)
	if cfg.Playground {
		fmt.Fprintf(w, "Playground:       %s/\n", url)
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

// imageSource gives the images handler an item's picture URL (from the
// cached read path) and the picture itself (from Exact, with the app's token).
type imageSource struct {
	reader *live.Reader
	client *erp.Client
}

func (s imageSource) Item(ctx context.Context, id string) (string, bool, error) {
	items, err := s.reader.Items(ctx, []string{id})
	if err != nil {
		return "", false, err
	}
	if len(items) == 0 || items[0] == nil {
		return "", false, nil
	}
	return items[0].PictureURL, true, nil
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
