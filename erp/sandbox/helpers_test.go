package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

// t0 is the fake clock's start: 30 s into a minute, so windows are visible.
var t0 = time.Date(2026, 3, 10, 10, 0, 30, 0, time.UTC)

type env struct {
	sb    *Sandbox
	srv   *httptest.Server
	clock *FakeClock
}

// newEnv starts a sandbox with a small data set on a fake clock.
func newEnv(t *testing.T, mod func(*Options), setup ...func(*Sandbox)) *env {
	t.Helper()
	clock := NewFakeClock(t0)
	opts := Options{
		Data:  gen.Options{Seed: 7, Items: 150, Customers: 30, Warehouses: 2, Today: t0},
		Clock: clock,
	}
	if mod != nil {
		mod(&opts)
	}
	sb := New(opts)
	for _, f := range setup {
		f(sb)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, clock: clock}
}

type tokenResult struct {
	status int
	header http.Header
	body   map[string]string
}

// postToken posts form to the token endpoint.
func (e *env) postToken(t *testing.T, form url.Values) tokenResult {
	t.Helper()
	resp, err := http.PostForm(e.srv.URL+"/api/oauth2/token", form)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := tokenResult{status: resp.StatusCode, header: resp.Header, body: map[string]string{}}
	if err := json.Unmarshal(b, &res.body); err != nil {
		t.Fatalf("token body %q: %v", b, err)
	}
	return res
}

func (e *env) refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {e.sb.ClientID()}, "client_secret": {e.sb.ClientSecret()}}
}

// token returns a fresh access token (and its refresh token).
func (e *env) token(t *testing.T) (access, refresh string) {
	t.Helper()
	res := e.postToken(t, e.refreshForm(e.sb.IssueRefreshToken()))
	if res.status != 200 {
		t.Fatalf("refresh: %d %v", res.status, res.body)
	}
	return res.body["access_token"], res.body["refresh_token"]
}

type apiResult struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResult) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// errMsg returns error.message.value of an Exact error body.
func (r apiResult) errMsg(t *testing.T) string {
	t.Helper()
	var e exactError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return e.Error.Message.Value
}

// do sends a request with a bearer token (none when token is "") and Accept: application/json.
func (e *env) do(t *testing.T, method, rawURL, token string, body string, hdr map[string]string) apiResult {
	t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = e.srv.URL + rawURL
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResult{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) get(t *testing.T, path, token string) apiResult {
	t.Helper()
	return e.do(t, http.MethodGet, path, token, "", nil)
}

// api prefixes a path with /api/v1/{division}/.
func (e *env) api(path string) string {
	return "/api/v1/" + itoa(e.sb.Division()) + "/" + path
}

func itoa(n int) string { return strconv.Itoa(n) }

// q builds a query string from key/value pairs, escaping values.
func q(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+url.QueryEscape(kv[i+1]))
	}
	return "?" + strings.Join(parts, "&")
}

// page is a decoded collection page.
type page struct {
	D struct {
		Results []map[string]any `json:"results"`
		Next    string           `json:"__next"`
		Count   string           `json:"__count"`
	} `json:"d"`
}

func (r apiResult) page(t *testing.T) page {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var p page
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("page %q: %v", r.body, err)
	}
	return p
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }
