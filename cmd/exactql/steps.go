package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rs/zerolog"

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
)

// wiring is the gateway as serve composes it, one named step after the
// other (sandbox, store, token chain, Exact client, read model, orders,
// HTTP handler, HTTP server). Each step fills in its parts and registers
// what has to be closed; close undoes everything in reverse order, so a
// test can run the steps it needs and stop there.
type wiring struct {
	cfg *config
	log zerolog.Logger
	// ctx is the background work's context (order worker, feeds, the token
	// source): cancelled by close before anything is closed.
	ctx     context.Context
	cancel  context.CancelFunc
	closers []func()

	// The sandbox step (sandbox mode only).
	sb      *sandbox.Sandbox
	conn    exactConn
	dataDir string

	// The store step.
	st     gatewayStore
	sqlite *store.SQLite // nil on PostgreSQL
	shared bool

	// The token chain and Exact client steps.
	upstream *http.Client // the one HTTP client for Exact (token endpoint and API)
	metrics  *metrics.Metrics
	limiter  *callerlimit.Limiter
	tokens   *erp.TokenSource
	gov      *erp.Governor
	client   *erp.Client
	division int

	// The read model step.
	cache     *cache.Cache
	mirror    *catalog.Mirror // nil with EXACTQL_SYNC=false
	feeds     *feeds.Runner   // nil with EXACTQL_SYNC=false
	role      *mirrorRole     // nil on SQLite: this process always runs the feeds
	reader    *live.Reader
	respCache *respcache.Cache // nil with EXACTQL_RESPONSE_CACHE=off

	// The orders step.
	orders   *orders.Service
	attempts *orders.AttemptLimiter

	// The HTTP handler step.
	demo    []demoToken
	deps    server.Deps
	handler http.Handler
}

// newWiring starts an empty composition; ctx bounds its background work.
func newWiring(ctx context.Context, cfg *config, log zerolog.Logger) *wiring {
	g := &wiring{cfg: cfg, log: log, dataDir: cfg.DataDir,
		conn: exactConn{BaseURL: cfg.ExactBaseURL, ClientID: cfg.ExactClientID, ClientSecret: cfg.ExactClientSecret,
			RefreshToken: cfg.ExactRefreshToken, Division: cfg.ExactDivision}}
	g.ctx, g.cancel = context.WithCancel(ctx)
	return g
}

// onClose registers f to run when the gateway closes (last registered,
// first run).
func (g *wiring) onClose(f func()) { g.closers = append(g.closers, f) }

// close stops the background work and closes every part, newest first.
func (g *wiring) close() {
	g.cancel()
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
	g.closers = nil
}

// goBackground runs f until the gateway closes; close waits for it before
// closing the parts registered earlier (the store outlives the order
// worker and the feeds).
func (g *wiring) goBackground(f func(ctx context.Context)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(g.ctx)
	}()
	g.onClose(func() { g.cancel(); <-done })
}

// startSandbox (sandbox mode) runs the embedded Exact sandbox, gives the
// gateway a throw-away data directory and, unless set, a generated caller
// token secret.
func (g *wiring) startSandbox() error {
	if g.cfg.Mode != "sandbox" {
		return nil
	}
	sb, conn, stop, err := startSandbox(g.cfg)
	if err != nil {
		return err
	}
	g.sb, g.conn = sb, conn
	g.onClose(stop)
	// The in-process sandbox is new on every start, so its store is too.
	if err := os.MkdirAll(g.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	dir, err := os.MkdirTemp(g.cfg.DataDir, "sandbox-")
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	g.dataDir = dir
	g.onClose(func() { os.RemoveAll(dir) })
	if g.cfg.JWTSecret == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		g.cfg.JWTSecret = hex.EncodeToString(b)
	}
	g.log.Info().Str("exact", conn.BaseURL).Str("sandbox_control", conn.BaseURL+"/sandbox/").Int("division", conn.Division).
		Msg("sandbox mode: an embedded Exact Online sandbox serves the data at " + conn.BaseURL)
	return nil
}

