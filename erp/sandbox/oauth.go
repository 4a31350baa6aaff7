package sandbox

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// chain is one consent's line of tokens: every refresh rotates the refresh
// token and issues a new access token.
type chain struct {
	clientID      string
	current       string    // the only refresh token that may be used
	refreshExpiry time.Time // of current
	accessExpiry  time.Time // of the newest access token; zero before the first
	revoked       bool
}

type accessToken struct {
	chain   *chain
	expires time.Time
}

type authCode struct {
	clientID    string
	redirectURI string
	expires     time.Time
	used        bool
}

type tokenStore struct {
	mu      sync.Mutex
	codes   map[string]*authCode
	refresh map[string]*chain // every refresh token ever issued → its chain
	access  map[string]*accessToken
}

func newTokenStore() *tokenStore {
	return &tokenStore{codes: map[string]*authCode{}, refresh: map[string]*chain{}, access: map[string]*accessToken{}}
}

// randomToken returns prefix followed by n random bytes in URL-safe base64.
func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func (s *Sandbox) revokeAll() {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	for _, c := range s.tokens.refresh {
		c.revoked = true
	}
}

// IssueRefreshToken starts a new token chain, as if a user had just
// consented, and returns its refresh token. No access token is outstanding,
// so the first refresh is allowed at once.
func (s *Sandbox) IssueRefreshToken() string {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	c := &chain{clientID: s.opts.ClientID}
	return s.rotateLocked(c)
}

// rotateLocked gives c a new current refresh token.
func (s *Sandbox) rotateLocked(c *chain) string {
	rt := randomToken("Gcp7!IAAA", 96)
	c.current = rt
	c.refreshExpiry = s.clock.Now().Add(s.opts.RefreshTokenLifetime)
	s.tokens.refresh[rt] = c
	return rt
}

// issueAccessLocked gives c a new access token.
func (s *Sandbox) issueAccessLocked(c *chain) string {
	at := randomToken("AAEAA", 160)
	exp := s.clock.Now().Add(s.opts.TokenLifetime)
	c.accessExpiry = exp
	s.tokens.access[at] = &accessToken{chain: c, expires: exp}
	return at
}

// authenticate returns the client id behind the request's bearer token.
func (s *Sandbox) authenticate(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !equalFoldASCII(h[:len(p)], p) {
		return "", false
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	at, ok := s.tokens.access[h[len(p):]]
	if !ok || !s.clock.Now().Before(at.expires) {
		return "", false
	}
	return at.chain.clientID, true
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

var consentPage = template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html><head><title>Exact Online sandbox: authorize</title></head>
<body>
<h1>Exact Online sandbox</h1>
<p>The application <b>{{.ClientID}}</b> asks for access to division {{.Division}}.</p>
<form method="post" action="/api/oauth2/auth">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="state" value="{{.State}}">
<button type="submit" name="approve" value="1">Authorize</button>
</form>
</body></html>
`))

// DefaultHTTPSRedirectURL is an https redirect URL registered for the
// sandbox's client besides Options.RedirectURL, as apps registered at Exact
// since 2021 must use https (exact-online-api.md §5): `exactql auth` then
// takes the redirected URL pasted back instead of listening for it.
const DefaultHTTPSRedirectURL = "https://exactql.invalid/exact/callback"

// registeredRedirect reports whether uri is one of the client's redirect
// URLs; like Exact, the match is exact.
func (s *Sandbox) registeredRedirect(uri string) bool {
	if uri == "" {
		return false
	}
	if uri == s.opts.RedirectURL || uri == DefaultHTTPSRedirectURL {
		return true
	}
	for _, r := range s.opts.RedirectURLs {
		if uri == r {
			return true
		}
	}
	return false
}

// RedirectURLs returns every redirect URL registered for the client:
// Options.RedirectURL first, then DefaultHTTPSRedirectURL and
// Options.RedirectURLs.
func (s *Sandbox) RedirectURLs() []string {
	return append([]string{s.opts.RedirectURL, DefaultHTTPSRedirectURL}, s.opts.RedirectURLs...)
}

// handleAuth serves the consent page (GET) and grants a code (POST, or GET
// with approve=1) by redirecting to redirect_uri with code and state.
func (s *Sandbox) handleAuth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	clientID, redirectURI := r.Form.Get("client_id"), r.Form.Get("redirect_uri")
	if clientID != s.opts.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	if !s.registeredRedirect(redirectURI) {
		http.Error(w, "redirect_uri does not match the registered one", http.StatusBadRequest)
		return
	}
	if rt := r.Form.Get("response_type"); rt != "code" {
		http.Error(w, "unsupported response_type", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodGet && r.Form.Get("approve") != "1" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = consentPage.Execute(w, map[string]any{
			"ClientID": clientID, "RedirectURI": redirectURI, "State": r.Form.Get("state"), "Division": s.division,
		})
		return
	}
	code := randomToken("OAAA!", 48)
	s.tokens.mu.Lock()
	s.tokens.codes[code] = &authCode{clientID: clientID, redirectURI: redirectURI, expires: s.clock.Now().Add(s.opts.CodeLifetime)}
	s.tokens.mu.Unlock()
	u, err := url.Parse(redirectURI)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	q := u.Query()
	q.Set("code", code)
	if st := r.Form.Get("state"); st != "" {
		q.Set("state", st)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    string `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// handleToken implements POST /api/oauth2/token for the authorization_code
// and refresh_token grants. Client credentials may come as form fields or
// HTTP Basic auth.
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "Use POST.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Malformed form body.")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	now := s.clock.Now()
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	var c *chain
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code, found := s.tokens.codes[r.PostForm.Get("code")]
		switch {
		case !found:
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid authorization code.")
			return
		case code.used:
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code already used.")
			return
		case !now.Before(code.expires):
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code expired.")
			return
		case code.redirectURI != r.PostForm.Get("redirect_uri"):
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match.")
			return
		}
		code.used = true
		c = &chain{clientID: id}
		s.log.count(func(st *Stats) { st.CodeExchanges++ })
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		c = s.tokens.refresh[rt]
		switch {
		case c == nil:
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token.")
			return
		case c.revoked:
			writeOAuthError(w, http.StatusUnauthorized, "unauthorized_client", "The refresh token has been revoked.")
			return
		case c.current != rt:
			s.log.count(func(st *Stats) { st.OldTokenReuses++ })
			writeOAuthError(w, http.StatusUnauthorized, "unauthorized_client", "Old refresh token used.")
			return
		case !now.Before(c.refreshExpiry):
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The refresh token expired at "+
				c.refreshExpiry.Format("1/2/2006 3:04:05 PM")+" and it is now "+now.Format("1/2/2006 3:04:05 PM")+".")
			return
		case c.accessExpiry.Sub(now) > s.opts.RefreshWindow:
			s.log.count(func(st *Stats) { st.TooEarlyRefreshes++ })
			w.Header().Set("Reason", "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired")
			writeOAuthError(w, http.StatusBadRequest, "access_denied", "Rate limit exceeded: access_token not expired")
			return
		}
		s.log.count(func(st *Stats) { st.TokenRefreshes++ })
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Supported grants: authorization_code, refresh_token.")
		return
	}
	resp := tokenResponse{
		AccessToken:  s.issueAccessLocked(c),
		TokenType:    "bearer",
		ExpiresIn:    strconv.FormatInt(int64(s.opts.TokenLifetime/time.Second), 10),
		RefreshToken: s.rotateLocked(c),
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(resp)
}
