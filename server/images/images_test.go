package images_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/callerlimit"
	"github.com/exactql/exactql/server/images"
)

const (
	itemWithPic = "11111111-1111-4111-8111-111111111111"
	itemNoPic   = "22222222-2222-4222-8222-222222222222"
	itemUnknown = "33333333-3333-4333-8333-333333333333"
	picURL      = "https://start.exactonline.nl/docs/SysImage.aspx?Table=Items&ID=secret-ish"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatalf("png: %v", err)
	}
	return b.Bytes()
}

// fakeSource answers from maps and counts calls.
type fakeSource struct {
	mu        sync.Mutex
	items     map[string]string // id → picture URL ("" = no picture)
	itemErr   error
	body      []byte
	ctype     string
	pictErr   error
	itemCalls int
	picCalls  int
}

func (f *fakeSource) Item(_ context.Context, id string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.itemCalls++
	if f.itemErr != nil {
		return "", false, f.itemErr
	}
	u, ok := f.items[id]
	return u, ok, nil
}

func (f *fakeSource) Picture(_ context.Context, u string) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.picCalls++
	if u != picURL {
		return nil, "", fmt.Errorf("unexpected URL %q", u)
	}
	return f.body, f.ctype, f.pictErr
}

func (f *fakeSource) calls() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.itemCalls, f.picCalls
}

