package sandbox

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize walks the consent page and returns the code from the redirect.
func (e *env) authorize(t *testing.T, state string) string {
	t.Helper()
	v := url.Values{"client_id": {e.sb.ClientID()}, "redirect_uri": {e.sb.RedirectURL()},
		"response_type": {"code"}, "state": {state}}
	resp, err := http.Get(e.srv.URL + "/api/oauth2/auth?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Authorize") || !strings.Contains(string(page), `<form method="post"`) {
		t.Fatalf("consent page: %d %s", resp.StatusCode, page)
	}
	resp, err = noRedirect.PostForm(e.srv.URL+"/api/oauth2/auth", v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("approve: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != e.sb.RedirectURL() {
		t.Errorf("redirect to %q, want %q", got, e.sb.RedirectURL())
	}
	if got := loc.Query().Get("state"); got != state {
		t.Errorf("state = %q, want %q", got, state)
	}
	code := loc.Query().Get("code")
	if !strings.Contains(code, "!") {
		t.Errorf("code %q has no '!'", code)
	}
	return code
}

func (e *env) codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.sb.RedirectURL()},
		"client_id": {e.sb.ClientID()}, "client_secret": {e.sb.ClientSecret()}}
}

func TestAuthorizationCode(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(e *env, form url.Values)
		wantStatus int
		wantError  string
	}{
		{name: "ok", wantStatus: 200},
		{name: "reused code", prepare: func(e *env, form url.Values) {
			if r := e.postToken(t, form); r.status != 200 {
				t.Fatalf("first exchange: %d", r.status)
			}
		}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "expired code", prepare: func(e *env, _ url.Values) { e.clock.Advance(3*time.Minute + time.Second) },
			wantStatus: 400, wantError: "invalid_grant"},
		{name: "just before expiry", prepare: func(e *env, _ url.Values) { e.clock.Advance(3*time.Minute - time.Second) },
			wantStatus: 200},
		{name: "wrong secret", prepare: func(_ *env, form url.Values) { form.Set("client_secret", "nope") },
			wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong client", prepare: func(_ *env, form url.Values) { form.Set("client_id", "other") },
			wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong redirect", prepare: func(_ *env, form url.Values) { form.Set("redirect_uri", "http://evil/") },
			wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown code", prepare: func(_ *env, form url.Values) { form.Set("code", "x!y") },
			wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown grant", prepare: func(_ *env, form url.Values) { form.Set("grant_type", "client_credentials") },
			wantStatus: 400, wantError: "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			form := e.codeForm(e.authorize(t, "st-1"))
			if tt.prepare != nil {
				tt.prepare(e, form)
			}
			r := e.postToken(t, form)
			if r.status != tt.wantStatus || r.body["error"] != tt.wantError {
				t.Fatalf("got %d %v, want %d %q", r.status, r.body, tt.wantStatus, tt.wantError)
			}
			if tt.wantStatus != 200 {
				return
			}
			if r.body["token_type"] != "bearer" || r.body["expires_in"] != "600" ||
				!strings.Contains(r.body["refresh_token"], "!") || r.body["access_token"] == "" {
				t.Errorf("token response %v", r.body)
			}
			if got := e.get(t, "/api/v1/current/Me", r.body["access_token"]); got.status != 200 {
				t.Errorf("Me with new token: %d %s", got.status, got.body)
			}
		})
	}
}

