// Package playground serves the GraphiQL playground: our own small HTML page
// at / and the vendored GraphiQL, React and ReactDOM browser bundles, embedded
// in the binary, under AssetsPrefix. Nothing is loaded from another host, so
// the playground works with no internet access; a Content-Security-Policy
// makes the browser enforce that.
package playground

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// AssetsPrefix is the path under which Handler serves the page's scripts and
// styles, as AssetsPrefix + version + "/" + file name. A router mounting
// Handler must send it "/" and everything under AssetsPrefix.
const AssetsPrefix = "/playground/assets/"

// DefaultEndpoint is the GraphQL endpoint the page talks to when
// Options.Endpoint is empty.
const DefaultEndpoint = "/graphql"

// DefaultTitle is the page title when Options.Title is empty.
const DefaultTitle = "exactql playground"

// DefaultQuery is the query in the editor when Options.DefaultQuery is empty:
// a page of products with the caller's prices and the stock.
const DefaultQuery = `# Welcome to the exactql playground.
#
# Run the query with the play button or Ctrl-Enter. Prices need a buyer's
# token in the Authorization header (see the Headers tab below); without one
# price is null unless public prices are enabled.

query Products {
  products(first: 5) {
    nodes {
      code
      description
      unit
      price(quantity: "1") {
        unitPrice { amount currencyCode }
        listPrice { amount currencyCode }
        discountPercentage
        source
        validUntil
      }
      availableQuantity
      stock {
        warehouse { code description }
        available
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
`

// ErrInvalidOptions is wrapped by the errors Options.Validate returns.
var ErrInvalidOptions = errors.New("invalid playground options")

// Options configures the playground page.
type Options struct {
	// Endpoint is the GraphQL endpoint, a path on the same host such as
	// "/graphql" (the default). The page's policy only lets it connect to its
	// own origin, so another host is refused by Validate.
	Endpoint string
	// Title is the page title; DefaultTitle when empty.
	Title string
	// DefaultHeaders fill the headers editor of every tab, e.g. in sandbox
	// mode {"Authorization": "Bearer <demo buyer's token>"}. They are written
	// into the page, so they must only hold what every visitor may see.
	DefaultHeaders map[string]string
	// DefaultQuery is the query in a new tab; DefaultQuery (the constant)
	// when empty.
	DefaultQuery string
}

// Validate reports whether o can be served, with an error wrapping
// ErrInvalidOptions when not. Handler answers every request with 500 for
// options that do not validate, so callers should validate at start-up.
func (o Options) Validate() error {
	if e := o.Endpoint; e != "" {
		if !strings.HasPrefix(e, "/") || strings.HasPrefix(e, "//") || strings.ContainsAny(e, "\\\x00\r\n\t ") {
			return fmt.Errorf("playground.Options.Validate: endpoint %q is not a path on this host: %w", e, ErrInvalidOptions)
		}
	}
	for name, value := range o.DefaultHeaders {
		if !validHeaderName(name) {
			return fmt.Errorf("playground.Options.Validate: header name %q: %w", name, ErrInvalidOptions)
		}
		// The value is not quoted in the error: it may be a token.
		for _, c := range value {
			if c == 0x7f || (c < 0x20 && c != '\t') {
				return fmt.Errorf("playground.Options.Validate: value of header %q holds a control character: %w", name, ErrInvalidOptions)
			}
		}
	}
	return nil
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2), the
// only header names fetch accepts.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

//go:embed assets/*.js assets/*.css web/*.js web/*.css
var files embed.FS

// asset is one served file.
type asset struct {
	body        []byte
	contentType string
}

// bundle is every served file by name, and the version that goes into their
// URLs: a digest of names and contents, so a changed file gets a new URL and
// the long-lived caching below is safe.
type bundle struct {
	assets  map[string]asset
	version string
}

var loadBundle = sync.OnceValues(func() (*bundle, error) {
	b := &bundle{assets: map[string]asset{}}
	var names []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := path.Base(p)
		if _, dup := b.assets[name]; dup {
			return fmt.Errorf("two embedded files named %q", name)
		}
		var ct string
		switch path.Ext(name) {
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		default:
			return fmt.Errorf("embedded file %q has no known content type", name)
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		b.assets[name] = asset{body: body, contentType: ct}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("playground.loadBundle: %w", err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b.assets[n].body))
		h.Write(b.assets[n].body)
	}
	b.version = hex.EncodeToString(h.Sum(nil))[:16]
	return b, nil
})

