package server

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// The JWKS client is written here over net/http and crypto rather than taken
// from a library: it is ~200 lines, needs no new module, and the gateway only
// accepts three algorithms (RS256, ES256, EdDSA with Ed25519), which keeps
// the key parsing small enough to review in full.

const (
	// JWKSMinRefresh is the shortest time between two fetches of the key
	// set: a token with an unknown kid refreshes the keys at most this
	// often, so a flood of forged kids cannot turn into a flood of requests
	// to the identity provider.
	JWKSMinRefresh = time.Minute
	// maxJWKSBytes bounds a key set document; real ones are a few KB.
	maxJWKSBytes = 1 << 20
	// minRSABits refuses RSA keys too short to be safe.
	minRSABits = 2048
	// jwksFetchTimeout bounds one fetch of the key set.
	jwksFetchTimeout = 10 * time.Second
)

// errUnknownKey is returned when no key of the set matches a token's kid
// (after a refresh, when one was allowed).
var errUnknownKey = errors.New("server.JWKS: no key for this token")

// JWKS is an OpenID Connect provider's JSON Web Key Set, fetched from its
// jwks_uri, cached, and fetched again when a token names a key the cache
// does not hold, at most once per JWKSMinRefresh. It is safe for concurrent
// use.
type JWKS struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu          sync.Mutex
	keys        map[string]jwk // by kid
	lastAttempt time.Time      // zero before the first fetch
	fetches     int
	inflight    chan struct{} // closed when the running fetch ends; nil when none runs
}

// jwk is one usable verification key and the only algorithm it may verify.
type jwk struct {
	alg string // "RS256", "ES256" or "EdDSA"
	key crypto.PublicKey
}

// NewJWKS returns a key set read from rawURL (https, or http for loopback
// tests and internal providers) with client (nil means a client with a 10s
// timeout) on the clock now (nil means time.Now). Nothing is fetched until
// the first token needs a key.
func NewJWKS(rawURL string, client *http.Client, now func() time.Time) (*JWKS, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("server.NewJWKS: the key set URL must be an absolute http(s) URL")
	}
	if client == nil {
		client = &http.Client{Timeout: jwksFetchTimeout}
	}
	if now == nil {
		now = time.Now
	}
	return &JWKS{url: rawURL, client: client, now: now}, nil
}

// Fetches reports how many times the key set has been requested from the
// provider (for tests and metrics).
func (s *JWKS) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// key returns the public key for kid that may verify alg. An unknown kid
// refreshes the set when the last fetch is at least JWKSMinRefresh old (and
// waits for a refresh already running). A
// key whose type or declared alg differs from alg is refused, so a token
// cannot pick how a key is used (algorithm confusion).
func (s *JWKS) key(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	s.mu.Lock()
	k, ok := s.lookup(kid)
	if !ok {
		if s.inflight == nil && (s.lastAttempt.IsZero() || s.now().Sub(s.lastAttempt) >= JWKSMinRefresh) {
			s.lastAttempt = s.now()
			s.fetches++
			s.inflight = make(chan struct{})
			go s.refresh(ctx, s.inflight)
		}
		if wait := s.inflight; wait != nil {
			// Tokens arriving while a fetch runs wait for it (a rotated key
			// is then found by all of them); tokens of known kids never wait.
			s.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return nil, errUnknownKey
			}
			s.mu.Lock()
			k, ok = s.lookup(kid)
		}
	}
	s.mu.Unlock()
	if !ok {
		return nil, errUnknownKey
	}
	if k.alg != alg {
		return nil, fmt.Errorf("server.JWKS: key %q does not verify %s", kid, alg)
	}
	return k.key, nil
}

// refresh fetches the key set and closes done. On a failed fetch the old
// keys stay: a provider outage must not sign everybody out. The fetch does
// not end with the request that started it, since others may wait for it.
func (s *JWKS) refresh(ctx context.Context, done chan struct{}) {
	keys, err := s.fetch(context.WithoutCancel(ctx))
	s.mu.Lock()
	if err == nil {
		s.keys = keys
	}
	s.inflight = nil
	s.mu.Unlock()
	close(done)
}

