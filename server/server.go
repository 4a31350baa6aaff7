// Package server speaks HTTP: it assembles the GraphQL handler with caller
// authentication, request limits, logging and the health endpoints.
package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/rs/zerolog"
	"github.com/vektah/gqlparser/v2/validator/core"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/graph"
	"github.com/exactql/exactql/resolvers"
	"github.com/exactql/exactql/server/cors"
	"github.com/exactql/exactql/server/metrics"
	"github.com/exactql/exactql/server/playground"
	"github.com/exactql/exactql/server/respcache"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxDepth      = 12
	DefaultMaxComplexity = 5000
	DefaultMaxFields     = 1000
	// DefaultMaxQueryBytes caps a query document apart from the body
	// limit (issue 17 item 6); real operations are a few KB.
	DefaultMaxQueryBytes = 32 << 10
	// DefaultQueryCacheBytes bounds the parsed-document cache by the
	// estimated memory of its entries.
	DefaultQueryCacheBytes = 16 << 20
	// DefaultAPQCacheBytes bounds the automatic persisted query cache.
	DefaultAPQCacheBytes = 4 << 20
	// DefaultJWTMaxTTL is the longest lifetime a caller token may have
	// left (issue 17 item 11).
	DefaultJWTMaxTTL = 24 * time.Hour
)

// parserTokenLimit stops the parser early on huge documents that still fit
// the body limit.
const parserTokenLimit = 20000

// Config are the HTTP-level settings. The listen address is not here: cmd
// opens the listener.
type Config struct {
	// JWTSecret is the HS256 secret caller tokens are signed with.
	// Required unless JWKS is set.
	JWTSecret []byte
	// Introspection turns GraphQL introspection on (sandbox mode).
	Introspection bool
	// MaxBodyBytes limits a request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxDepth limits the nesting of fields in an operation; 0 means
	// DefaultMaxDepth.
	MaxDepth int
	// MaxComplexity limits gqlgen's complexity score of an operation (list
	// fields count their `first` or the number of codes asked for); 0 means
	// DefaultMaxComplexity.
	MaxComplexity int
	// MaxFields limits how many selections (fields including __typename
	// and introspection fields, aliases, inline fragments and fragment
	// spreads, fragments expanded where spread) one document makes; 0
	// means DefaultMaxFields.
	MaxFields int
	// PublicPrices lets anonymous callers see default prices. The server only
	// carries it; the resolvers apply it.
	PublicPrices bool
	// Playground serves the GraphiQL playground at / with locally served
	// assets.
	Playground bool
	// PlaygroundHeaders are the playground's default request headers (in
	// sandbox mode a demo buyer's Authorization header).
	PlaygroundHeaders map[string]string
	// CORSOrigins are the browser origins allowed to call the gateway.
	CORSOrigins []string
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time

	// MaxQueryBytes limits the length of a query document; 0 means
	// DefaultMaxQueryBytes.
	MaxQueryBytes int
	// QueryCacheBytes bounds the parsed-document cache; 0 means
	// DefaultQueryCacheBytes.
	QueryCacheBytes int64
	// APQCacheBytes bounds the automatic persisted query cache; 0 means
	// DefaultAPQCacheBytes.
	APQCacheBytes int64
	// JWTMaxTTL refuses caller tokens whose exp is further than this from
	// now; 0 means DefaultJWTMaxTTL.
	JWTMaxTTL time.Duration
	// JWTIssuer, when set, must equal the token's iss claim.
	JWTIssuer string
	// JWTAudience, when set, must be among the token's aud claim.
	JWTAudience string
	// JWKS, when set, verifies RS256, ES256 and EdDSA caller tokens with an
	// OpenID Connect provider's keys, beside HS256 with JWTSecret.
	JWKS *JWKS
	// ClaimAccount and ClaimContact name the claims of the buyer's Exact
	// account and contact; empty means DefaultAccountClaim and
	// DefaultContactClaim.
	ClaimAccount, ClaimContact string

	// extraRules are added to validation (tests count what validation
	// visits with them).
	extraRules []core.Rule
	// SeparateAdmin leaves /metrics and /readyz out of New's handler: they
	// are served by AdminHandler on the admin address (EXACTQL_ADMIN_ADDR).
	SeparateAdmin bool
	// TrustedProxies are the reverse proxies (EXACTQL_TRUSTED_PROXIES)
	// whose X-Forwarded-For names the client (ClientAddr); none means the
	// peer is the client.
	TrustedProxies []netip.Prefix
}