// pageTemplate is the playground page. The settings go into a JSON data block
// (not executed, so the policy needs no inline script) that web/boot.js reads.
// The empty data: icon keeps browsers from asking for /favicon.ico.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{.Assets}}graphiql.min.css">
<link rel="stylesheet" href="{{.Assets}}playground.css">
</head>
<body>
<div id="graphiql">Loading the GraphiQL playground…</div>
<noscript>The playground needs JavaScript.</noscript>
<script id="exactql-playground-config" type="application/json">{{.Config}}</script>
<script src="{{.Assets}}react.production.min.js"></script>
<script src="{{.Assets}}react-dom.production.min.js"></script>
<script src="{{.Assets}}graphiql.min.js"></script>
<script src="{{.Assets}}boot.js"></script>
</body>
</html>
`))

// pageConfig is what boot.js reads from the page.
type pageConfig struct {
	Endpoint       string            `json:"endpoint"`
	DefaultQuery   string            `json:"defaultQuery"`
	DefaultHeaders map[string]string `json:"defaultHeaders"`
	StyleNonce     string            `json:"styleNonce"`
}

// scriptJSON encodes v for a <script> element. encoding/json writes <, >, &,
// U+2028 and U+2029 as \u escapes, so no value can close the element, open a
// comment or end a line inside it; the assertion below keeps that promise
// checked rather than assumed.
func scriptJSON(v any) (template.JS, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("playground.scriptJSON: %w", err)
	}
	if bytes.ContainsAny(b, "<>&\u2028\u2029") {
		return "", errors.New("playground.scriptJSON: encoding left a character unescaped")
	}
	return template.JS(b), nil
}

// contentSecurityPolicy admits scripts, styles and connections from the
// page's own origin only, fonts and images from it and from data: URLs (the
// GraphiQL stylesheet inlines its fonts), and inline <style> elements only
// with the per-response nonce.
func contentSecurityPolicy(nonce string) string {
	return "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-" + nonce + "'; " +
		"connect-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// Handler serves the playground page at "/" and its assets under
// AssetsPrefix, to GET and HEAD; other paths get 404. The page is never cached
// (it may hold a demo token); assets are cached for a year, as their URLs
// change with their contents.
func Handler(o Options) http.Handler {
	if o.Endpoint == "" {
		o.Endpoint = DefaultEndpoint
	}
	if o.Title == "" {
		o.Title = DefaultTitle
	}
	if o.DefaultQuery == "" {
		o.DefaultQuery = DefaultQuery
	}
	if o.DefaultHeaders == nil {
		o.DefaultHeaders = map[string]string{}
	}
	b, err := loadBundle()
	if err == nil {
		err = o.Validate()
	}
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "playground unavailable: misconfigured", http.StatusInternalServerError)
		})
	}
	return &handler{opts: o, bundle: b}
}

type handler struct {
	opts   Options
	bundle *bundle
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" && !strings.HasPrefix(r.URL.Path, AssetsPrefix) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path == "/" {
		h.servePage(w, r)
		return
	}
	version, name, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, AssetsPrefix), "/")
	a, found := h.bundle.assets[name]
	if !ok || !found || version != h.bundle.version {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

func (h *handler) servePage(w http.ResponseWriter, r *http.Request) {
	nonce := rand.Text()
	cfg, err := scriptJSON(pageConfig{
		Endpoint:       h.opts.Endpoint,
		DefaultQuery:   h.opts.DefaultQuery,
		DefaultHeaders: h.opts.DefaultHeaders,
		StyleNonce:     nonce,
	})
	var page bytes.Buffer
	if err == nil {
		err = pageTemplate.Execute(&page, struct {
			Title  string
			Assets string
			Config template.JS
		}{h.opts.Title, AssetsPrefix + h.bundle.version + "/", cfg})
	}
	if err != nil {
		http.Error(w, "playground unavailable", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Security-Policy", contentSecurityPolicy(nonce))
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(page.Bytes()))
}
