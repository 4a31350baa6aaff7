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
	thumbURL    = "https://start.exactonline.nl/docs/SysImage.aspx?Table=Items&ID=secret-ish&ThumbSize=100"
)

// variants are the two paths of an item's pictures: the picture and the
// thumbnail.
var variants = []struct{ name, suffix string }{{"picture", ""}, {"thumbnail", images.ThumbnailSuffix}}

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

// fakeSource answers from maps and counts calls. An item whose picture is
// picURL has the thumbnail thumbURL unless noThumb.
type fakeSource struct {
	mu        sync.Mutex
	items     map[string]string // id → picture URL ("" = no picture)
	noThumb   bool
	itemErr   error
	body      []byte
	thumbBody []byte // the thumbnail's bytes (default body)
	ctype     string
	pictErr   error
	itemCalls int
	picCalls  int
	fetched   []string // URLs asked of Picture
}

func (f *fakeSource) Item(_ context.Context, id string) (images.URLs, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.itemCalls++
	if f.itemErr != nil {
		return images.URLs{}, false, f.itemErr
	}
	u, ok := f.items[id]
	urls := images.URLs{Picture: u}
	if u == picURL && !f.noThumb {
		urls.Thumbnail = thumbURL
	}
	return urls, ok, nil
}

func (f *fakeSource) Picture(_ context.Context, u string) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.picCalls++
	f.fetched = append(f.fetched, u)
	switch {
	case u == thumbURL && f.thumbBody != nil:
		return f.thumbBody, f.ctype, f.pictErr
	case u == picURL, u == thumbURL:
		return f.body, f.ctype, f.pictErr
	}
	return nil, "", fmt.Errorf("unexpected URL %q", u)
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
	mux.Handle("GET /images/{itemID}/thumbnail", h)
	mux.Handle("/images/{itemID}", h) // other methods reach the handler too
	mux.Handle("/images/{itemID}/thumbnail", h)
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
	for _, v := range variants {
		for _, tt := range tests {
			t.Run(v.name+"/"+tt.name, func(t *testing.T) {
				src := &fakeSource{itemErr: tt.src.itemErr, body: tt.src.body, ctype: tt.src.ctype, pictErr: tt.src.pictErr}
				src.items = map[string]string{itemWithPic: picURL}
				h := images.Handler(src, newCache(t), images.Options{MaxBytes: tt.maxBytes, Now: func() time.Time { return now }})
				path := "/images/" + itemWithPic + v.suffix
				rec := serve(h, http.MethodGet, path, nil)
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
				serve(h, http.MethodGet, path, nil)
				ic2, pc2 := src.calls()
				if asked := ic2 != ic || pc2 != pc; asked == tt.cached {
					t.Errorf("second request asked the source: %v, want %v", asked, !tt.cached)
				}
			})
		}
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

// TestThumbnailServedAndCachedApart: /images/{id}/thumbnail serves the
// thumbnail URL's bytes with the picture's headers; picture and thumbnail
// are cached apart (each fetched once, their own ETag), and one answers
// If-None-Match only with its own tag.
func TestThumbnailServedAndCachedApart(t *testing.T) {
	pic := pngBytes(t)
	thumb := append([]byte(nil), pic...)
	thumb = append(thumb, 0) // other bytes, still sniffed as PNG
	src := &fakeSource{items: map[string]string{itemWithPic: picURL}, body: pic, thumbBody: thumb, ctype: "image/png"}
	h := images.Handler(src, newCache(t), images.Options{Division: 7})

	var etags [2]string
	for i := range 3 {
		tr := serve(h, http.MethodGet, "/images/"+itemWithPic+"/thumbnail", nil)
		if tr.Code != http.StatusOK || !bytes.Equal(tr.Body.Bytes(), thumb) {
			t.Fatalf("GET thumbnail %d: %d, thumbnail bytes %v", i, tr.Code, bytes.Equal(tr.Body.Bytes(), thumb))
		}
		for k, v := range map[string]string{"Content-Type": "image/png", "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"} {
			if got := tr.Header().Get(k); got != v {
				t.Errorf("thumbnail %s = %q, want %q", k, got, v)
			}
		}
		etags[1] = tr.Header().Get("ETag")
		pr := serve(h, http.MethodGet, "/images/"+strings.ToUpper(itemWithPic), nil)
		if pr.Code != http.StatusOK || !bytes.Equal(pr.Body.Bytes(), pic) {
			t.Fatalf("GET picture %d: %d, picture bytes %v", i, pr.Code, bytes.Equal(pr.Body.Bytes(), pic))
		}
		etags[0] = pr.Header().Get("ETag")
	}
	if etags[0] == "" || etags[0] == etags[1] {
		t.Errorf("ETags picture %q, thumbnail %q: want two different tags", etags[0], etags[1])
	}
	if nm := serve(h, http.MethodGet, "/images/"+itemWithPic+"/thumbnail", map[string]string{"If-None-Match": etags[1]}); nm.Code != http.StatusNotModified {
		t.Errorf("thumbnail If-None-Match own tag: %d, want 304", nm.Code)
	}
	if nm := serve(h, http.MethodGet, "/images/"+itemWithPic+"/thumbnail", map[string]string{"If-None-Match": etags[0]}); nm.Code != http.StatusOK {
		t.Errorf("thumbnail If-None-Match picture's tag: %d, want 200", nm.Code)
	}
	if head := serve(h, http.MethodHead, "/images/"+itemWithPic+"/thumbnail", nil); head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD thumbnail: %d, %d bytes", head.Code, head.Body.Len())
	}
	if rec := serve(h, http.MethodPost, "/images/"+itemWithPic+"/thumbnail", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST thumbnail: %d, want 405", rec.Code)
	}
	src.mu.Lock()
	fetched := append([]string(nil), src.fetched...)
	src.mu.Unlock()
	if diff := cmp.Diff([]string{thumbURL, picURL}, fetched); diff != "" {
		t.Errorf("downloads (-want +got):\n%s", diff)
	}
}

