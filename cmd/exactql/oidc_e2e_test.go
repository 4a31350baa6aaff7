package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server"
)

const (
	oidcIssuer   = "https://id.shop.example.com/"
	oidcAudience = "exactql-mobile"
)

// oidcProvider is an identity provider made for one test: its keys and a
// JWKS endpoint that publishes them.
type oidcProvider struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
}

func newOIDCProvider(t *testing.T) *oidcProvider {
	t.Helper()
	p := &oidcProvider{}
	var err error
	if p.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if p.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, p.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	ecPub, err := p.ec.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": b64(p.rsa.N.Bytes()), "e": b64(big.NewInt(int64(p.rsa.E)).Bytes())},
		{"kty": "EC", "kid": "e1", "use": "sig", "alg": "ES256", "crv": "P-256", "x": b64(ecPub[1:33]), "y": b64(ecPub[33:])},
		{"kty": "OKP", "kid": "d1", "use": "sig", "alg": "EdDSA", "crv": "Ed25519", "x": b64(p.ed.Public().(ed25519.PublicKey))},
	}})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits++
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *oidcProvider) Hits() int { p.mu.Lock(); defer p.mu.Unlock(); return p.hits }

func sign(t *testing.T, m jwt.SigningMethod, kid string, key any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOIDCSignInEndToEnd: with EXACTQL_JWKS_URL the gateway accepts tokens
// of the provider's RS256, ES256 and EdDSA keys (the buyer read from the
// configured claim name) and the HS256 secret's, and refuses each forged,
// misdirected or expired token with HTTP 401 UNAUTHENTICATED.
func TestOIDCSignInEndToEnd(t *testing.T) {
	p := newOIDCProvider(t)
	g := startGateway(t, map[string]string{
		"EXACTQL_JWKS_URL":      p.srv.URL + "/.well-known/jwks.json",
		"EXACTQL_JWT_ISSUER":    oidcIssuer,
		"EXACTQL_JWT_AUDIENCE":  oidcAudience,
		"EXACTQL_CLAIM_ACCOUNT": "https://shop.example.com/exact_account",
	})
	var account string
	for _, d := range g.st.DemoTokens {
		if d.Rule == gen.RulePriceList {
			account = d.Account
		}
	}
	now := time.Now()
	good := jwt.MapClaims{"sub": "app-user-1", "iss": oidcIssuer, "aud": []string{oidcAudience, "other"},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "https://shop.example.com/exact_account": account}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range good {
			c[kk] = vv
		}
		c[k] = v
		return c
	}
	stranger := newOIDCProvider(t)
	pubDER, _ := x509.MarshalPKIXPublicKey(&p.rsa.PublicKey)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	const viewerQ = `{ viewer { id } }`

	for _, c := range []struct{ name, token string }{
		{"RS256", sign(t, jwt.SigningMethodRS256, "r1", p.rsa, good)},
		{"ES256", sign(t, jwt.SigningMethodES256, "e1", p.ec, good)},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, "d1", p.ed, good)},
		{"HS256 demo token", g.token(gen.RulePriceList)},
	} {
		t.Run("accepts "+c.name, func(t *testing.T) {
			var d struct {
				Viewer *struct{ ID string } `json:"viewer"`
			}
			g.mustQuery(c.token, viewerQ, nil, &d)
			if d.Viewer == nil || d.Viewer.ID != account {
				t.Errorf("viewer = %+v, want account %s", d.Viewer, account)
			}
		})
	}
	for _, c := range []struct{ name, token string }{
		{"unknown key", sign(t, jwt.SigningMethodRS256, "r9", stranger.rsa, good)},
		{"unknown key under a known kid", sign(t, jwt.SigningMethodRS256, "r1", stranger.rsa, good)},
		{"wrong issuer", sign(t, jwt.SigningMethodRS256, "r1", p.rsa, with("iss", "https://evil.example.com/"))},
		{"wrong audience", sign(t, jwt.SigningMethodES256, "e1", p.ec, with("aud", "another-app"))},
		{"alg none", none},
		{"HS256 signed with the public key", sign(t, jwt.SigningMethodHS256, "r1", pubDER, good)},
		{"expired", sign(t, jwt.SigningMethodEdDSA, "d1", p.ed, with("exp", now.Add(-time.Minute).Unix()))},
		{"RSA key as ES256", sign(t, jwt.SigningMethodES256, "r1", p.ec, good)},
	} {
		t.Run("refuses "+c.name, func(t *testing.T) {
			r := g.query(c.token, viewerQ, nil)
			if r.status != http.StatusUnauthorized || errorCode(r) != "UNAUTHENTICATED" || r.Data != nil {
				t.Errorf("status %d code %q data %s, want 401 UNAUTHENTICATED without data", r.status, errorCode(r), r.Data)
			}
		})
	}
	// Forged kids within the minute cost the provider one refresh at most.
	if h := p.Hits(); h > 2 {
		t.Errorf("the JWKS was fetched %d times", h)
	}
}