func newCache(t *testing.T) *cache.Cache {
	t.Helper()
	c, err := cache.New(cache.Options{MaxCostBytes: 32 << 20, NumCounters: 10000})
	if err != nil {
		t.Fatalf("cache.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// serve routes like the gateway does and performs one request.
func serve(h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	mux.Handle("GET /images/{itemID}", h)
	mux.Handle("/images/{itemID}", h) // other methods reach the handler too
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestServeFromCache(t *testing.T) {
	pic := pngBytes(t)
	src := &fakeSource{items: map[string]string{itemWithPic: picURL}, body: pic, ctype: "image/png"}
	h := images.Handler(src, newCache(t), images.Options{Division: 7})

	first := serve(h, http.MethodGet, "/images/"+itemWithPic, nil)
	if first.Code != http.StatusOK {
		t.Fatalf("first GET: %d %s", first.Code, first.Body)
	}
	if !bytes.Equal(first.Body.Bytes(), pic) {
		t.Errorf("first GET: body differs from the picture")
	}
	wantHdr := map[string]string{
		"Content-Type":           "image/png",
		"Cache-Control":          "public, max-age=86400",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range wantHdr {
		if got := first.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	etag := first.Header().Get("ETag")
	if len(etag) < 10 || !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag = %q, want a quoted hash", etag)
	}

	// Upper-case ID: the same item, served from the cache.
	second := serve(h, http.MethodGet, "/images/"+strings.ToUpper(itemWithPic), nil)
	if second.Code != http.StatusOK || !bytes.Equal(second.Body.Bytes(), pic) || second.Header().Get("ETag") != etag {
		t.Errorf("second GET: %d, same body %v, ETag %q", second.Code, bytes.Equal(second.Body.Bytes(), pic), second.Header().Get("ETag"))
	}
	head := serve(h, http.MethodHead, "/images/"+itemWithPic, nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("Content-Type") != "image/png" {
		t.Errorf("HEAD: %d, body %d bytes, type %q", head.Code, head.Body.Len(), head.Header().Get("Content-Type"))
	}
	if ic, pc := src.calls(); ic != 1 || pc != 1 {
		t.Errorf("Source calls after three requests: Item %d, Picture %d; want 1, 1", ic, pc)
	}

	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		nm := serve(h, http.MethodGet, "/images/"+itemWithPic, map[string]string{"If-None-Match": inm})
		if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 || nm.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d, body %d bytes, ETag %q; want 304, empty, same tag", inm, nm.Code, nm.Body.Len(), nm.Header().Get("ETag"))
		}
	}
	if nm := serve(h, http.MethodGet, "/images/"+itemWithPic, map[string]string{"If-None-Match": `"stale"`}); nm.Code != http.StatusOK {
		t.Errorf("If-None-Match with another tag: %d, want 200", nm.Code)
	}
	if ic, pc := src.calls(); ic != 1 || pc != 1 {
		t.Errorf("Source calls at the end: Item %d, Picture %d; want 1, 1", ic, pc)
	}
}

func TestNotFoundIsRemembered(t *testing.T) {
	src := &fakeSource{items: map[string]string{itemNoPic: ""}}
	h := images.Handler(src, newCache(t), images.Options{})
	for range 3 {
		for _, id := range []string{itemNoPic, itemUnknown} {
			rec := serve(h, http.MethodGet, "/images/"+id, nil)
			if rec.Code != http.StatusNotFound {
				t.Fatalf("GET %s: %d, want 404", id, rec.Code)
			}
		}
	}
	if ic, pc := src.calls(); ic != 2 || pc != 0 {
		t.Errorf("Source calls: Item %d, Picture %d; want 2, 0", ic, pc)
	}
}

func TestBadIDAsksNothing(t *testing.T) {
	src := &fakeSource{items: map[string]string{itemWithPic: picURL}}
	h := images.Handler(src, newCache(t), images.Options{})
	for _, p := range []string{"/images/not-a-guid", "/images/" + itemWithPic[:35], "/images/" + itemWithPic + "0", "/images/%27%20or%201%3D1"} {
		if rec := serve(h, http.MethodGet, p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	if ic, pc := src.calls(); ic != 0 || pc != 0 {
		t.Errorf("Source calls: Item %d, Picture %d; want none", ic, pc)
	}
	if rec := serve(h, http.MethodPost, "/images/"+itemWithPic, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}

func TestUpstreamFailures(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	pic := pngBytes(t)
	tests := []struct {
		name       string
		src        *fakeSource
		maxBytes   int
		wantStatus int
		wantRetry  string
		wantType   string
		cached     bool // a second request asks nothing
	}{
		{
			name:       "Exact rate limit",
			src:        &fakeSource{pictErr: fmt.Errorf("erp.Picture: %w", &erp.RateLimitError{Reset: now.Add(42500 * time.Millisecond), Minutely: true})},
			wantStatus: http.StatusServiceUnavailable, wantRetry: "43",
		},
		{
			name:       "caller budget spent",
			src:        &fakeSource{itemErr: &callerlimit.LimitedError{RetryAfter: 7 * time.Second}},
			wantStatus: http.StatusTooManyRequests, wantRetry: "7",
		},
		{
			name:       "Exact 5xx",
			src:        &fakeSource{pictErr: &erp.Error{StatusCode: 503, Message: "maintenance at " + picURL}},
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name:       "other upstream error",
			src:        &fakeSource{pictErr: errors.New("erp: GET " + picURL + ": 401")},
			wantStatus: http.StatusBadGateway,
		},
		{
			name:       "not an image",
			src:        &fakeSource{body: []byte("<html>login</html>"), ctype: "text/html"},
			wantStatus: http.StatusBadGateway,
		},
		{
			name:       "svg refused",
			src:        &fakeSource{body: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ctype: "image/svg+xml"},
			wantStatus: http.StatusBadGateway,
		},
		{
			name:       "generic type sniffed",
			src:        &fakeSource{body: pic, ctype: "application/octet-stream"},
			wantStatus: http.StatusOK, wantType: "image/png", cached: true,
		},
		{
			name:       "picture gone at Exact",
			src:        &fakeSource{pictErr: &erp.Error{StatusCode: 404}},
			wantStatus: http.StatusNotFound, cached: true,
		},
		{
			name:       "too large",
			src:        &fakeSource{body: pic, ctype: "image/png"},
			maxBytes:   len(pic) - 1,
			wantStatus: http.StatusBadGateway, cached: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			src.items = map[string]string{itemWithPic: picURL}
			h := images.Handler(src, newCache(t), images.Options{MaxBytes: tt.maxBytes, Now: func() time.Time { return now }})
			rec := serve(h, http.MethodGet, "/images/"+itemWithPic, nil)
			type answer struct {
				Status     int
				RetryAfter string
				Type       string
			}
			wantType := tt.wantType
			if wantType == "" {
				wantType = "text/plain; charset=utf-8"
			}
			want := answer{tt.wantStatus, tt.wantRetry, wantType}
			got := answer{rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type")}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if strings.Contains(rec.Body.String(), "exactonline") || strings.Contains(rec.Body.String(), "secret-ish") {
				t.Errorf("body leaks the upstream URL: %q", rec.Body)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("nosniff missing")
			}
			ic, pc := src.calls()
			serve(h, http.MethodGet, "/images/"+itemWithPic, nil)
			ic2, pc2 := src.calls()
			if asked := ic2 != ic || pc2 != pc; asked == tt.cached {
				t.Errorf("second request asked the source: %v, want %v", asked, !tt.cached)
			}
		})
	}
}

func TestConcurrentColdRequestsFetchOnce(t *testing.T) {
	src := &fakeSource{items: map[string]string{itemWithPic: picURL}, body: pngBytes(t), ctype: "image/png"}
	h := images.Handler(src, newCache(t), images.Options{})
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = serve(h, http.MethodGet, "/images/"+itemWithPic, nil).Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d: %d", i, c)
		}
	}
	if ic, pc := src.calls(); ic != 1 || pc != 1 {
		t.Errorf("Source calls: Item %d, Picture %d; want 1, 1", ic, pc)
	}
}