// TestThumbnailNotFound: an item without thumbnail (also one with a
// picture), an unknown item and a bad ID answer 404; absence is
// remembered, and a bad ID asks nothing.
func TestThumbnailNotFound(t *testing.T) {
	src := &fakeSource{items: map[string]string{itemWithPic: picURL, itemNoPic: ""}, noThumb: true, body: pngBytes(t), ctype: "image/png"}
	h := images.Handler(src, newCache(t), images.Options{})
	for range 3 {
		for _, id := range []string{itemWithPic, itemNoPic, itemUnknown} {
			if rec := serve(h, http.MethodGet, "/images/"+id+"/thumbnail", nil); rec.Code != http.StatusNotFound || rec.Body.String() != "picture not found\n" {
				t.Fatalf("thumbnail of %s: %d %q, want 404", id, rec.Code, rec.Body)
			}
		}
	}
	if ic, pc := src.calls(); ic != 3 || pc != 0 {
		t.Errorf("Source calls: Item %d, Picture %d; want 3, 0", ic, pc)
	}
	if rec := serve(h, http.MethodGet, "/images/"+itemWithPic, nil); rec.Code != http.StatusOK {
		t.Errorf("picture of an item without thumbnail: %d, want 200", rec.Code)
	}
	src = &fakeSource{items: map[string]string{itemWithPic: picURL}}
	h = images.Handler(src, newCache(t), images.Options{})
	for _, p := range []string{"/images/not-a-guid/thumbnail", "/images/" + itemWithPic[:35] + "/thumbnail", "/images/%27%20or%201%3D1/thumbnail"} {
		if rec := serve(h, http.MethodGet, p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
	if ic, pc := src.calls(); ic != 0 || pc != 0 {
		t.Errorf("bad IDs asked the source: Item %d, Picture %d", ic, pc)
	}
}
