package server

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/erptest"
	"github.com/golang-jwt/jwt/v5"
)

// testKeys are signing keys made for one test and the JWKS document that
// publishes their public halves.
type testKeys struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	ed  ed25519.PrivateKey
}

func newTestKeys(t *testing.T) testKeys {
	t.Helper()
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, d, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{rsa: r, ec: e, ed: d}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// JWKSDoc is the key set publishing k's public keys under kids rsa-1, ec-1, ed-1.
func (k testKeys) JWKSDoc(t *testing.T) []byte {
	t.Helper()
	ecPub, err := k.ec.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
			"n": b64(k.rsa.N.Bytes()), "e": b64(big.NewInt(int64(k.rsa.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256", "x": b64(ecPub[1:33]), "y": b64(ecPub[33:])},
		{"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": b64(k.ed.Public().(ed25519.PublicKey))},
		// Keys the gateway must skip without failing the set.
		{"kty": "RSA", "kid": "enc-1", "use": "enc", "n": b64(k.rsa.N.Bytes()), "e": "AQAB"},
		{"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
	}}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jwksServer serves doc (changeable) and counts requests.
type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	doc  []byte
	hits int
}

func newJWKSServer(t *testing.T, doc []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{doc: doc}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) setDoc(doc []byte) {
	s.mu.Lock()
	s.doc = doc
	s.mu.Unlock()
}

func (s *jwksServer) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

const (
	oidcIssuer   = "https://id.example.com/"
	oidcAudience = "exactql-shop"
	oidcAccount  = "1b2c3d4e-0000-4000-8000-00000000000a"
)

func signWith(t *testing.T, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func goodClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"sub": "buyer-1", "iss": oidcIssuer, "aud": oidcAudience,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "exact_account": oidcAccount}
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

// TestVerifierJWKS: tokens signed by the provider's RS256, ES256 and EdDSA
// keys verify; every forged, misdirected or expired one is refused.
func TestVerifierJWKS(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.JWKSDoc(t))
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	set, err := NewJWKS(srv.URL, srv.Client(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("hs256-secret-hs256-secret-hs256-secret")
	v := Verifier{Secret: secret, JWKS: set, Rules: TokenRules{Issuer: oidcIssuer, Audience: oidcAudience}}
	other := newTestKeys(t)
	pubDER, _ := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	good := goodClaims(now)

	noneTok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good).SignedString(jwt.UnsafeAllowNoneSignatureType)
	noneWithKid := jwt.NewWithClaims(jwt.SigningMethodNone, good)
	noneWithKid.Header["kid"] = "rsa-1"
	noneKidTok, _ := noneWithKid.SignedString(jwt.UnsafeAllowNoneSignatureType)

	for _, c := range []struct {
		name    string
		token   string
		wantErr error
	}{
		{"RS256", signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, good), nil},
		{"ES256", signWith(t, jwt.SigningMethodES256, "ec-1", keys.ec, good), nil},
		{"EdDSA", signWith(t, jwt.SigningMethodEdDSA, "ed-1", keys.ed, good), nil},
		{"HS256 with the secret", signWith(t, jwt.SigningMethodHS256, "", secret, good), nil},
		{"unknown key under a known kid", signWith(t, jwt.SigningMethodRS256, "rsa-1", other.rsa, good), errInvalidToken},
		{"unknown kid", signWith(t, jwt.SigningMethodRS256, "rsa-9", other.rsa, good), errInvalidToken},
		{"no kid with several keys", signWith(t, jwt.SigningMethodRS256, "", keys.rsa, good), errInvalidToken},
		{"wrong issuer", signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, with(good, "iss", "https://evil.example.com/")), errInvalidToken},
		{"wrong audience", signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, with(good, "aud", "another-app")), errInvalidToken},
		{"no audience", signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, with(good, "aud", nil)), errInvalidToken},
		{"expired", signWith(t, jwt.SigningMethodES256, "ec-1", keys.ec, with(good, "exp", now.Add(-time.Minute).Unix())), errExpiredToken},
		{"no exp", signWith(t, jwt.SigningMethodES256, "ec-1", keys.ec, with(good, "exp", nil)), errInvalidToken},
		{"alg none", noneTok, errInvalidToken},
		{"alg none with a kid", noneKidTok, errInvalidToken},
		{"HS256 signed with the public key's DER", signWith(t, jwt.SigningMethodHS256, "rsa-1", pubDER, good), errInvalidToken},
		{"HS256 signed with the modulus", signWith(t, jwt.SigningMethodHS256, "rsa-1", keys.rsa.N.Bytes(), good), errInvalidToken},
		{"RSA kid used as ES256", signWith(t, jwt.SigningMethodES256, "rsa-1", keys.ec, good), errInvalidToken},
		{"EC kid used as EdDSA", signWith(t, jwt.SigningMethodEdDSA, "ec-1", keys.ed, good), errInvalidToken},
		{"RS512 not allowed", signWith(t, jwt.SigningMethodRS512, "rsa-1", keys.rsa, good), errInvalidToken},
		{"encryption key", signWith(t, jwt.SigningMethodRS256, "enc-1", keys.rsa, good), errInvalidToken},
		{"account not a GUID", signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, with(good, "exact_account", "ACME")), errInvalidToken},
		{"account not a string", signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, with(good, "exact_account", 42)), errInvalidToken},
		{"no sub", signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, with(good, "sub", nil)), errInvalidToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			caller, err := v.Verify(t.Context(), c.token, now)
			if err != c.wantErr {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err == nil && (caller.Subject != "buyer-1" || caller.Account != oidcAccount) {
				t.Errorf("caller = %+v", caller)
			}
		})
	}
}

