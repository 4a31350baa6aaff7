package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/resolvers"
)

// maxTokenLen bounds the bearer token read from a request; real tokens are a
// few hundred bytes.
const maxTokenLen = 4096

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Errors of token verification. Their texts are shown to the client; they
// say what is wrong without detail an attacker could use.
var (
	errWrongScheme  = errors.New("the Authorization header must use the Bearer scheme")
	errInvalidToken = errors.New("invalid bearer token")
	errExpiredToken = errors.New("bearer token expired")
	errTokenTooLong = errors.New("bearer token expires too far in the future")
)

// ttlLeeway allows for clocks that differ a little when a token's lifetime
// is compared with TokenRules.MaxTTL.
const ttlLeeway = time.Minute

// TokenRules are the checks ParseTokenWithRules makes beyond the signature
// and expiry.
type TokenRules struct {
	// MaxTTL refuses tokens whose exp is more than MaxTTL (plus a minute
	// for clock differences) after now; 0 means DefaultJWTMaxTTL.
	MaxTTL time.Duration
	// Issuer, when set, must equal the iss claim.
	Issuer string
	// Audience, when set, must be one of the aud claim's values.
	Audience string
	// AccountClaim names the claim holding the buyer's Exact account ID;
	// empty means DefaultAccountClaim.
	AccountClaim string
	// ContactClaim names the claim holding the buyer's Exact contact ID;
	// empty means DefaultContactClaim.
	ContactClaim string
}

// Default claim names of the buyer's Exact account and contact (ARCHITECTURE §7).
const (
	DefaultAccountClaim = "exact_account"
	DefaultContactClaim = "exact_contact"
)

// ParseToken verifies a caller token with the default TokenRules (see
// ParseTokenWithRules).
func ParseToken(secret []byte, token string, now time.Time) (resolvers.Caller, error) {
	return ParseTokenWithRules(secret, token, now, TokenRules{})
}

// ParseTokenWithRules verifies an HS256 caller token signed with secret
// (see Verifier.Verify for every check made).
func ParseTokenWithRules(secret []byte, token string, now time.Time, rules TokenRules) (resolvers.Caller, error) {
	v := Verifier{Secret: secret, Rules: rules}
	return v.Verify(context.Background(), token, now)
}

// Verifier checks caller tokens: HS256 with Secret, and RS256, ES256 or
// EdDSA with a key of JWKS (an OpenID Connect provider's keys). Either may
// be unset; a token whose algorithm has no configured key is refused.
type Verifier struct {
	// Secret verifies HS256 tokens; empty refuses them.
	Secret []byte
	// JWKS verifies RS256, ES256 and EdDSA tokens; nil refuses them.
	JWKS *JWKS
	// Rules are the checks beyond the signature.
	Rules TokenRules
}

// Verify verifies a caller token: its algorithm must be one a configured
// key allows and the key must be of that algorithm's type (never none,
// never HS256 with a public key, never a JWKS key the token's header asks
// to use with another algorithm); no crit header (the gateway understands
// no JWS extension, so every critical one is unknown); exp required, in the
// future at now and within Rules.MaxTTL of it; iss and aud as Rules ask; sub
// present; the account and contact claims (Rules.AccountClaim,
// Rules.ContactClaim) GUID strings when present. It returns the
// authenticated caller.
func (v *Verifier) Verify(ctx context.Context, token string, now time.Time) (resolvers.Caller, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return resolvers.Caller{}, errInvalidToken
	}
	rules := v.Rules
	if rules.MaxTTL <= 0 {
		rules.MaxTTL = DefaultJWTMaxTTL
	}
	if rules.AccountClaim == "" {
		rules.AccountClaim = DefaultAccountClaim
	}
	if rules.ContactClaim == "" {
		rules.ContactClaim = DefaultContactClaim
	}
	var methods []string
	if len(v.Secret) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if v.JWKS != nil {
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodEdDSA.Alg())
	}
	if len(methods) == 0 {
		return resolvers.Caller{}, errInvalidToken
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if rules.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(rules.Issuer))
	}
	if rules.Audience != "" {
		opts = append(opts, jwt.WithAudience(rules.Audience))
	}
	c := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) {
		// The key is chosen by the configured key type for the algorithm,
		// and jwt checks the key's Go type against the method as well: a
		// public key can never be used as an HMAC secret.
		alg, _ := t.Header["alg"].(string)
		switch alg {
		case jwt.SigningMethodHS256.Alg():
			if len(v.Secret) == 0 {
				return nil, errInvalidToken
			}
			return v.Secret, nil
		case jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodEdDSA.Alg():
			if v.JWKS == nil {
				return nil, errInvalidToken
			}
			kid, _ := t.Header["kid"].(string)
			return v.JWKS.key(ctx, kid, alg)
		}
		return nil, errInvalidToken
	}, opts...)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return resolvers.Caller{}, errExpiredToken
	case err != nil:
		return resolvers.Caller{}, errInvalidToken
	}
	if _, ok := tok.Header["crit"]; ok {
		return resolvers.Caller{}, errInvalidToken
	}
	exp, err := c.GetExpirationTime()
	if err != nil || exp == nil {
		return resolvers.Caller{}, errInvalidToken
	}
	if exp.Sub(now) > rules.MaxTTL+ttlLeeway {
		return resolvers.Caller{}, errTokenTooLong
	}
	sub, err := c.GetSubject()
	if err != nil || sub == "" {
		return resolvers.Caller{}, errInvalidToken
	}
	account, ok := guidClaim(c, rules.AccountClaim)
	if !ok {
		return resolvers.Caller{}, errInvalidToken
	}
	contact, ok := guidClaim(c, rules.ContactClaim)
	if !ok {
		return resolvers.Caller{}, errInvalidToken
	}
	return resolvers.Caller{Subject: sub, Account: account, Contact: contact}, nil
}