// Readiness reports whether the gateway can serve: the store is writable and
// the Exact token chain is usable. details go into the /readyz body.
type Readiness interface {
	Ready(ctx context.Context) (ok bool, details map[string]any)
}

// Deps are the parts the server is assembled from.
type Deps struct {
	// Logger is the request logger; each request gets a child with its
	// request ID in its context. The zero Logger discards.
	Logger zerolog.Logger
	// Resolvers is the root resolver (a *resolvers.Resolver in production).
	Resolvers graph.ResolverRoot
	// Readiness answers /readyz; nil means always ready.
	Readiness Readiness
	// Operations, when set, wraps every GraphQL operation (the resolvers
	// install their per-request dataloaders there).
	Operations graphql.OperationMiddleware
	// Metrics, when set, records GraphQL metrics and serves /metrics.
	Metrics *metrics.Metrics
	// Images, when set, serves /images/{itemID} and
	// /images/{itemID}/thumbnail.
	Images http.Handler
	// ResponseCache, when set, serves repeated read-only operations from
	// memory, per price scope (issue 15 item 3); nil turns it off.
	ResponseCache *respcache.Cache
}

// New assembles the gateway's HTTP handler: POST and GET /graphql,
// /healthz and /readyz.
func New(cfg Config, deps Deps) (http.Handler, error) {
	if len(cfg.JWTSecret) == 0 && cfg.JWKS == nil {
		return nil, errors.New("server.New: JWTSecret or JWKS is required")
	}
	if deps.Resolvers == nil {
		return nil, errors.New("server.New: Resolvers is required")
	}
	cfg = withDefaults(cfg)

	gql := newGraphQLHandler(cfg, deps.Resolvers)
	if deps.Metrics != nil {
		gql.Use(deps.Metrics.GraphQLExtension())
	}
	if deps.Operations != nil {
		gql.AroundOperations(deps.Operations)
	}
	auth := &authenticator{now: cfg.Now, verifier: Verifier{Secret: cfg.JWTSecret, JWKS: cfg.JWKS,
		Rules: TokenRules{MaxTTL: cfg.JWTMaxTTL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
			AccountClaim: cfg.ClaimAccount, ContactClaim: cfg.ClaimContact}}}

	mux := http.NewServeMux()
	var graphqlInner http.Handler = withStaleTracker(gql)
	if deps.ResponseCache != nil {
		var onHit respcache.HitFunc
		if deps.Metrics != nil {
			onHit = deps.Metrics.ObserveCachedAnswer
		}
		graphqlInner = deps.ResponseCache.Handler(graphqlInner, priceScope, onHit)
	}
	graphqlHandler := privateAnswers(limitBody(cfg.MaxBodyBytes, auth.middleware(graphqlInner)))
	mux.Handle("POST /graphql", graphqlHandler)
	mux.Handle("GET /graphql", graphqlHandler)
	if cfg.Playground {
		po := playground.Options{Endpoint: "/graphql", DefaultHeaders: cfg.PlaygroundHeaders}
		if err := po.Validate(); err != nil {
			return nil, fmt.Errorf("server.New: %w", err)
		}
		ph := playground.Handler(po)
		mux.Handle("GET /{$}", ph)
		mux.Handle("GET "+playground.AssetsPrefix, ph)
	}
	if deps.Metrics != nil && !cfg.SeparateAdmin {
		mux.Handle("GET /metrics", deps.Metrics.Handler())
	}
	if deps.Images != nil {
		// Through the caller middleware, so a caller's image fetches count
		// toward its Exact budget.
		mux.Handle("GET /images/{itemID}", auth.middleware(deps.Images))
		mux.Handle("GET /images/{itemID}/thumbnail", auth.middleware(deps.Images))
	}
	mux.HandleFunc("GET /healthz", healthz)
	if !cfg.SeparateAdmin {
		mux.Handle("GET /readyz", readyz(deps.Readiness))
	}

	return clientAddress(cfg.TrustedProxies, requestID(logRequests(deps.Logger, recoverPanics(cors.Middleware(cfg.CORSOrigins)(mux))))), nil
}

