package playground

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// get fetches path from a real loopback server running h.
func get(t *testing.T, srv *httptest.Server, p string) (*http.Response, []byte) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + p)
	if err != nil {
		t.Fatalf("GET %s: %v", p, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", p, err)
	}
	return res, body
}

var (
	// attrURL finds URL-carrying attributes in the page.
	attrURL = regexp.MustCompile(`(?i)<(\w+)[^>]*?\s(src|href|action|poster|data|srcset|formaction)\s*=\s*"([^"]*)"`)
	// cssURL finds url(...) references in a stylesheet.
	cssURL = regexp.MustCompile(`url\(\s*["']?([^"')]*)`)
	// absURL finds absolute http(s) URLs and protocol-relative ones.
	absURL = regexp.MustCompile("(?i)(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}[^\\s\"'`)<>\\\\]*|https?://")
)

func TestPageAndEveryAssetAreServedLocally(t *testing.T) {
	srv := httptest.NewServer(Handler(Options{}))
	defer srv.Close()

	res, page := get(t, srv, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET / status = %d, want 200", res.StatusCode)
	}
	if got := res.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("GET / Content-Type = %q, want text/html; charset=utf-8", got)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("GET / Cache-Control = %q, want no-store", got)
	}
	if m := absURL.FindAll(page, -1); len(m) > 0 {
		t.Errorf("page holds absolute or protocol-relative URLs: %q", m)
	}

	// Every URL in the page, by element: exactly our scripts and styles.
	type ref struct{ Tag, URL string }
	var refs []ref
	for _, m := range attrURL.FindAllSubmatch(page, -1) {
		refs = append(refs, ref{strings.ToLower(string(m[1])), string(m[3])})
	}
	var names []string
	for _, r := range refs {
		names = append(names, r.Tag+" "+path.Base(r.URL))
	}
	wantNames := []string{
		"link data:,",
		"link graphiql.min.css",
		"link playground.css",
		"script react.production.min.js",
		"script react-dom.production.min.js",
		"script graphiql.min.js",
		"script boot.js",
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("URLs in the page (-want +got):\n%s", diff)
	}

	wantType := map[string]string{
		"script": "text/javascript; charset=utf-8",
		"link":   "text/css; charset=utf-8",
	}
	for _, r := range refs {
		if r.URL == "data:," {
			continue // the empty icon; fetches nothing
		}
		if !strings.HasPrefix(r.URL, AssetsPrefix) || strings.HasPrefix(r.URL, "//") {
			t.Errorf("%s URL %q is not a path under %s", r.Tag, r.URL, AssetsPrefix)
			continue
		}
		res, body := get(t, srv, r.URL)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s status = %d, want 200", r.URL, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != wantType[r.Tag] {
			t.Errorf("GET %s Content-Type = %q, want %q", r.URL, got, wantType[r.Tag])
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s Cache-Control = %q, want immutable", r.URL, got)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s X-Content-Type-Options = %q, want nosniff", r.URL, got)
		}
		if len(body) == 0 {
			t.Errorf("GET %s: empty body", r.URL)
		}
		if r.Tag == "link" {
			// A stylesheet may only refer to data: URLs (GraphiQL inlines its fonts).
			for _, m := range cssURL.FindAllSubmatch(body, -1) {
				if u := string(m[1]); !strings.HasPrefix(u, "data:") {
					t.Errorf("%s refers to %q, which the page would fetch", r.URL, u)
				}
			}
			if bytes.Contains(body, []byte("@import")) {
				t.Errorf("%s uses @import", r.URL)
			}
		}
	}
}

// knownURLPrefixes are the absolute URLs the vendored bundles contain as of
// graphiql 4.1.2 and React 18.2.0. None is fetched: XML namespace names, links
// a user may click in dialogs, hints in error messages, and linkify's "http://"
// prefix. A refresh that brings a new one fails here, so that it is looked at
// (a CDN URL for workers or fonts would break the offline playground).
var knownURLPrefixes = []string{
	"http://www.w3.org/",
	"https://codemirror.net/5/doc/manual.html",
	"https://commonmark.org/",
	"https://en.wikipedia.org/wiki/IEEE_floating_point",
	"https://github.com/graphql/graphiql",
	"https://github.com/jonschlinkert",
	"https://radix-ui.com/primitives/docs/components/",
	"https://reactjs.org/docs/error-decoder.html",
}