// guidClaim reads an optional GUID claim: absent or empty is "", anything
// else must be a GUID string.
func guidClaim(c jwt.MapClaims, name string) (string, bool) {
	raw, present := c[name]
	if !present || raw == nil {
		return "", true
	}
	s, isString := raw.(string)
	if !isString {
		return "", false
	}
	if s == "" {
		return "", true
	}
	if !guidRE.MatchString(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// SignToken makes an HS256 caller token for sub acting for Exact account
// (may be empty) and contact (may be empty), valid for ttl from now. It is
// for demo tokens in sandbox mode and for tests.
func SignToken(secret []byte, sub, account, contact string, ttl time.Duration, now time.Time) (string, error) {
	return SignTokenWithRules(secret, sub, account, contact, ttl, now, TokenRules{})
}

// SignTokenWithRules is SignToken for a gateway that checks rules: the
// token carries rules.Issuer as iss and rules.Audience as aud when they are
// set, and the account and contact under rules' claim names, so sandbox demo tokens keep working with EXACTQL_JWT_ISSUER and
// EXACTQL_JWT_AUDIENCE. rules.MaxTTL is not applied: a longer ttl makes a
// token the gateway refuses.
func SignTokenWithRules(secret []byte, sub, account, contact string, ttl time.Duration, now time.Time, rules TokenRules) (string, error) {
	switch {
	case len(secret) == 0:
		return "", errors.New("server.SignToken: empty secret")
	case sub == "":
		return "", errors.New("server.SignToken: empty subject")
	case ttl <= 0:
		return "", errors.New("server.SignToken: ttl must be positive")
	case account != "" && !guidRE.MatchString(account):
		return "", errors.New("server.SignToken: account is not a GUID")
	case contact != "" && !guidRE.MatchString(contact):
		return "", errors.New("server.SignToken: contact is not a GUID")
	}
	accountClaim, contactClaim := rules.AccountClaim, rules.ContactClaim
	if accountClaim == "" {
		accountClaim = DefaultAccountClaim
	}
	if contactClaim == "" {
		contactClaim = DefaultContactClaim
	}
	c := jwt.MapClaims{
		"sub": sub,
		"iat": jwt.NewNumericDate(now),
		"exp": jwt.NewNumericDate(now.Add(ttl)),
	}
	if rules.Issuer != "" {
		c["iss"] = rules.Issuer
	}
	if rules.Audience != "" {
		c["aud"] = []string{rules.Audience}
	}
	if account != "" {
		c[accountClaim] = strings.ToLower(account)
	}
	if contact != "" {
		c[contactClaim] = strings.ToLower(contact)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("server.SignToken: %w", err)
	}
	return s, nil
}

// authenticator puts the caller of each request into its context, or refuses
// the request with 401 when it carries a token that does not verify.
type authenticator struct {
	verifier Verifier
	now      func() time.Time
}

func (a *authenticator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, apierr.CodeUnauthenticated, err.Error())
			return
		}
		caller.RemoteAddr = remoteHost(r)
		next.ServeHTTP(w, r.WithContext(resolvers.NewContext(r.Context(), caller)))
	})
}

func (a *authenticator) authenticate(r *http.Request) (resolvers.Caller, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return resolvers.Caller{Anonymous: true}, nil
	}
	if len(values) > 1 {
		return resolvers.Caller{}, errInvalidToken
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return resolvers.Caller{}, errWrongScheme
	}
	return a.verifier.Verify(r.Context(), strings.TrimSpace(token), a.now())
}

// remoteHost is the client's address without the port. Forwarding headers
// are not trusted.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
