package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/exactql/exactql/resolvers"
)

// maxTokenLen bounds the bearer token read from a request; real tokens are a
// few hundred bytes.
const maxTokenLen = 4096

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// claims are the caller token's claims (ARCHITECTURE §7).
type claims struct {
	jwt.RegisteredClaims
	ExactAccount string `json:"exact_account,omitempty"`
	ExactContact string `json:"exact_contact,omitempty"`
}

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
}

// ParseToken verifies a caller token with the default TokenRules (see
// ParseTokenWithRules).
func ParseToken(secret []byte, token string, now time.Time) (resolvers.Caller, error) {
	return ParseTokenWithRules(secret, token, now, TokenRules{})
}

// ParseTokenWithRules verifies a caller token: HS256 only, signed with
// secret, no crit header (the gateway understands no JWS extension, so
// every critical one is unknown), exp required, in the future at now and
// within rules.MaxTTL of it, iss and aud as rules ask, sub present,
// exact_account and exact_contact GUIDs when present. It returns the
// authenticated caller.
func ParseTokenWithRules(secret []byte, token string, now time.Time, rules TokenRules) (resolvers.Caller, error) {
	if len(token) == 0 || len(token) > maxTokenLen {
		return resolvers.Caller{}, errInvalidToken
	}
	if rules.MaxTTL <= 0 {
		rules.MaxTTL = DefaultJWTMaxTTL
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if rules.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(rules.Issuer))
	}
	if rules.Audience != "" {
		opts = append(opts, jwt.WithAudience(rules.Audience))
	}
	var c claims
	tok, err := jwt.ParseWithClaims(token, &c,
		func(*jwt.Token) (any, error) { return secret, nil }, opts...)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return resolvers.Caller{}, errExpiredToken
	case err != nil:
		return resolvers.Caller{}, errInvalidToken
	}
	if _, ok := tok.Header["crit"]; ok {
		return resolvers.Caller{}, errInvalidToken
	}
	if c.ExpiresAt.Sub(now) > rules.MaxTTL+ttlLeeway {
		return resolvers.Caller{}, errTokenTooLong
	}
	if c.Subject == "" {
		return resolvers.Caller{}, errInvalidToken
	}
	if c.ExactAccount != "" && !guidRE.MatchString(c.ExactAccount) {
		return resolvers.Caller{}, errInvalidToken
	}
	if c.ExactContact != "" && !guidRE.MatchString(c.ExactContact) {
		return resolvers.Caller{}, errInvalidToken
	}
	return resolvers.Caller{
		Subject: c.Subject,
		Account: strings.ToLower(c.ExactAccount),
		Contact: strings.ToLower(c.ExactContact),
	}, nil
}

// SignToken makes an HS256 caller token for sub acting for Exact account
// (may be empty) and contact (may be empty), valid for ttl from now. It is
// for demo tokens in sandbox mode and for tests.
func SignToken(secret []byte, sub, account, contact string, ttl time.Duration, now time.Time) (string, error) {
	return SignTokenWithRules(secret, sub, account, contact, ttl, now, TokenRules{})
}

// SignTokenWithRules is SignToken for a gateway that checks rules: the
// token carries rules.Issuer as iss and rules.Audience as aud when they are
// set, so sandbox demo tokens keep working with EXACTQL_JWT_ISSUER and
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
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   sub,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			Issuer:    rules.Issuer,
		},
		ExactAccount: strings.ToLower(account),
		ExactContact: strings.ToLower(contact),
	}
	if rules.Audience != "" {
		c.Audience = jwt.ClaimStrings{rules.Audience}
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
	secret []byte
	now    func() time.Time
	rules  TokenRules
}

func (a *authenticator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, resolvers.CodeUnauthenticated, err.Error())
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
	return ParseTokenWithRules(a.secret, strings.TrimSpace(token), a.now(), a.rules)
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
