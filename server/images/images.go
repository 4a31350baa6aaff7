// Package images serves item pictures at GET /images/{itemID} and their
// thumbnails at GET /images/{itemID}/thumbnail. Exact's picture URLs
// (PictureUrl, PictureThumbnailUrl) need Exact credentials, so the gateway
// fetches a picture once with the app's token and serves it from the cache
// afterwards; items without a picture are remembered as absent, so browsing
// a catalogue does not spend Exact's budget on pictures twice.
package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
)

// Defaults for the zero values of Options.
const (
	// DefaultTTL is how long a fetched picture is served from the cache.
	DefaultTTL = 24 * time.Hour
	// DefaultNegativeTTL is how long an item without a picture (or an
	// unknown item) is remembered as such.
	DefaultNegativeTTL = time.Hour
	// DefaultMaxBytes is the largest picture served (and cached).
	DefaultMaxBytes = 5 << 20
	// DefaultBrowserMaxAge is the max-age browsers and CDNs may keep a
	// picture.
	DefaultBrowserMaxAge = 24 * time.Hour
)

// KindName is the cache kind (and key part) of pictures; ThumbnailKindName
// that of thumbnails.
const (
	KindName          = "image"
	ThumbnailKindName = "thumbnail"
)

// ThumbnailSuffix ends the path of an item's thumbnail:
// /images/{itemID}/thumbnail.
const ThumbnailSuffix = "/thumbnail"

// Path is the gateway's path of an item's picture, or of its thumbnail:
// /images/{itemID}[/thumbnail] with the ID in lower case.
func Path(itemID string, thumbnail bool) string {
	p := "/images/" + strings.ToLower(itemID)
	if thumbnail {
		p += ThumbnailSuffix
	}
	return p
}

// URLs are an item's picture URLs at Exact (Items PictureUrl and
// PictureThumbnailUrl); "" is none.
type URLs struct {
	Picture   string
	Thumbnail string
}

// Source is what the handler needs from the rest of the gateway: the
// picture URLs of an item (found false for an unknown item) and the
// download of such a URL with the app's Exact token. The gateway adapts its
// cached item reader and *erp.Client to it.
type Source interface {
	Item(ctx context.Context, id string) (urls URLs, found bool, err error)
	Picture(ctx context.Context, url string) ([]byte, string, error)
}

// Options configure Handler. Zero fields take the defaults.
type Options struct {
	// Division is the Exact division; it is part of every cache key.
	Division int
	// TTL is how long a picture is cached (default DefaultTTL).
	TTL time.Duration
	// NegativeTTL is how long an absent picture is remembered (default
	// DefaultNegativeTTL).
	NegativeTTL time.Duration
	// MaxBytes is the largest picture served (default DefaultMaxBytes);
	// larger ones answer 502 and are remembered as such for TTL.
	MaxBytes int
	// BrowserMaxAge is the Cache-Control max-age of pictures (default
	// DefaultBrowserMaxAge).
	BrowserMaxAge time.Duration
	// Now is the clock for Retry-After (default time.Now).
	Now func() time.Time
	// Visible, when set, is asked on every request (before the picture
	// cache) whether the item may be shown: the read path's sellability
	// rule, so a picture of an item GraphQL hides is not served either,
	// also when it was cached while the item was still sellable. false
	// answers 404 like an unknown item.
	Visible func(ctx context.Context, itemID string) (bool, error)
}

// picture is what the cache holds for an item that has one.
type picture struct {
	body     []byte
	ctype    string
	etag     string
	tooLarge bool // upstream picture beyond MaxBytes: answered 502 without asking again
}

// errNotImage reports an upstream answer that is not an image we serve.
var errNotImage = errors.New("images: upstream answer is not a supported image")

type imageHandler struct {
	src   Source
	c     *cache.Cache
	kind  cache.Kind // pictures
	thumb cache.Kind // thumbnails
	o     Options
}