// TestVerifierWithoutSecretRefusesHS256: with only a JWKS configured, no
// HS256 token verifies, not even one signed with an empty key.
func TestVerifierWithoutSecretRefusesHS256(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.JWKSDoc(t))
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	set, _ := NewJWKS(srv.URL, srv.Client(), func() time.Time { return now })
	v := Verifier{JWKS: set, Rules: TokenRules{Issuer: oidcIssuer, Audience: oidcAudience}}
	for _, key := range [][]byte{[]byte("x"), []byte("anything-at-all-anything-at-all!")} {
		if _, err := v.Verify(t.Context(), signWith(t, jwt.SigningMethodHS256, "", key, goodClaims(now)), now); err == nil {
			t.Errorf("HS256 token verified without a secret")
		}
	}
	// And with neither configured, nothing verifies.
	if _, err := (&Verifier{}).Verify(t.Context(), signWith(t, jwt.SigningMethodHS256, "", []byte("x"), goodClaims(now)), now); err == nil {
		t.Error("a verifier without keys accepted a token")
	}
}

// TestVerifierClaimNames: the account and contact are read from the
// configured claim names, and the default names are then ignored.
func TestVerifierClaimNames(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	secret := []byte("hs256-secret-hs256-secret-hs256-secret")
	contact := "2b2c3d4e-0000-4000-8000-00000000000b"
	rules := TokenRules{AccountClaim: "https://shop.example.com/account", ContactClaim: "contact_id"}
	v := Verifier{Secret: secret, Rules: rules}
	claims := jwt.MapClaims{"sub": "u", "exp": now.Add(time.Hour).Unix(),
		"https://shop.example.com/account": strings.ToUpper(oidcAccount), "contact_id": contact,
		"exact_account": "not-read"}
	caller, err := v.Verify(t.Context(), signWith(t, jwt.SigningMethodHS256, "", secret, claims), now)
	if err != nil {
		t.Fatal(err)
	}
	if caller.Account != oidcAccount || caller.Contact != contact {
		t.Errorf("caller = %+v", caller)
	}
	// SignTokenWithRules writes under the same names.
	tok, err := SignTokenWithRules(secret, "u", oidcAccount, contact, time.Hour, now, rules)
	if err != nil {
		t.Fatal(err)
	}
	if caller, err = v.Verify(t.Context(), tok, now); err != nil || caller.Account != oidcAccount || caller.Contact != contact {
		t.Errorf("signed with rules: %+v %v", caller, err)
	}
}