// openStore opens the durable store (SQLite in the data directory, or
// PostgreSQL) and seeds its token chain.
func (g *wiring) openStore() error {
	st, sqlite, shared, err := openStore(g.ctx, g.cfg, g.dataDir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	g.st, g.sqlite, g.shared = st, sqlite, shared
	g.onClose(func() { st.Close() })
	if shared {
		g.log.Info().Msg("store: PostgreSQL, shared with every replica on the same database")
	}
	seeded, err := erp.SeedToken(g.ctx, st, g.conn.RefreshToken)
	switch {
	case err != nil:
		return fmt.Errorf("seeding the token store: %w", err)
	case seeded && g.sb != nil:
		// In sandbox mode the refresh token is the sandbox's own, never
		// EXACT_REFRESH_TOKEN (which sandbox mode ignores).
		g.log.Debug().Msg("token store seeded by the embedded sandbox")
	case seeded:
		g.log.Info().Msg("token store seeded from EXACT_REFRESH_TOKEN")
	}
	return nil
}

// upstreamTimeout bounds every HTTP call to Exact.
const upstreamTimeout = 30 * time.Second

// startTokenChain makes the metrics, the per-caller budget and the
// rotating token source over the store.
func (g *wiring) startTokenChain() error {
	g.metrics = metrics.New(metrics.Options{})
	limiter, err := callerlimit.New(g.cfg.CallerBudget, func(ctx context.Context) string {
		return resolvers.FromContext(ctx).BudgetKey()
	}, nil)
	if err != nil {
		return fmt.Errorf("caller budget: %w", err)
	}
	g.limiter = limiter
	g.upstream = &http.Client{Timeout: upstreamTimeout}
	g.tokens = erp.NewTokenSource(g.ctx, erp.TokenSourceOptions{BaseURL: g.conn.BaseURL, ClientID: g.conn.ClientID,
		ClientSecret: g.conn.ClientSecret, Store: g.st, HTTPClient: g.upstream,
		Observer: g.metrics, Now: g.cfg.now})
	if s := g.tokens.Status(g.ctx); s.ConsentNeeded {
		g.log.Error().Str("reason", s.Reason).Msg("Exact consent needed: run `exactql auth` (the gateway serves cached data only and /readyz fails)")
	}
	return nil
}

// newExactClient makes the Exact client with its governor and finds the
// division when EXACT_DIVISION does not name it.
func (g *wiring) newExactClient() error {
	cfg := g.cfg
	g.gov = erp.NewGovernor(erp.GovernorOptions{MaxWait: cfg.UpstreamWait})
	opts := []erp.Option{erp.WithBaseURL(g.conn.BaseURL), erp.WithHTTPClient(g.upstream),
		erp.WithTokenSource(g.tokens), erp.WithBatchSize(cfg.BatchSize), erp.WithGovernor(g.gov),
		erp.WithObserver(g.metrics), erp.WithCallGate(g.limiter.Allow)}
	if cfg.MaxURLLength > 0 {
		opts = append(opts, erp.WithMaxURLLength(cfg.MaxURLLength))
	}
	if g.conn.Division != 0 {
		opts = append(opts, erp.WithDivision(g.conn.Division))
	}
	client, err := erp.New(opts...)
	if err != nil {
		return fmt.Errorf("exact client: %w", err)
	}
	g.client = client
	g.division = g.conn.Division
	if g.division == 0 {
		dctx, dcancel := context.WithTimeout(g.ctx, upstreamTimeout)
		g.division, err = client.Division(dctx)
		dcancel()
		if err != nil {
			return fmt.Errorf("finding the Exact division through current/Me (set EXACT_DIVISION to skip): %w", err)
		}
	}
	if g.shared {
		// Exact's limits are per app and division: replicas account in the
		// database (erp/budget.go), with the governor's own rules.
		g.gov.ShareBudget(erp.NewSharedBudget(g.st, erp.GovernorOptions{MaxWait: cfg.UpstreamWait}), g.division)
	}
	return nil
}

// newReadModel makes the read cache, the mirror and its feeds
// (EXACTQL_SYNC), the read path over both, and the response cache.
func (g *wiring) newReadModel() error {
	cfg := g.cfg
	c, err := cache.New(cache.Options{MaxCostBytes: cfg.CacheBytes, StaleMaxAge: cfg.StaleMaxAge, Metrics: true})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	g.cache = c
	g.onClose(c.Close)
	lcfg := live.Config{Division: g.division, Shop: cfg.Shop, TTLs: cfg.TTLs, Freshness: cfg.Freshness}
	// The mirror (ARCHITECTURE §3): sync feeds fill an in-memory index that
	// answers every read whose feeds finished their first full pass; the
	// cache-and-Exact path answers the rest. EXACTQL_SYNC=false: fallback only.
	if cfg.Sync {
		g.mirror = catalog.NewMirror(catalog.Options{Shop: cfg.Shop, Status: func() []feeds.FeedStatus { return g.feeds.Status() },
			Now: cfg.now})
		fo := feeds.Options{Client: g.client, Store: g.st, Share: cfg.SyncShare, Subscriber: func(changes []feeds.Change) {
			g.mirror.Apply(changes)
			// Answers built before this batch may show data it changed.
			g.respCache.BumpData()
		}}
		if cfg.now != nil {
			fo.Now = cfg.now
		}
		if g.feeds, err = feeds.New(fo); err != nil {
			return fmt.Errorf("mirror feeds: %w", err)
		}
		lcfg.Mirror = g.mirror
	}
	// Concurrent cold lookups of one kind from different requests share one
	// call of up to a batch of keys (issue 12, fallback bursts).
	merging := live.Merge(live.ExactUpstream{C: g.client}, live.MergeOptions{MaxKeys: cfg.BatchSize})
	g.reader = live.NewReader(merging, c, lcfg)
	// The response cache (issue 15 item 3); nil when EXACTQL_RESPONSE_CACHE
	// is off (its invalidation hooks then do nothing).
	if cfg.ResponseCache {
		// Nothing tells the response cache when a read-cache entry expires
		// or is reloaded, so an answer is kept no longer than the
		// shortest-lived data it may be built from. respCache.BumpData is
		// the hook for changes that can be tracked (the mirror's apply).
		t := cfg.TTLs
		ttl := min(cfg.ResponseCacheTTL, t.Reference, t.Items, t.Prices, t.Accounts, t.Stock, t.Absent)
		if g.respCache, err = respcache.New(respcache.Options{MaxBytes: cfg.ResponseCacheBytes, TTL: max(ttl, time.Nanosecond),
			Location: cfg.Location, Now: cfg.now}); err != nil {
			return fmt.Errorf("response cache: %w", err)
		}
		if err := g.metrics.WatchResponseCache(func() metrics.ResponseCacheStats {
			s := g.respCache.Stats()
			return metrics.ResponseCacheStats{Hits: s.Hits, Misses: s.Misses, Bytes: s.Bytes}
		}); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return g.startFeeds()
}

// startFeeds runs the mirror's feeds (EXACTQL_SYNC). On PostgreSQL several
// replicas share one mirror: the one holding the leader lock runs the
// feeds, the others follow the change log (leader.go).
func (g *wiring) startFeeds() error {
	if g.feeds == nil {
		return nil
	}
	if pg, ok := g.st.(*store.Postgres); ok {
		g.role = newMirrorRole(pg, g.feeds, g.log)
		if err := g.role.register(g.metrics); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		g.goBackground(g.role.run)
	} else {
		g.goBackground(func(ctx context.Context) {
			if err := g.feeds.Run(ctx); err != nil && ctx.Err() == nil {
				g.log.Error().Err(err).Msg("mirror feeds stopped")
			}
		})
	}
	if err := g.metrics.Register("Mirror", g.feeds.Collector()); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}

// startOrders makes the order service and runs its pending-order worker.
func (g *wiring) startOrders() error {
	cfg := g.cfg
	// One allowance per buyer, meant to be shared with previewOrder.
	g.attempts = orders.NewAttemptLimiter(cfg.OrderAttemptsPerMinute, cfg.now)
	cursorKey, err := g.st.Secret(g.ctx, "orders-cursor", 32)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	orderExact := orders.NewExactIn(g.client, cfg.Location)
	if g.mirror != nil {
		orderExact = catalog.NewOrdersExact(g.mirror, orderExact, cfg.Location)
	}
	g.orders = orders.NewService(orders.Options{Journal: newNotifyingJournal(g.st, g.respCache.BumpBuyer), Exact: orderExact,
		Catalog: g.reader, Shop: cfg.Shop, MaxLines: cfg.MaxOrderLines,
		Logger: g.log.With().Str("component", "orders").Logger(), RetryBase: cfg.OrderRetryBase, PollInterval: cfg.OrderPollInterval,
		MaxLineQuantity: cfg.MaxLineQuantity, MaxOrderAmount: cfg.MaxOrderAmount, MaxUnknownRefs: cfg.OrderMaxUnknownRefs,
		Attempts: g.attempts, CursorKey: cursorKey, StoreHealth: g.st.CheckIdentity})
	// The worker stops (close waits for it) before the store closes.
	g.goBackground(func(ctx context.Context) {
		if err := g.orders.Run(ctx); err != nil && ctx.Err() == nil {
			g.log.Error().Err(err).Msg("order worker stopped")
		}
	})
	return nil
}

// newHTTPHandler makes the resolvers, the metrics' watches, the picture
// handler, caller authentication (HS256 and, with EXACTQL_JWKS_URL, the
// identity provider's keys), the sandbox's demo tokens and the webhook
// endpoint, and assembles the gateway's HTTP handler.
func (g *wiring) newHTTPHandler() error {
	cfg, m := g.cfg, g.metrics
	res := resolvers.New(resolvers.Deps{Reader: g.reader, PublicPrices: cfg.PublicPrices, Orders: g.orders, Mirror: g.mirror,
		PublicURL: cfg.PublicURL})
	for _, err := range []error{m.WatchExact(g.client.Stats), m.WatchCache(g.cache.Stats), m.WatchCallerLimit(g.limiter.Refusals),
		m.WatchToken(g.tokens.Status), m.WatchStore(g.st.CheckIdentity), m.WatchOrders(func() metrics.OrderStats {
			s := g.orders.Stats()
			return metrics.OrderStats{Outcomes: s.Outcomes, Pending: s.Pending, OldestPendingAge: s.OldestPendingAge, JournalErr: s.JournalErr}
		}), m.WatchOrderAbuse(func() metrics.OrderAbuseStats {
			return metrics.OrderAbuseStats{PriceMismatches: g.orders.PriceMismatches(), AttemptsRefused: g.attempts.Refused()}
		})} {
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	isrc := imageSource{reader: g.reader, client: g.client}
	imgs := images.Handler(isrc, g.cache, images.Options{Division: g.division, Visible: isrc.Visible})

	secret := []byte(cfg.JWTSecret)
	jwks, err := g.jwks()
	if err != nil {
		return err
	}
	var playHeaders map[string]string
	if g.sb != nil {
		if g.demo, err = demoTokens(g.sb, secret, cfg.JWTMaxTTL, server.TokenRules{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			AccountClaim: cfg.ClaimAccount, ContactClaim: cfg.ClaimContact}); err != nil {
			return err
		}
		// The playground's first query shows prices: a demo buyer on a price list.
		for _, d := range g.demo {
			if d.Rule == gen.RulePriceList {
				playHeaders = map[string]string{"Authorization": "Bearer " + d.Token}
			}
		}
	}
	g.deps = server.Deps{Logger: g.log, Resolvers: res, Operations: res.AroundOperations, Metrics: m, Images: imgs,
		Readiness: readiness{store: g.st, tokens: g.tokens, gov: g.gov, feeds: g.feeds, role: g.role}, ResponseCache: g.respCache}
	handler, err := server.New(server.Config{
		PlaygroundHeaders: playHeaders, CORSOrigins: cfg.CORSOrigins,
		JWTSecret: secret, Introspection: cfg.Introspection, MaxBodyBytes: cfg.MaxBodyBytes,
		MaxDepth: cfg.MaxDepth, MaxComplexity: cfg.MaxComplexity, PublicPrices: cfg.PublicPrices,
		Playground: cfg.Playground, TrustedProxies: cfg.TrustedProxies, SeparateAdmin: cfg.AdminAddr != "",

		MaxQueryBytes: cfg.MaxQueryBytes, QueryCacheBytes: cfg.QueryCacheBytes, APQCacheBytes: cfg.APQCacheBytes,
		JWTAudience: cfg.JWTAudience, JWTIssuer: cfg.JWTIssuer, JWTMaxTTL: cfg.JWTMaxTTL,
		JWKS: jwks, ClaimAccount: cfg.ClaimAccount, ClaimContact: cfg.ClaimContact,
	}, g.deps)
	if err != nil {
		return err
	}
	g.handler = handler
	if g.sb == nil && g.feeds == nil {
		return nil
	}
	mux := http.NewServeMux()
	if g.sb != nil {
		mux.Handle("GET /demo/tokens", demoHandler(g.demo))
	}
	if g.feeds != nil {
		webhookSecret := cfg.WebhookSecret
		if g.sb != nil && webhookSecret == "" {
			webhookSecret = g.sb.WebhookSecret()
		}
		// Outside caller authentication: Exact signs its notifications
		// with the webhook secret instead (ARCHITECTURE §12).
		wake := g.feeds.WakeTopic
		if g.role != nil {
			wake = g.role.wakeTopic // any replica's webhook wakes the leader
		}
		wh, err := webhooks.New(webhooks.Options{Secret: webhookSecret, Wake: wake, Division: g.division})
		if err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
		mux.Handle(webhookPath, wh)
	}
	mux.Handle("/", handler)
	g.handler = mux
	return nil
}

// jwks reads the OpenID Connect provider's keys (EXACTQL_JWKS_URL); nil
// when none is configured.
func (g *wiring) jwks() (*server.JWKS, error) {
	cfg := g.cfg
	if cfg.JWKSURL == "" {
		return nil, nil
	}
	jwks, err := server.NewJWKS(cfg.JWKSURL, nil, cfg.now)
	if err != nil {
		return nil, err
	}
	jctx, jcancel := context.WithTimeout(g.ctx, 10*time.Second)
	n, err := jwks.Refresh(jctx)
	jcancel()
	if err != nil {
		// Not fatal: the provider may be down for a moment; unknown kids
		// fetch the keys again (at most once a minute).
		g.log.Warn().Err(err).Msg("EXACTQL_JWKS_URL: the OpenID Connect provider's keys could not be read; its tokens are refused until they can")
	} else {
		g.log.Info().Str("issuer", cfg.JWTIssuer).Int("keys", n).Msg("caller tokens signed with the OpenID Connect provider's keys are accepted")
	}
	return jwks, nil
}

// httpServer is an http.Server for h with the EXACTQL_*_TIMEOUT settings;
// its requests carry the gateway's logger.
func (g *wiring) httpServer(h http.Handler, idle bool) *http.Server {
	to := g.cfg.HTTPTimeouts
	s := &http.Server{Handler: h, ReadHeaderTimeout: to.ReadHeader, ReadTimeout: to.Read, WriteTimeout: to.Write,
		MaxHeaderBytes: 64 << 10, BaseContext: func(net.Listener) context.Context { return g.log.WithContext(context.Background()) }}
	if idle {
		s.IdleTimeout = to.Idle
	}
	return s
}

// serveHTTP opens the listeners (EXACTQL_ADDR, and EXACTQL_ADMIN_ADDR when
// set), prints the banner, reports the running gateway to onReady and
// serves until ctx ends or a server fails; then it shuts the main server
// down gracefully.
func (g *wiring) serveHTTP(ctx context.Context, stdout io.Writer, onReady func(started)) error {
	cfg := g.cfg
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	url := "http://" + hostPort(ln.Addr())
	srv := g.httpServer(g.handler, true)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	// /metrics and /readyz on their own address when EXACTQL_ADMIN_ADDR is set.
	var adminURL string
	if cfg.AdminAddr != "" {
		aln, err := net.Listen("tcp", cfg.AdminAddr)
		if err != nil {
			_ = srv.Close()
			return fmt.Errorf("listen on %s (EXACTQL_ADMIN_ADDR): %w", cfg.AdminAddr, err)
		}
		adminURL = "http://" + hostPort(aln.Addr())
		adminSrv := g.httpServer(server.AdminHandler(g.deps), false)
		go func() { errc <- adminSrv.Serve(aln) }()
		defer adminSrv.Close() // probes and scrapes need no graceful end
		g.log.Info().Str("url", adminURL).Msg("serving /metrics and /readyz on the admin address")
	}

	sandboxURL := ""
	if g.sb != nil {
		sandboxURL = g.conn.BaseURL
	}
	printBanner(stdout, cfg, url, sandboxURL, g.demo)
	if g.feeds != nil {
		p := g.feeds.Projection()
		fmt.Fprintf(stdout, "Mirror: %d feeds; steady-state polling projects %.0f Exact calls a day (%.0f scheduled + %.0f for webhook wake-ups), %.0f%% share of a %d-call daily limit\n",
			len(g.feeds.Feeds()), p.Total, p.Scheduled, p.WakeAllowance, p.Share*100, p.DayLimit)
		g.log.Info().Float64("projected_calls_per_day", p.Total).Int("day_limit", p.DayLimit).Float64("share", p.Share).Msg("mirror feeds started")
		if g.sb != nil {
			// Sandbox mode: subscribe the sandbox to this gateway, so its
			// changes wake the feeds as Exact's webhooks would.
			subscribeSandbox(g.ctx, g.client, url+webhookPath, g.log)
		}
	} else {
		fmt.Fprintln(stdout, "Mirror: off (EXACTQL_SYNC=false); every read takes the cache-and-Exact path")
	}
	g.log.Info().Str("url", url).Str("mode", cfg.Mode).Msg("exactql is serving")
	if onReady != nil {
		onReady(started{URL: url, AdminURL: adminURL, DemoTokens: g.demo, Sandbox: g.sb, Client: g.client, Cache: g.cache,
			Store: g.sqlite, ResponseCache: g.respCache, Feeds: g.feeds, Mirror: g.mirror})
	}

	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	g.log.Info().Msg("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