// Refresh fetches the key set now and returns how many usable keys it
// holds, or why the fetch failed (the cached keys then stay). The gateway
// calls it at start so a wrong EXACTQL_JWKS_URL shows in the log at once
// rather than as 401s.
func (s *JWKS) Refresh(ctx context.Context) (int, error) {
	s.mu.Lock()
	s.lastAttempt = s.now()
	s.fetches++
	s.mu.Unlock()
	keys, err := s.fetch(ctx)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
	if len(keys) == 0 {
		return 0, errors.New("server.JWKS: the key set holds no RS256, ES256 or EdDSA signing key")
	}
	return len(keys), nil
}

// lookup finds kid; a token without kid matches only a set of one key.
func (s *JWKS) lookup(kid string) (jwk, bool) {
	if kid == "" {
		if len(s.keys) == 1 {
			for _, k := range s.keys {
				return k, true
			}
		}
		return jwk{}, false
	}
	k, ok := s.keys[kid]
	return k, ok
}

// fetch reads and parses the key set. Keys it cannot use (encryption keys,
// other algorithms or curves, short RSA keys) are skipped, not errors:
// providers publish such keys beside the signing ones.
func (s *JWKS) fetch(ctx context.Context) (map[string]jwk, error) {
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("server.JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, errors.New("server.JWKS: fetching the key set failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("server.JWKS: key set answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil || len(body) > maxJWKSBytes {
		return nil, errors.New("server.JWKS: key set unreadable or too large")
	}
	return parseJWKS(body)
}

// rawJWK is the subset of RFC 7517/7518/8037 members the gateway reads.
type rawJWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	N   string `json:"n"`
	E   string `json:"e"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS parses a key set document into the keys the gateway can use.
func parseJWKS(body []byte) (map[string]jwk, error) {
	var doc struct {
		Keys []rawJWK `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("server.JWKS: key set is not JSON")
	}
	keys := make(map[string]jwk, len(doc.Keys))
	for _, r := range doc.Keys {
		if r.Use != "" && r.Use != "sig" {
			continue
		}
		k, err := r.parse()
		if err != nil {
			continue
		}
		if r.Alg != "" && r.Alg != k.alg {
			continue
		}
		if _, dup := keys[r.Kid]; dup {
			// Two keys with one kid: which one a token means is ambiguous,
			// so neither is used.
			keys[r.Kid] = jwk{}
			continue
		}
		keys[r.Kid] = k
	}
	for kid, k := range keys {
		if k.key == nil {
			delete(keys, kid)
		}
	}
	return keys, nil
}

func (r rawJWK) parse() (jwk, error) {
	switch r.Kty {
	case "RSA":
		n, err1 := b64int(r.N)
		e, err2 := b64int(r.E)
		if err1 != nil || err2 != nil || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || e.Bit(0) == 0 {
			return jwk{}, errors.New("bad RSA key")
		}
		if n.BitLen() < minRSABits {
			return jwk{}, errors.New("RSA key too short")
		}
		return jwk{alg: "RS256", key: &rsa.PublicKey{N: n, E: int(e.Int64())}}, nil
	case "EC":
		if r.Crv != "P-256" {
			return jwk{}, errors.New("unsupported curve")
		}
		x, err1 := b64fixed(r.X, 32)
		y, err2 := b64fixed(r.Y, 32)
		if err1 != nil || err2 != nil {
			return jwk{}, errors.New("bad EC key")
		}
		// ParseUncompressedPublicKey checks that the point is on the
		// curve before the key is trusted.
		pt := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			return jwk{}, errors.New("EC point not on the curve")
		}
		return jwk{alg: "ES256", key: pub}, nil
	case "OKP":
		if r.Crv != "Ed25519" {
			return jwk{}, errors.New("unsupported curve")
		}
		x, err := b64fixed(r.X, ed25519.PublicKeySize)
		if err != nil {
			return jwk{}, errors.New("bad Ed25519 key")
		}
		return jwk{alg: "EdDSA", key: ed25519.PublicKey(x)}, nil
	default:
		return jwk{}, errors.New("unsupported key type")
	}
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad integer")
	}
	return new(big.Int).SetBytes(b), nil
}

func b64fixed(s string, n int) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != n {
		return nil, errors.New("bad coordinate")
	}
	return b, nil
}