// TestJWKSRefreshAtMostOncePerMinute: the set is fetched once for known
// kids; an unknown kid refetches it, but not again within a minute however
// many unknown kids arrive; a key the provider rotated in is found after the
// minute has passed.
func TestJWKSRefreshAtMostOncePerMinute(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.JWKSDoc(t))
	clock := erptest.NewClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	set, err := NewJWKS(srv.URL, srv.Client(), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	v := Verifier{JWKS: set, Rules: TokenRules{Issuer: oidcIssuer, Audience: oidcAudience}}
	verify := func(method jwt.SigningMethod, kid string, key any) error {
		_, err := v.Verify(t.Context(), signWith(t, method, kid, key, goodClaims(clock.Now())), clock.Now())
		return err
	}
	if srv.Hits() != 0 {
		t.Fatalf("fetched before any token: %d", srv.Hits())
	}
	for range 5 {
		if err := verify(jwt.SigningMethodRS256, "rsa-1", keys.rsa); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Hits() != 1 {
		t.Fatalf("known kid: %d fetches, want 1", srv.Hits())
	}
	// The provider rotates in a new key; the first token naming it (even
	// from the first fetch's minute) triggers no fetch within the minute.
	rotated := newTestKeys(t)
	srv.setDoc(rotated.JWKSDoc(t))
	clock.Advance(30 * time.Second)
	for range 10 {
		if err := verify(jwt.SigningMethodRS256, "forged-kid", rotated.rsa); err == nil {
			t.Fatal("unknown kid verified")
		}
	}
	if srv.Hits() != 1 {
		t.Fatalf("unknown kids within a minute of the last fetch: %d fetches, want 1", srv.Hits())
	}
	clock.Advance(30 * time.Second) // a minute since the fetch
	// rotated publishes ec-1 etc. with new material: kid "ed-1" is known
	// (old key) so it does not refetch; the new material fails.
	if err := verify(jwt.SigningMethodEdDSA, "ed-1", rotated.ed); err == nil {
		t.Fatal("old cached key verified a token of the new key")
	}
	if srv.Hits() != 1 {
		t.Fatalf("a known kid refetched: %d", srv.Hits())
	}
	for range 10 {
		_ = verify(jwt.SigningMethodRS256, "still-unknown", rotated.rsa)
	}
	if srv.Hits() != 2 {
		t.Fatalf("unknown kids a minute later: %d fetches, want 2", srv.Hits())
	}
	// The refetched set holds the rotated keys.
	if err := verify(jwt.SigningMethodES256, "ec-1", rotated.ec); err != nil {
		t.Errorf("rotated key after refresh: %v", err)
	}
	clock.Advance(59 * time.Second)
	_ = verify(jwt.SigningMethodRS256, "still-unknown", rotated.rsa)
	if srv.Hits() != 2 {
		t.Fatalf("refetched after 59s: %d", srv.Hits())
	}
	if set.Fetches() != srv.Hits() {
		t.Errorf("Fetches() = %d, server saw %d", set.Fetches(), srv.Hits())
	}
}

// TestJWKSKeepsKeysWhenProviderFails: a failed refresh keeps the cached
// keys, and a key set that is not JSON is no key at all.
func TestJWKSKeepsKeysWhenProviderFails(t *testing.T) {
	keys := newTestKeys(t)
	srv := newJWKSServer(t, keys.JWKSDoc(t))
	clock := erptest.NewClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	set, _ := NewJWKS(srv.URL, srv.Client(), clock.Now)
	v := Verifier{JWKS: set, Rules: TokenRules{Issuer: oidcIssuer, Audience: oidcAudience}}
	tok := func() string { return signWith(t, jwt.SigningMethodRS256, "rsa-1", keys.rsa, goodClaims(clock.Now())) }
	if _, err := v.Verify(t.Context(), tok(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	srv.setDoc([]byte("<html>maintenance</html>"))
	clock.Advance(2 * time.Minute)
	_, _ = v.Verify(t.Context(), signWith(t, jwt.SigningMethodRS256, "new", keys.rsa, goodClaims(clock.Now())), clock.Now())
	if srv.Hits() != 2 {
		t.Fatalf("hits = %d", srv.Hits())
	}
	if _, err := v.Verify(t.Context(), tok(), clock.Now()); err != nil {
		t.Errorf("cached key lost after a failed refresh: %v", err)
	}

	// A fresh set whose first fetch fails verifies nothing.
	bad := newJWKSServer(t, []byte(`{"keys": "nope"}`))
	set2, _ := NewJWKS(bad.URL, bad.Client(), clock.Now)
	v2 := Verifier{JWKS: set2}
	if _, err := v2.Verify(t.Context(), tok(), clock.Now()); err == nil {
		t.Error("verified against a broken key set")
	}
}

// TestNewJWKSRejectsBadURL: only absolute http(s) URLs are accepted.
func TestNewJWKSRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "file:///etc/keys", "/jwks", "https://", "ftp://x/y"} {
		if _, err := NewJWKS(u, nil, nil); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

// TestJWKSRefreshDoesNotBlockKnownKeys: while a refresh waits on a slow
// provider, tokens of known kids verify at once, and every token with an
// unknown kid that arrives meanwhile waits for that one fetch and then
// finds the rotated key.
func TestJWKSRefreshDoesNotBlockKnownKeys(t *testing.T) {
	keys := newTestKeys(t)
	rotated := newTestKeys(t)
	var mu sync.Mutex
	doc, hits := keys.JWKSDoc(t), 0
	started, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		n, d := hits, doc
		mu.Unlock()
		if n == 2 {
			started <- struct{}{}
			<-release
		}
		_, _ = w.Write(d)
	}))
	t.Cleanup(srv.Close)
	clock := erptest.NewClock(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	set, _ := NewJWKS(srv.URL, srv.Client(), clock.Now)
	v := Verifier{JWKS: set, Rules: TokenRules{Issuer: oidcIssuer, Audience: oidcAudience}}
	verify := func(kid string, key any) error {
		_, err := v.Verify(t.Context(), signWith(t, jwt.SigningMethodRS256, kid, key, goodClaims(clock.Now())), clock.Now())
		return err
	}
	if err := verify("rsa-1", keys.rsa); err != nil {
		t.Fatal(err)
	}
	// The provider rotates: rsa-new joins the set.
	newDoc := map[string][]map[string]string{}
	_ = json.Unmarshal(rotated.JWKSDoc(t), &newDoc)
	newDoc["keys"][0]["kid"] = "rsa-new"
	oldDoc := map[string][]map[string]string{}
	_ = json.Unmarshal(keys.JWKSDoc(t), &oldDoc)
	merged, _ := json.Marshal(map[string]any{"keys": append(oldDoc["keys"], newDoc["keys"][0])})
	mu.Lock()
	doc = merged
	mu.Unlock()
	clock.Advance(JWKSMinRefresh)

	const waiters = 5
	errs := make(chan error, waiters)
	go func() { errs <- verify("rsa-new", rotated.rsa) }()
	<-started // the refresh is now blocked at the provider
	if err := verify("rsa-1", keys.rsa); err != nil {
		t.Errorf("known kid during a refresh: %v", err)
	}
	for range waiters - 1 {
		go func() { errs <- verify("rsa-new", rotated.rsa) }()
	}
	close(release)
	for range waiters {
		if err := <-errs; err != nil {
			// A waiter that came after the fetch ended finds the key in
			// the cache; none may fail.
			t.Errorf("rotated key: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 2 {
		t.Errorf("provider asked %d times, want 2", hits)
	}
}

// TestJWKSRefreshReports: Refresh says how many keys it read, or why it
// could not (HTTP error, no usable key).
func TestJWKSRefreshReports(t *testing.T) {
	keys := newTestKeys(t)
	good := newJWKSServer(t, keys.JWKSDoc(t))
	set, _ := NewJWKS(good.URL, good.Client(), nil)
	if n, err := set.Refresh(t.Context()); err != nil || n != 3 {
		t.Errorf("Refresh = %d, %v; want 3 keys", n, err)
	}
	empty := newJWKSServer(t, []byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`))
	set, _ = NewJWKS(empty.URL, empty.Client(), nil)
	if _, err := set.Refresh(t.Context()); err == nil {
		t.Error("a set of only an HMAC key was accepted")
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	set, _ = NewJWKS(gone.URL, gone.Client(), nil)
	if _, err := set.Refresh(t.Context()); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
}