// TestJWKSConfig: EXACTQL_JWKS_URL needs issuer and audience and an
// absolute URL; with it, production mode needs no HS256 secret.
func TestJWKSConfig(t *testing.T) {
	prod := map[string]string{"EXACT_CLIENT_ID": "id", "EXACT_CLIENT_SECRET": "s"}
	env := func(extra map[string]string) func(string) string {
		m := map[string]string{}
		for k, v := range prod {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	for name, e := range map[string]map[string]string{
		"no issuer":        {"EXACTQL_JWKS_URL": "https://id.example.com/jwks", "EXACTQL_JWT_AUDIENCE": "a"},
		"no audience":      {"EXACTQL_JWKS_URL": "https://id.example.com/jwks", "EXACTQL_JWT_ISSUER": "i"},
		"relative URL":     {"EXACTQL_JWKS_URL": "/jwks", "EXACTQL_JWT_ISSUER": "i", "EXACTQL_JWT_AUDIENCE": "a"},
		"no key at all":    {},
		"same claims":      {"EXACTQL_JWT_SECRET": strings.Repeat("s", 32), "EXACTQL_CLAIM_CONTACT": "exact_account"},
		"spaced claim":     {"EXACTQL_JWT_SECRET": strings.Repeat("s", 32), "EXACTQL_CLAIM_ACCOUNT": "my account"},
		"bad log level":    {"EXACTQL_JWT_SECRET": strings.Repeat("s", 32), "EXACTQL_LOG_LEVEL": "verbose"},
		"numeric level":    {"EXACTQL_JWT_SECRET": strings.Repeat("s", 32), "EXACTQL_LOG_LEVEL": "1"},
		"secret too short": {"EXACTQL_JWKS_URL": "https://id.example.com/jwks", "EXACTQL_JWT_ISSUER": "i", "EXACTQL_JWT_AUDIENCE": "a", "EXACTQL_JWT_SECRET": "short"},
	} {
		if _, err := loadConfig(env(e)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	c, err := loadConfig(env(map[string]string{"EXACTQL_JWKS_URL": "https://id.example.com/jwks",
		"EXACTQL_JWT_ISSUER": "i", "EXACTQL_JWT_AUDIENCE": "a", "EXACTQL_LOG_LEVEL": "WARN"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.JWTSecret != "" || c.ClaimAccount != "exact_account" || c.ClaimContact != "exact_contact" || c.LogLevel != "warn" {
		t.Errorf("config = %+v", c)
	}
}

// TestDefaultListenAddress: sandbox mode listens on loopback only (demo
// tokens must not reach the network), production on every interface, and
// EXACTQL_ADDR overrides both.
func TestDefaultListenAddress(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "127.0.0.1:8080"},
		{map[string]string{"EXACTQL_MODE": "sandbox", "EXACTQL_ADDR": ":9000"}, ":9000"},
		{map[string]string{"EXACT_CLIENT_ID": "id", "EXACT_CLIENT_SECRET": "s", "EXACTQL_JWT_SECRET": strings.Repeat("s", 32)}, ":8080"},
	} {
		cfg, err := loadConfig(func(k string) string { return c.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Addr != c.want {
			t.Errorf("%v: Addr = %q, want %q", c.env, cfg.Addr, c.want)
		}
	}
}

// TestUnknownVariables: a misspelt EXACTQL_*/EXACT_* variable is reported
// with the closest setting, never with its value; known ones and other
// prefixes are not.
func TestUnknownVariables(t *testing.T) {
	got := unknownVariables([]string{
		"EXACTQL_JWKS_ULR=https://secret.example.com",
		"EXACTQL_LOGLEVEL=debug",
		"EXACT_CLIENT_SECERT=hunter2",
		"EXACTQL_TOTALLY_DIFFERENT_THING=1",
		"EXACTQL_ADDR=:1", "EXACT_SANDBOX_ADDR=:2", "PATH=/bin", "EXACTLY=1",
	})
	want := []string{
		"EXACTQL_JWKS_ULR is not a setting of exactql and is ignored; did you mean EXACTQL_JWKS_URL?",
		"EXACTQL_LOGLEVEL is not a setting of exactql and is ignored; did you mean EXACTQL_LOG_LEVEL?",
		"EXACT_CLIENT_SECERT is not a setting of exactql and is ignored; did you mean EXACT_CLIENT_SECRET?",
		"EXACTQL_TOTALLY_DIFFERENT_THING is not a setting of exactql and is ignored",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, m := range got {
		if strings.Contains(m, "hunter2") || strings.Contains(m, "secret.example") {
			t.Errorf("a value leaked: %s", m)
		}
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance = %d", d)
	}
}

// syncBuffer is a log sink shared with the gateway's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestSandboxStartLog: at info level, a sandbox start does not claim to
// have seeded the token store from EXACT_REFRESH_TOKEN (nobody set it), and
// the unknown-variable warnings are logged.
func TestSandboxStartLog(t *testing.T) {
	env := map[string]string{"EXACTQL_ADDR": "127.0.0.1:0", "EXACTQL_DATA_DIR": t.TempDir(), "EXACTQL_LOG_LEVEL": "info",
		"EXACTQL_LOG_FORMAT": "json", "EXACTQL_SANDBOX_ITEMS": "50", "EXACTQL_SANDBOX_CUSTOMERS": "10"}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Warnings = unknownVariables([]string{"EXACTQL_PLAYGRUOND=true"})
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan started, 1)
	go func() { done <- serve(ctx, cfg, io.Discard, &logs, func(s started) { ready <- s }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Contains(out, "EXACT_REFRESH_TOKEN") {
		t.Errorf("sandbox start mentions EXACT_REFRESH_TOKEN:\n%s", out)
	}
	if !strings.Contains(out, "did you mean EXACTQL_PLAYGROUND?") || !strings.Contains(out, `"level":"warn"`) {
		t.Errorf("no unknown-variable warning in:\n%s", out)
	}
}

// TestTokenCommand: `exactql token` mints a token the gateway's verifier
// accepts with the configured issuer, audience and claim names, and refuses
// bad input with an error naming it.
func TestTokenCommand(t *testing.T) {
	secret := strings.Repeat("k", 40)
	env := map[string]string{"EXACTQL_JWT_SECRET": secret, "EXACTQL_JWT_ISSUER": "iss", "EXACTQL_JWT_AUDIENCE": "aud",
		"EXACTQL_CLAIM_ACCOUNT": "acct", "EXACTQL_JWT_MAX_TTL": "2h"}
	getenv := func(k string) string { return env[k] }
	const account, contact = "0A1B2C3D-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002"
	var out bytes.Buffer
	err := run(context.Background(), []string{"token", "--account", account, "--contact", contact, "--ttl", "90m", "--sub", "support"},
		getenv, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(out.String())
	v := server.Verifier{Secret: []byte(secret), Rules: server.TokenRules{Issuer: "iss", Audience: "aud", AccountClaim: "acct", MaxTTL: 2 * time.Hour}}
	caller, err := v.Verify(context.Background(), tok, time.Now())
	if err != nil {
		t.Fatalf("minted token does not verify: %v", err)
	}
	if caller.Subject != "support" || caller.Account != strings.ToLower(account) || caller.Contact != contact {
		t.Errorf("caller = %+v", caller)
	}
	parsed, _, _ := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	exp, _ := parsed.Claims.GetExpirationTime()
	if left := time.Until(exp.Time); left <= time.Hour || left > 90*time.Minute {
		t.Errorf("exp in %s, want 90m", left)
	}

	for name, c := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"no account":     {[]string{"token"}, env, "--account is required"},
		"code not GUID":  {[]string{"token", "--account", "C0001"}, env, "not a GUID"},
		"bad contact":    {[]string{"token", "--account", account, "--contact", "x"}, env, "contact is not a GUID"},
		"ttl over max":   {[]string{"token", "--account", account, "--ttl", "3h"}, env, "EXACTQL_JWT_MAX_TTL"},
		"negative ttl":   {[]string{"token", "--account", account, "--ttl", "-1h"}, env, "--ttl"},
		"unknown flag":   {[]string{"token", "--acount", account}, env, "acount"},
		"stray argument": {[]string{"token", "--account", account, "extra"}, env, "unexpected"},
		"no secret":      {[]string{"token", "--account", account}, map[string]string{}, "EXACTQL_JWT_SECRET"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), c.args, func(k string) string { return c.env[k] }, &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: printed %q", name, out.String())
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the secret leaked", name)
		}
	}
}

// TestRetryAfterOnRefusedRequest: once a caller's budget is spent, a
// request refused as a whole (no data at all, only RATE_LIMITED) answers
// with a Retry-After header equal to the errors' retryAfterSeconds; an
// answer that still carries data has none.
func TestRetryAfterOnRefusedRequest(t *testing.T) {
	g := startGateway(t, map[string]string{"EXACTQL_CALLER_BUDGET": "8"})
	tok := g.token(gen.RulePriceList)
	post := func(q string, vars map[string]any) (gqlResponse, http.Header) {
		body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, g.st.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out gqlResponse
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		return out, resp.Header
	}
	// Spend the budget: each new search prices products through Exact.
	limited := false
	for i := range 12 {
		r, h := post(`query($s: String) { products(first: 5, search: $s) { nodes { code price { unitPrice { amount } } } } }`,
			map[string]any{"s": "ART-0000" + strconv.Itoa(i)})
		if errorCode(r) == "RATE_LIMITED" {
			limited = true
			// Products came back, only prices failed: a partial answer.
			if !strings.Contains(string(r.Data), "ART-") {
				t.Fatalf("expected a partial answer, got %s", r.Data)
			}
			if got := h.Get("Retry-After"); got != "" {
				t.Errorf("partial answer has Retry-After %q", got)
			}
			break
		}
		if got := h.Get("Retry-After"); got != "" {
			t.Errorf("answer without RATE_LIMITED has Retry-After %q", got)
		}
	}
	if !limited {
		t.Fatal("the caller was never refused")
	}
	// An order lookup needs Exact: refused as a whole.
	r, h := post(`{ order(id: "5d1f0e9a-0000-4000-8000-00000000abcd") { id } }`, nil)
	if errorCode(r) != "RATE_LIMITED" || string(r.Data) != `{"order":null}` {
		t.Fatalf("order over budget: data %s errors %+v", r.Data, r.Errors)
	}
	s, _ := r.Errors[0].Extensions["retryAfterSeconds"].(float64)
	if got := h.Get("Retry-After"); s < 1 || got != strconv.Itoa(int(s)) {
		t.Errorf("Retry-After = %q, retryAfterSeconds = %v", got, s)
	}
}