func TestAssetsFetchNothingFromOtherHosts(t *testing.T) {
	b, err := loadBundle()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for name, a := range b.assets {
		for _, m := range absURL.FindAll(a.body, -1) {
			u := string(m)
			if u == "http://" || u == "https://" {
				continue
			}
			found++
			known := false
			for _, p := range knownURLPrefixes {
				known = known || strings.HasPrefix(u, p)
			}
			if !known {
				t.Errorf("%s contains the URL %q: check whether it is fetched at run time", name, u)
			}
		}
		for _, marker := range []string{"importScripts(", "new Worker(", "sourceMappingURL="} {
			if bytes.Contains(a.body, []byte(marker)) {
				t.Errorf("%s contains %q", name, marker)
			}
		}
	}
	if found == 0 {
		t.Error("found no URL strings at all in the bundles; the scan is broken")
	}
}

func TestVendoredAssetsMatchChecksums(t *testing.T) {
	f, err := os.Open("assets/SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := loadBundle()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("malformed SHA256SUMS line %q", sc.Text())
		}
		a, found := b.assets[name]
		if !found {
			t.Errorf("%s is listed but not served", name)
			continue
		}
		got := sha256.Sum256(a.body)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s differs from the vendored file", name)
		}
		listed = append(listed, name)
		if _, err := os.Stat("assets/licenses/" + strings.SplitN(name, ".", 2)[0] + "-LICENSE"); err != nil {
			t.Errorf("%s has no licence file: %v", name, err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(listed)
	want := []string{"graphiql.min.css", "graphiql.min.js", "react-dom.production.min.js", "react.production.min.js"}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("SHA256SUMS (-want +got):\n%s", diff)
	}
}

// pageConfigOf extracts and decodes the settings block of a page.
func pageConfigOf(t *testing.T, page []byte) pageConfig {
	t.Helper()
	const open = `<script id="exactql-playground-config" type="application/json">`
	_, rest, ok := bytes.Cut(page, []byte(open))
	if !ok {
		t.Fatalf("page has no settings block:\n%s", page)
	}
	block, _, ok := bytes.Cut(rest, []byte("</script>"))
	if !ok {
		t.Fatal("settings block is not closed")
	}
	var cfg pageConfig
	if err := json.Unmarshal(block, &cfg); err != nil {
		t.Fatalf("settings block %q: %v", block, err)
	}
	return cfg
}

func TestPageSettingsAreEncodedSafely(t *testing.T) {
	hostile := "Bearer x</script><script>alert(1)</script><!--\u2028\u2029&amp;'\""
	o := Options{
		Endpoint:       "/graphql?a=1&b=</script>",
		Title:          "shop </title><script>alert(1)</script>",
		DefaultHeaders: map[string]string{"Authorization": hostile, "X-Demo": "é"},
		DefaultQuery:   "{ products { nodes { code } } } # </script>",
	}
	srv := httptest.NewServer(Handler(o))
	defer srv.Close()
	res, page := get(t, srv, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", res.StatusCode)
	}
	if n := bytes.Count(page, []byte("<script")); n != 5 {
		t.Errorf("page has %d <script elements, want 5 (settings + 4 files)", n)
	}
	if n := bytes.Count(page, []byte("</script>")); n != 5 {
		t.Errorf("page has %d </script> tags, want 5", n)
	}
	for _, bad := range []string{"<!--", "\u2028", "\u2029", "alert(1)</script>", "</title><script>"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	if !bytes.Contains(page, []byte("<title>shop &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>")) {
		t.Error("title is not HTML-escaped")
	}
	cfg := pageConfigOf(t, page)
	nonce := cfg.StyleNonce
	cfg.StyleNonce = ""
	want := pageConfig{Endpoint: o.Endpoint, DefaultQuery: o.DefaultQuery, DefaultHeaders: o.DefaultHeaders}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if nonce == "" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "'nonce-"+nonce+"'") {
		t.Errorf("style nonce %q is not the one in the policy %q", nonce, res.Header.Get("Content-Security-Policy"))
	}
}