// AdminHandler serves the operator endpoints on their own address
// (EXACTQL_ADMIN_ADDR, with Config.SeparateAdmin set for New): GET /metrics
// (when deps.Metrics is set), /readyz and /healthz. deps.Logger logs its
// requests.
func AdminHandler(deps Deps) http.Handler {
	mux := http.NewServeMux()
	if deps.Metrics != nil {
		mux.Handle("GET /metrics", deps.Metrics.Handler())
	}
	mux.HandleFunc("GET /healthz", healthz)
	mux.Handle("GET /readyz", readyz(deps.Readiness))
	return requestID(logRequests(deps.Logger, recoverPanics(mux)))
}

func withDefaults(cfg Config) Config {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.MaxComplexity <= 0 {
		cfg.MaxComplexity = DefaultMaxComplexity
	}
	if cfg.MaxFields <= 0 {
		cfg.MaxFields = DefaultMaxFields
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxQueryBytes <= 0 {
		cfg.MaxQueryBytes = DefaultMaxQueryBytes
	}
	if cfg.QueryCacheBytes <= 0 {
		cfg.QueryCacheBytes = DefaultQueryCacheBytes
	}
	if cfg.APQCacheBytes <= 0 {
		cfg.APQCacheBytes = DefaultAPQCacheBytes
	}
	if cfg.JWTMaxTTL <= 0 {
		cfg.JWTMaxTTL = DefaultJWTMaxTTL
	}
	return cfg
}

// newGraphQLHandler builds gqlgen's handler with our transports, caches,
// limits, error presenter and the stale extension.
func newGraphQLHandler(cfg Config, root graph.ResolverRoot) *handler.Server {
	es := graph.NewExecutableSchema(graph.Config{
		Resolvers:  root,
		Complexity: complexityRoot(),
	})
	srv := handler.New(es)
	srv.AddTransport(httpTransport{}) // GET and POST by the GraphQL-over-HTTP spec (transport.go)

	srv.SetParserTokenLimit(parserTokenLimit)
	docs := newByteLRU(cfg.QueryCacheBytes, documentBytes)
	srv.SetQueryCache(docs)
	// Suggestions ("Did you mean …?") name schema fields even with
	// introspection off; validation reports at most MaxErrors errors.
	srv.SetDisableSuggestion(true)
	srv.SetValidationRulesFn(validationRules(cfg.extraRules...))
	// The guard runs before gqlgen parses and validates; it resolves
	// persisted queries itself (guard.go).
	srv.Use(&documentGuard{
		maxQueryBytes: cfg.MaxQueryBytes, maxDepth: cfg.MaxDepth, maxFields: cfg.MaxFields,
		introspection: cfg.Introspection, tokenLimit: parserTokenLimit,
		apq:  extension.AutomaticPersistedQuery{Cache: newByteLRU(cfg.APQCacheBytes, persistedQueryBytes)},
		docs: docs,
	})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.AroundResponses(capErrors)

	srv.SetErrorPresenter(resolvers.PresentError)
	srv.SetRecoverFunc(resolvers.Recover)
	srv.AroundResponses(staleExtension)
	return srv
}

// withStaleTracker gives each GraphQL request a cache stale tracker.
func withStaleTracker(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(cache.WithStaleTracker(r.Context())))
	})
}

// staleExtension sets extensions.stale when any value behind the response
// was older than its freshness bound (an expired cache entry, or the
// mirror's copy when its feed lags), and extensions.staleSeconds to the age
// of the oldest such value.
func staleExtension(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && cache.WasStale(ctx) {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["stale"] = true
		if age := cache.StaleAge(ctx); age > 0 {
			resp.Extensions["staleSeconds"] = int64(age.Seconds())
		}
	}
	return resp
}

// privateAnswers marks GraphQL answers for caches (issue 17 item 12): every
// answer varies by Authorization, and one to a request that carried the
// header (a buyer's prices, addresses, orders, or a 401) is neither stored
// nor shared.
func privateAnswers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Authorization")
		if len(r.Header.Values("Authorization")) > 0 {
			h.Set("Cache-Control", "private, no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// priceScope is the response cache's scope of a request: the buyer's
// account, or public for every caller that acts for no account (anonymous
// callers and tokens without exact_account read alike: the resolvers price
// both as no account, see resolvers.Caller.IsBuyer).
func priceScope(r *http.Request) (respcache.Scope, bool) {
	c := resolvers.FromContext(r.Context())
	if !c.IsBuyer() {
		return respcache.PublicScope(), true
	}
	s, err := respcache.BuyerScope(c.Account)
	return s, err == nil
}