// Handler serves GET and HEAD /images/{itemID} (the picture) and
// /images/{itemID}/thumbnail (the thumbnail; route both patterns,
// "GET /images/{itemID}" and "GET /images/{itemID}/thumbnail", to it;
// without the wildcard the ID is taken from the path). Pictures and
// thumbnails are cached apart and answer alike:
//
//   - 200 with the picture, its Content-Type (image/* only),
//     Cache-Control: public, max-age=…, an ETag and
//     X-Content-Type-Options: nosniff; 304 when If-None-Match matches.
//   - 404 for an ID that is not a GUID (nothing is asked), an unknown item,
//     an item that is not Visible (not sellable) or an item without
//     picture (or without thumbnail; remembered for NegativeTTL).
//   - 503 with Retry-After when Exact's rate budget does not allow the
//     fetch now, 429 with Retry-After when the caller's own budget is
//     spent, 503 when Exact is unavailable, 502 for other upstream
//     failures, answers that are not images and pictures over MaxBytes.
//
// Error bodies are a short text that never contains the Exact URL.
// src and c are required; without them every request answers 500.
func Handler(src Source, c *cache.Cache, o Options) http.Handler {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = DefaultNegativeTTL
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.BrowserMaxAge <= 0 {
		o.BrowserMaxAge = DefaultBrowserMaxAge
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &imageHandler{
		src:   src,
		c:     c,
		kind:  cache.Kind{Name: KindName, TTL: o.TTL, NegativeTTL: o.NegativeTTL},
		thumb: cache.Kind{Name: ThumbnailKindName, TTL: o.TTL, NegativeTTL: o.NegativeTTL},
		o:     o,
	}
}

func (h *imageHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.text(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	path, thumbnail := strings.CutSuffix(r.URL.Path, ThumbnailSuffix)
	id := r.PathValue("itemID")
	if id == "" {
		id = path[strings.LastIndexByte(path, '/')+1:]
	}
	id = strings.ToLower(id)
	if !erp.IsGUID(id) {
		h.notFound(w)
		return
	}
	if h.src == nil || h.c == nil {
		h.text(w, http.StatusInternalServerError, "pictures are not configured")
		return
	}
	if h.o.Visible != nil {
		ok, err := h.o.Visible(r.Context(), id)
		if err != nil {
			h.fail(w, err)
			return
		}
		if !ok {
			h.notFound(w)
			return
		}
	}
	kind := h.kind
	if thumbnail {
		kind = h.thumb
	}
	p, err := cache.Get(r.Context(), h.c, kind, cache.Key(h.o.Division, kind.Name, id),
		func(ctx context.Context) (*picture, error) { return h.load(ctx, id, thumbnail) }, pictureCost)
	if err != nil {
		h.fail(w, err)
		return
	}
	if p.tooLarge {
		h.text(w, http.StatusBadGateway, "picture too large")
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(h.o.BrowserMaxAge/time.Second)))
	hd.Set("ETag", p.etag)
	if etagMatches(r.Header.Get("If-None-Match"), p.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", p.ctype)
	hd.Set("Content-Length", strconv.Itoa(len(p.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(p.body)
	}
}

// load asks for the item's picture URLs and downloads the picture (or the
// thumbnail). Absence (unknown item, no picture, picture gone at Exact) is
// cache.ErrNotFound so the cache remembers it.
func (h *imageHandler) load(ctx context.Context, id string, thumbnail bool) (*picture, error) {
	urls, found, err := h.src.Item(ctx, id)
	if errors.Is(err, erp.ErrNotFound) || errors.Is(err, cache.ErrNotFound) {
		found, err = false, nil
	}
	if err != nil {
		return nil, fmt.Errorf("images.load: item: %w", err)
	}
	u := urls.Picture
	if thumbnail {
		u = urls.Thumbnail
	}
	if !found || u == "" {
		return nil, fmt.Errorf("images.load: item without picture: %w", cache.ErrNotFound)
	}
	body, ctype, err := h.src.Picture(ctx, u)
	if err != nil {
		if errors.Is(err, erp.ErrNotFound) {
			return nil, fmt.Errorf("images.load: picture gone: %w", cache.ErrNotFound)
		}
		return nil, fmt.Errorf("images.load: picture: %w", err)
	}
	if len(body) > h.o.MaxBytes {
		return &picture{tooLarge: true}, nil
	}
	mt, ok := imageType(ctype, body)
	if !ok {
		return nil, fmt.Errorf("images.load: %w", errNotImage)
	}
	sum := sha256.Sum256(body)
	return &picture{body: body, ctype: mt, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}, nil
}

// pictureCost is a picture's size for the cache's capacity.
func pictureCost(p *picture) int64 {
	return int64(len(p.body)+len(p.ctype)+len(p.etag)) + 64
}

// imageType returns the media type to serve: the upstream's if it is an
// image, else (for a missing or generic type) the sniffed one if that is
// an image. SVG is refused: it can carry scripts and would run them on the
// gateway's origin.
func imageType(ctype string, body []byte) (string, bool) {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil || mt == "" || mt == "application/octet-stream" || mt == "binary/octet-stream" {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	mt = strings.ToLower(mt)
	if !strings.HasPrefix(mt, "image/") || strings.Contains(mt, "svg") {
		return "", false
	}
	return mt, true
}

// etagMatches implements If-None-Match's weak comparison against a strong
// tag.
func etagMatches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// fail maps a load error to an answer through the API's one error table
// (apierr.Classify): the same class as the GraphQL presenter gives it, as
// an HTTP status. Texts are fixed: no upstream message or URL reaches the
// client.
func (h *imageHandler) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, errNotImage) {
		h.text(w, http.StatusBadGateway, "upstream answer is not an image")
		return
	}
	c := apierr.Classify(err, h.o.Now())
	switch {
	case c.Status == http.StatusNotFound:
		h.notFound(w)
		return
	case c.Code == apierr.CodeInternal && c.Status == http.StatusBadGateway:
		h.text(w, c.Status, "picture could not be fetched")
		return
	case c.RetrySeconds > 0:
		w.Header().Set("Retry-After", strconv.Itoa(c.RetrySeconds))
	}
	h.text(w, c.Status, c.Message)
}

func (h *imageHandler) notFound(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "public, max-age=60")
	h.text(w, http.StatusNotFound, "picture not found")
}

func (h *imageHandler) text(w http.ResponseWriter, status int, msg string) {
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	if status >= 500 || status == http.StatusTooManyRequests {
		hd.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}
