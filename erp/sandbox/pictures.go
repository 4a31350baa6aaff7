package sandbox

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"

	"github.com/exactql/exactql/erp/sandbox/gen"
)

const pictureSize = 64

// handlePicture serves GET /docs/SysImage.aspx?Table=Items&ID=…: a small PNG
// derived from the item's GUID, for items that have a picture; a ThumbSize
// below 500 (PictureThumbnailUrl has 100) gets the half-size thumbnail. It needs a
// valid bearer token and does not count against the API rate limit (Exact
// serves these from its document pages, outside the REST budget; UNCONFIRMED).
func (s *Sandbox) handlePicture(w *statusWriter, r *http.Request, call *Call) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeExactError(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	if _, ok := s.authenticate(r); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeExactError(w, http.StatusUnauthorized, "Unauthorized: the access token is missing, invalid or expired.")
		return
	}
	q := r.URL.Query()
	id := strings.ToLower(strings.Trim(q.Get("ID"), "{}"))
	if q.Get("Table") != "Items" || !isGUID(id) {
		http.NotFound(w, r)
		return
	}
	s.mu.RLock()
	item := s.byID(gen.PathItems, id)
	var has bool
	if item != nil {
		u, _ := item["PictureUrl"].(string)
		has = u != ""
	}
	s.mu.RUnlock()
	if !has {
		http.NotFound(w, r)
		return
	}
	size := pictureSize
	if ts, err := strconv.Atoi(q.Get("ThumbSize")); err == nil && ts > 0 && ts < 500 {
		size = pictureSize / 2
	}
	b := pictureFor(id, size)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

// pictureFor draws a deterministic size×size image: a background colour and
// a diagonal band, both derived from the GUID.
func pictureFor(id string, size int) []byte {
	h := sha256.Sum256([]byte(id))
	bg := color.RGBA{h[0], h[1], h[2], 255}
	fg := color.RGBA{255 - h[0], 255 - h[1], 255 - h[2], 255}
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	band := (int(h[3]%16) + 8) * size / pictureSize
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			c := bg
			if d := x - y; d > -band && d < band {
				c = fg
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an in-memory RGBA image cannot fail
	return buf.Bytes()
}