func TestPageDefaults(t *testing.T) {
	srv := httptest.NewServer(Handler(Options{}))
	defer srv.Close()
	_, page := get(t, srv, "/")
	cfg := pageConfigOf(t, page)
	if cfg.Endpoint != DefaultEndpoint || cfg.DefaultQuery != DefaultQuery || len(cfg.DefaultHeaders) != 0 {
		t.Errorf("settings = %+v, want the defaults and no headers", cfg)
	}
	if !bytes.Contains(page, []byte("<title>"+DefaultTitle+"</title>")) {
		t.Error("default title missing")
	}
	for _, field := range []string{"price(", "unitPrice", "stock", "availableQuantity"} {
		if !strings.Contains(DefaultQuery, field) {
			t.Errorf("DefaultQuery does not ask for %s", field)
		}
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	srv := httptest.NewServer(Handler(Options{}))
	defer srv.Close()
	res1, _ := get(t, srv, "/")
	res2, _ := get(t, srv, "/")
	csp := res1.Header.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	nonce := strings.TrimSuffix(strings.TrimPrefix(strings.Fields(directives["style-src"])[1], "'nonce-"), "'")
	want := map[string]string{
		"default-src":     "'none'",
		"script-src":      "'self'",
		"style-src":       "'self' 'nonce-" + nonce + "'",
		"connect-src":     "'self'",
		"img-src":         "'self' data:",
		"font-src":        "'self' data:",
		"base-uri":        "'none'",
		"form-action":     "'none'",
		"frame-ancestors": "'none'",
	}
	if diff := cmp.Diff(want, directives); diff != "" {
		t.Errorf("Content-Security-Policy %q (-want +got):\n%s", csp, diff)
	}
	if len(nonce) < 16 {
		t.Errorf("nonce %q is too short", nonce)
	}
	if res2.Header.Get("Content-Security-Policy") == csp {
		t.Error("two responses share a nonce")
	}
}

func TestRouting(t *testing.T) {
	b, err := loadBundle()
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(Options{})
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodHead, "/", http.StatusOK},
		{http.MethodHead, AssetsPrefix + b.version + "/boot.js", http.StatusOK},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodGet, "/graphql", http.StatusNotFound},
		{http.MethodGet, AssetsPrefix, http.StatusNotFound},
		{http.MethodGet, AssetsPrefix + b.version + "/", http.StatusNotFound},
		{http.MethodGet, AssetsPrefix + b.version + "/nope.js", http.StatusNotFound},
		{http.MethodGet, AssetsPrefix + b.version + "/../boot.js", http.StatusNotFound},
		{http.MethodGet, AssetsPrefix + "0000000000000000/boot.js", http.StatusNotFound},
		{http.MethodGet, AssetsPrefix + "boot.js", http.StatusNotFound},
		{http.MethodGet, AssetsPrefix + b.version + "/sub/boot.js", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/", nil)
			req.URL.Path = tt.path // unclean paths as a router might pass them
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status = %d, want %d", rec.Code, tt.want)
			}
			if tt.want == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q, want GET, HEAD", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr bool
	}{
		{name: "zero", o: Options{}},
		{name: "path endpoint", o: Options{Endpoint: "/api/graphql", DefaultHeaders: map[string]string{"Authorization": "Bearer a.b.c"}}},
		{name: "absolute endpoint", o: Options{Endpoint: "https://other.example/graphql"}, wantErr: true},
		{name: "protocol-relative endpoint", o: Options{Endpoint: "//other.example/graphql"}, wantErr: true},
		{name: "relative endpoint", o: Options{Endpoint: "graphql"}, wantErr: true},
		{name: "backslash endpoint", o: Options{Endpoint: "/\\other.example"}, wantErr: true},
		{name: "javascript endpoint", o: Options{Endpoint: "javascript:alert(1)"}, wantErr: true},
		{name: "bad header name", o: Options{DefaultHeaders: map[string]string{"Bad Name": "x"}}, wantErr: true},
		{name: "empty header name", o: Options{DefaultHeaders: map[string]string{"": "x"}}, wantErr: true},
		{name: "newline in header value", o: Options{DefaultHeaders: map[string]string{"Authorization": "Bearer x\r\nX-Evil: 1"}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if tt.wantErr != (err != nil) {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Validate() = %v, want it to wrap ErrInvalidOptions", err)
			}
			if err != nil && strings.Contains(err.Error(), "Bearer") {
				t.Errorf("Validate() = %v leaks a header value", err)
			}
			rec := httptest.NewRecorder()
			Handler(tt.o).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if want := map[bool]int{false: http.StatusOK, true: http.StatusInternalServerError}[tt.wantErr]; rec.Code != want {
				t.Errorf("Handler status = %d, want %d", rec.Code, want)
			}
			if tt.wantErr && strings.Contains(rec.Body.String(), "Bearer") {
				t.Error("misconfigured handler leaks a header value")
			}
		})
	}
}

func TestScriptJSON(t *testing.T) {
	got, err := scriptJSON(map[string]string{"k": "</script><!-- & > \u2028\u2029"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"k":"\u003c/script\u003e\u003c!-- \u0026 \u003e \u2028\u2029"}`
	if string(got) != want {
		t.Errorf("scriptJSON = %s, want %s", got, want)
	}
	if _, err := scriptJSON(func() {}); err == nil {
		t.Error("scriptJSON(func) succeeded, want an error")
	}
}
