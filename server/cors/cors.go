// Package cors lets the browser origins listed in EXACTQL_CORS_ORIGINS call
// the gateway from web pages, preflight included, and no other origin.
//
// Decisions, so that callers need not read the code:
//   - Origins match exactly: scheme, host and port as the browser sends them
//     in the Origin header ("https://shop.example.com", "http://localhost:3000").
//     A configured origin is compared lower-cased and without a trailing
//     slash. "*" and "null" are not supported: the gateway serves per-buyer
//     data, and a wildcard is never what an operator of a B2B shop needs.
//   - Access-Control-Allow-Credentials is never sent: callers authenticate
//     with bearer tokens in the Authorization header, not cookies.
//   - A preflight from a refused origin is answered 403 with no CORS headers;
//     other requests from refused origins pass through without CORS headers,
//     so the browser withholds the response from the page. (No cookie carries
//     authority here, so passing them through grants nothing.)
//   - Requests without an Origin header pass through untouched.
package cors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrInvalidOrigin is wrapped by the errors ParseOrigins returns.
var ErrInvalidOrigin = errors.New("invalid CORS origin")

// AllowedMethods is the Access-Control-Allow-Methods answer to a preflight.
const AllowedMethods = "GET, POST, OPTIONS"

// MaxAge is the Access-Control-Max-Age answer to a preflight, in seconds.
const MaxAge = "600"

// ExposedHeaders is the Access-Control-Expose-Headers value on responses to
// allowed origins.
const ExposedHeaders = "X-Request-ID"

// allowedHeaders are the request headers a preflight may ask for, lower-cased;
// a preflight's answer lists those it asked for that are in this set.
var allowedHeaders = map[string]bool{
	"accept":                   true,
	"authorization":            true,
	"content-type":             true,
	"x-request-id":             true,
	"apollo-require-preflight": true,
	"x-apollo-operation-name":  true,
}

// ParseOrigins splits a comma-separated list such as EXACTQL_CORS_ORIGINS into
// normalised origins, for Middleware. Blank entries are skipped; an entry that
// is not scheme://host[:port] with scheme http or https (no path, query,
// user or wildcard) is an error wrapping ErrInvalidOrigin.
func ParseOrigins(list string) ([]string, error) {
	var origins []string
	for _, raw := range strings.Split(list, ",") {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		o := normalise(s)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" ||
			strings.Contains(u.Host, "*") || u.Scheme+"://"+u.Host != o {
			return nil, fmt.Errorf("cors.ParseOrigins: %q is not an origin such as https://shop.example.com: %w", s, ErrInvalidOrigin)
		}
		origins = append(origins, o)
	}
	return origins, nil
}

// normalise lower-cases an origin and drops a trailing slash and a default
// port, the form in which browsers send it.
func normalise(s string) string {
	s = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/")
	switch {
	case strings.HasPrefix(s, "https://"):
		s = strings.TrimSuffix(s, ":443")
	case strings.HasPrefix(s, "http://"):
		s = strings.TrimSuffix(s, ":80")
	}
	return s
}

// Middleware answers CORS for the allowed origins (see the package comment);
// an empty list allows none. Entries are compared after normalising; pass
// them through ParseOrigins first to reject malformed configuration.
func Middleware(allowed []string) func(http.Handler) http.Handler {
	set := make(map[string]bool, len(allowed))
	for _, o := range allowed {
		if o = normalise(o); o != "" && o != "*" && o != "null" {
			set[o] = true
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origins := r.Header.Values("Origin")
			if len(origins) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			// Browsers send exactly one Origin; anything else is refused.
			ok := len(origins) == 1 && set[origins[0]]
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			if preflight {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				if !ok {
					w.WriteHeader(http.StatusForbidden)
					return
				}
				h.Set("Access-Control-Allow-Origin", origins[0])
				h.Set("Access-Control-Allow-Methods", AllowedMethods)
				if asked := permittedHeaders(r.Header.Values("Access-Control-Request-Headers")); asked != "" {
					h.Set("Access-Control-Allow-Headers", asked)
				}
				h.Set("Access-Control-Max-Age", MaxAge)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if ok {
				h.Set("Access-Control-Allow-Origin", origins[0])
				h.Set("Access-Control-Expose-Headers", ExposedHeaders)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// permittedHeaders returns the requested header names that are permitted,
// lower-cased, comma-separated, without duplicates, in the order asked.
func permittedHeaders(values []string) string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if allowedHeaders[name] && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return strings.Join(out, ", ")
}
