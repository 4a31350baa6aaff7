package cors

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corsHeaders are the response headers the middleware may set.
var corsHeaders = []string{
	"Access-Control-Allow-Origin",
	"Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers",
	"Access-Control-Allow-Credentials",
	"Access-Control-Expose-Headers",
	"Access-Control-Max-Age",
	"Vary",
}

func TestMiddleware(t *testing.T) {
	allowed := []string{"https://shop.example.com", "HTTP://LOCALHOST:3000/"}
	tests := []struct {
		name       string
		method     string
		header     http.Header
		wantStatus int
		wantNext   bool
		want       map[string][]string
	}{
		{
			name:       "no Origin passes through untouched",
			method:     http.MethodPost,
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{},
		},
		{
			name:       "OPTIONS without Origin passes through untouched",
			method:     http.MethodOptions,
			header:     http.Header{"Access-Control-Request-Method": {"POST"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{},
		},
		{
			name:       "allowed origin",
			method:     http.MethodPost,
			header:     http.Header{"Origin": {"https://shop.example.com"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want: map[string][]string{
				"Access-Control-Allow-Origin":   {"https://shop.example.com"},
				"Access-Control-Expose-Headers": {"X-Request-ID"},
				"Vary":                          {"Origin"},
			},
		},
		{
			name:       "allowed origin configured upper-case with trailing slash",
			method:     http.MethodGet,
			header:     http.Header{"Origin": {"http://localhost:3000"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want: map[string][]string{
				"Access-Control-Allow-Origin":   {"http://localhost:3000"},
				"Access-Control-Expose-Headers": {"X-Request-ID"},
				"Vary":                          {"Origin"},
			},
		},
		{
			name:       "refused origin passes through without CORS headers",
			method:     http.MethodPost,
			header:     http.Header{"Origin": {"https://evil.example.com"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{"Vary": {"Origin"}},
		},
		{
			name:       "other port is another origin",
			method:     http.MethodPost,
			header:     http.Header{"Origin": {"https://shop.example.com:8443"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{"Vary": {"Origin"}},
		},
		{
			name:       "other scheme is another origin",
			method:     http.MethodPost,
			header:     http.Header{"Origin": {"http://shop.example.com"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{"Vary": {"Origin"}},
		},
		{
			name:       "suffix of an allowed host is refused",
			method:     http.MethodPost,
			header:     http.Header{"Origin": {"https://shop.example.com.evil.net"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{"Vary": {"Origin"}},
		},
		{
			name:       "null origin refused",
			method:     http.MethodPost,
			header:     http.Header{"Origin": {"null"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{"Vary": {"Origin"}},
		},
		{
			name:       "two Origin headers refused",
			method:     http.MethodPost,
			header:     http.Header{"Origin": {"https://shop.example.com", "https://shop.example.com"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want:       map[string][]string{"Vary": {"Origin"}},
		},
		{
			name:   "preflight from allowed origin",
			method: http.MethodOptions,
			header: http.Header{
				"Origin":                         {"https://shop.example.com"},
				"Access-Control-Request-Method":  {"POST"},
				"Access-Control-Request-Headers": {"Content-Type, authorization,X-Evil", "apollo-require-preflight, content-type"},
			},
			wantStatus: http.StatusNoContent,
			want: map[string][]string{
				"Access-Control-Allow-Origin":  {"https://shop.example.com"},
				"Access-Control-Allow-Methods": {"GET, POST, OPTIONS"},
				"Access-Control-Allow-Headers": {"content-type, authorization, apollo-require-preflight"},
				"Access-Control-Max-Age":       {"600"},
				"Vary":                         {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"},
			},
		},
		{
			name:   "preflight asking for no headers",
			method: http.MethodOptions,
			header: http.Header{
				"Origin":                        {"http://localhost:3000"},
				"Access-Control-Request-Method": {"GET"},
			},
			wantStatus: http.StatusNoContent,
			want: map[string][]string{
				"Access-Control-Allow-Origin":  {"http://localhost:3000"},
				"Access-Control-Allow-Methods": {"GET, POST, OPTIONS"},
				"Access-Control-Max-Age":       {"600"},
				"Vary":                         {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"},
			},
		},
		{
			name:   "preflight from refused origin",
			method: http.MethodOptions,
			header: http.Header{
				"Origin":                         {"https://evil.example.com"},
				"Access-Control-Request-Method":  {"POST"},
				"Access-Control-Request-Headers": {"authorization"},
			},
			wantStatus: http.StatusForbidden,
			want: map[string][]string{
				"Vary": {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"},
			},
		},
		{
			name:       "OPTIONS without request method is no preflight",
			method:     http.MethodOptions,
			header:     http.Header{"Origin": {"https://shop.example.com"}},
			wantStatus: http.StatusTeapot,
			wantNext:   true,
			want: map[string][]string{
				"Access-Control-Allow-Origin":   {"https://shop.example.com"},
				"Access-Control-Expose-Headers": {"X-Request-ID"},
				"Vary":                          {"Origin"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calledNext := false
			next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				calledNext = true
				w.WriteHeader(http.StatusTeapot)
			})
			req := httptest.NewRequest(tt.method, "/graphql", nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			Middleware(allowed)(next).ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if calledNext != tt.wantNext {
				t.Errorf("next called = %v, want %v", calledNext, tt.wantNext)
			}
			got := map[string][]string{}
			for _, k := range corsHeaders {
				if v := rec.Header().Values(k); len(v) > 0 {
					got[k] = v
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMiddlewareAllowsNoneByDefault(t *testing.T) {
	for _, allowed := range [][]string{nil, {}, {"*"}, {"null"}, {""}} {
		next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		req := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
		req.Header.Set("Origin", "https://shop.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		Middleware(allowed)(next).ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("allowed %q: status %d, Allow-Origin %q; want 403 and none", allowed, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestParseOrigins(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "blanks", in: " , ,", want: nil},
		{
			name: "several",
			in:   "https://shop.example.com, http://localhost:3000/ ,HTTPS://Admin.Example.com",
			want: []string{"https://shop.example.com", "http://localhost:3000", "https://admin.example.com"},
		},
		{name: "default ports dropped", in: "https://a.example:443,http://b.example:80", want: []string{"https://a.example", "http://b.example"}},
		{name: "IPv6 with port", in: "http://[::1]:8080", want: []string{"http://[::1]:8080"}},
		{name: "wildcard", in: "*", wantErr: true},
		{name: "wildcard host", in: "https://*.example.com", wantErr: true},
		{name: "null", in: "null", wantErr: true},
		{name: "no scheme", in: "shop.example.com", wantErr: true},
		{name: "other scheme", in: "ftp://shop.example.com", wantErr: true},
		{name: "path", in: "https://shop.example.com/shop", wantErr: true},
		{name: "query", in: "https://shop.example.com?x=1", wantErr: true},
		{name: "user", in: "https://u@shop.example.com", wantErr: true},
		{name: "one bad among good", in: "https://shop.example.com,nope", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOrigins(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidOrigin) {
					t.Fatalf("ParseOrigins(%q) error = %v, want ErrInvalidOrigin", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOrigins(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseOrigins(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}