func TestAuthPageRejectsUnknownClient(t *testing.T) {
	e := newEnv(t, nil)
	for name, v := range map[string]url.Values{
		"client":   {"client_id": {"x"}, "redirect_uri": {e.sb.RedirectURL()}, "response_type": {"code"}},
		"redirect": {"client_id": {e.sb.ClientID()}, "redirect_uri": {"http://evil/"}, "response_type": {"code"}},
		"type":     {"client_id": {e.sb.ClientID()}, "redirect_uri": {e.sb.RedirectURL()}, "response_type": {"token"}},
	} {
		resp, err := noRedirect.Get(e.srv.URL + "/api/oauth2/auth?approve=1&" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
}

func TestRefreshRules(t *testing.T) {
	const reason = "TooEarlyToRefreshTokens: Rate limit exceeded: access_token not expired"
	type outcome struct {
		Status int
		Error  string
		Desc   string
		Reason string
	}
	tests := []struct {
		name string
		// run returns the result of the refresh under test.
		run       func(t *testing.T, e *env) tokenResult
		want      outcome
		wantDesc  string // prefix, when Desc varies
		wantStats Stats
	}{
		{
			name: "issued token refreshes at once",
			run: func(t *testing.T, e *env) tokenResult {
				return e.postToken(t, e.refreshForm(e.sb.IssueRefreshToken()))
			},
			want:      outcome{Status: 200},
			wantStats: Stats{TokenRefreshes: 1, TokenCalls: 1},
		},
		{
			name: "too early",
			run: func(t *testing.T, e *env) tokenResult {
				_, rt := e.token(t)
				e.clock.Advance(600*time.Second - 31*time.Second)
				return e.postToken(t, e.refreshForm(rt))
			},
			want:      outcome{Status: 400, Error: "access_denied", Desc: "Rate limit exceeded: access_token not expired", Reason: reason},
			wantStats: Stats{TokenRefreshes: 1, TokenCalls: 2, TooEarlyRefreshes: 1},
		},
		{
			name: "in the refresh window",
			run: func(t *testing.T, e *env) tokenResult {
				_, rt := e.token(t)
				e.clock.Advance(600*time.Second - 30*time.Second)
				return e.postToken(t, e.refreshForm(rt))
			},
			want:      outcome{Status: 200},
			wantStats: Stats{TokenRefreshes: 2, TokenCalls: 2},
		},
		{
			name: "too-early refusal keeps the token usable",
			run: func(t *testing.T, e *env) tokenResult {
				_, rt := e.token(t)
				if r := e.postToken(t, e.refreshForm(rt)); r.status != 400 {
					t.Fatalf("early refresh: %d", r.status)
				}
				e.clock.Advance(600 * time.Second)
				return e.postToken(t, e.refreshForm(rt))
			},
			want:      outcome{Status: 200},
			wantStats: Stats{TokenRefreshes: 2, TokenCalls: 3, TooEarlyRefreshes: 1},
		},
		{
			name: "old refresh token",
			run: func(t *testing.T, e *env) tokenResult {
				old := e.sb.IssueRefreshToken()
				if r := e.postToken(t, e.refreshForm(old)); r.status != 200 {
					t.Fatalf("first refresh: %d", r.status)
				}
				e.clock.Advance(time.Hour)
				return e.postToken(t, e.refreshForm(old))
			},
			want:      outcome{Status: 401, Error: "unauthorized_client", Desc: "Old refresh token used."},
			wantStats: Stats{TokenRefreshes: 1, TokenCalls: 2, OldTokenReuses: 1},
		},
		{
			name: "expired refresh token",
			run: func(t *testing.T, e *env) tokenResult {
				rt := e.sb.IssueRefreshToken()
				e.clock.Advance(30*24*time.Hour + time.Second)
				return e.postToken(t, e.refreshForm(rt))
			},
			want:      outcome{Status: 400, Error: "invalid_request"},
			wantDesc:  "The refresh token expired at ",
			wantStats: Stats{TokenCalls: 1},
		},
		{
			name: "revoked",
			run: func(t *testing.T, e *env) tokenResult {
				rt := e.sb.IssueRefreshToken()
				e.sb.Faults().RevokeRefreshTokens()
				return e.postToken(t, e.refreshForm(rt))
			},
			want:      outcome{Status: 401, Error: "unauthorized_client", Desc: "The refresh token has been revoked."},
			wantStats: Stats{TokenCalls: 1},
		},
		{
			name: "wrong secret",
			run: func(t *testing.T, e *env) tokenResult {
				f := e.refreshForm(e.sb.IssueRefreshToken())
				f.Set("client_secret", "guess")
				return e.postToken(t, f)
			},
			want:      outcome{Status: 401, Error: "invalid_client", Desc: "Client authentication failed."},
			wantStats: Stats{TokenCalls: 1},
		},
		{
			name: "unknown refresh token",
			run: func(t *testing.T, e *env) tokenResult {
				return e.postToken(t, e.refreshForm("Gcp7!nothing"))
			},
			want:      outcome{Status: 400, Error: "invalid_grant", Desc: "Invalid refresh token."},
			wantStats: Stats{TokenCalls: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			r := tt.run(t, e)
			got := outcome{Status: r.status, Error: r.body["error"], Desc: r.body["error_description"], Reason: r.header.Get("Reason")}
			want := tt.want
			if tt.wantDesc != "" && strings.HasPrefix(got.Desc, tt.wantDesc) {
				want.Desc = got.Desc
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("refresh (-want +got):\n%s", diff)
			}
			if r.status == 200 && (r.body["expires_in"] != "600" || !strings.Contains(r.body["refresh_token"], "!")) {
				t.Errorf("token body %v", r.body)
			}
			st := e.sb.Stats()
			st.Calls = nil
			if diff := cmp.Diff(tt.wantStats, st); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRotationChain(t *testing.T) {
	e := newEnv(t, nil)
	at1, rt1 := e.token(t)
	e.clock.Advance(580 * time.Second)
	r := e.postToken(t, e.refreshForm(rt1))
	if r.status != 200 {
		t.Fatalf("second refresh: %d %v", r.status, r.body)
	}
	at2, rt2 := r.body["access_token"], r.body["refresh_token"]
	if at2 == at1 || rt2 == rt1 {
		t.Fatal("tokens did not rotate")
	}
	// Both access tokens work until their own expiry.
	if got := e.get(t, "/api/v1/current/Me", at1); got.status != 200 {
		t.Errorf("old access token before expiry: %d", got.status)
	}
	e.clock.Advance(20 * time.Second) // at1 is 600 s old now
	if got := e.get(t, "/api/v1/current/Me", at1); got.status != 401 {
		t.Errorf("expired access token: %d, want 401", got.status)
	} else if msg := got.errMsg(t); !strings.Contains(msg, "Unauthorized") {
		t.Errorf("401 body %q", msg)
	}
	if got := e.get(t, "/api/v1/current/Me", at2); got.status != 200 {
		t.Errorf("new access token: %d", got.status)
	}
	if got := e.get(t, "/api/v1/current/Me", "made-up"); got.status != 401 {
		t.Errorf("unknown access token: %d, want 401", got.status)
	}
	if got := e.get(t, "/api/v1/current/Me", ""); got.status != 401 {
		t.Errorf("no access token: %d, want 401", got.status)
	}
}

func TestTokenBasicAuth(t *testing.T) {
	e := newEnv(t, nil)
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {e.sb.IssueRefreshToken()}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(e.sb.ClientID()), url.QueryEscape(e.sb.ClientSecret()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("basic auth refresh: %d", resp.StatusCode)
	}
}

// TestHTTPSRedirectRegistered: the sandbox's client has an https redirect
// URL registered besides the loopback one (apps registered at Exact since
// 2021 must use https), plus any in Options.RedirectURLs; a code is only
// exchanged with the redirect URL it was issued for, and unregistered
// https URLs are refused.
func TestHTTPSRedirectRegistered(t *testing.T) {
	const extra = "https://shop.example/exact/cb"
	e := newEnv(t, func(o *Options) { o.RedirectURLs = []string{extra} })
	if got, want := e.sb.RedirectURLs(), []string{DefaultRedirectURL, DefaultHTTPSRedirectURL, extra}; !cmp.Equal(got, want) {
		t.Errorf("RedirectURLs() = %v, want %v", got, want)
	}
	for _, redirect := range []string{DefaultHTTPSRedirectURL, extra} {
		t.Run(redirect, func(t *testing.T) {
			v := url.Values{"client_id": {e.sb.ClientID()}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s1"}}
			resp, err := noRedirect.PostForm(e.srv.URL+"/api/oauth2/auth", v)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("approve: %d", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirect || loc.Query().Get("state") != "s1" {
				t.Fatalf("redirected to %q", loc)
			}
			form := e.codeForm(loc.Query().Get("code"))
			form.Set("redirect_uri", DefaultRedirectURL) // not the one the code was issued for
			if r := e.postToken(t, form); r.status != 400 || r.body["error"] != "invalid_grant" {
				t.Errorf("exchange with another redirect URL: %d %v", r.status, r.body)
			}
			form.Set("redirect_uri", redirect)
			if r := e.postToken(t, form); r.status != 200 || r.body["refresh_token"] == "" {
				t.Errorf("exchange: %d %v", r.status, r.body)
			}
		})
	}
	for _, bad := range []string{"https://shop.example/exact/cb/", "https://evil.example/exact/callback", "http://exactql.invalid/exact/callback"} {
		v := url.Values{"client_id": {e.sb.ClientID()}, "redirect_uri": {bad}, "response_type": {"code"}, "approve": {"1"}}
		resp, err := noRedirect.Get(e.srv.URL + "/api/oauth2/auth?" + v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("unregistered %q: status %d, want 400", bad, resp.StatusCode)
		}
	}
}
