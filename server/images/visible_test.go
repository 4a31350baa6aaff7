package images_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/server/images"
)

// TestHiddenItemsPictureNotServed: an item the read path does not show
// (not sellable) answers 404 without its picture being fetched; when an
// item stops being sellable its cached picture is no longer served; an
// error deciding visibility is an error answer, never the picture.
func TestHiddenItemsPictureNotServed(t *testing.T) {
	src := &fakeSource{items: map[string]string{itemWithPic: picURL}, body: pngBytes(t), ctype: "image/png"}
	var mu sync.Mutex
	visible := map[string]bool{}
	var visErr error
	h := images.Handler(src, newCache(t), images.Options{Visible: func(_ context.Context, id string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return visible[id], visErr
	}})
	set := func(v bool, err error) {
		mu.Lock()
		visible[itemWithPic], visErr = v, err
		mu.Unlock()
	}

	for _, v := range variants {
		if rec := serve(h, http.MethodGet, "/images/"+itemWithPic+v.suffix, nil); rec.Code != http.StatusNotFound {
			t.Errorf("hidden item's %s: %d, want 404", v.name, rec.Code)
		}
	}
	if ic, pc := src.calls(); ic != 0 || pc != 0 {
		t.Errorf("hidden item fetched: Item %d, Picture %d", ic, pc)
	}
	set(true, nil)
	if rec := serve(h, http.MethodGet, "/images/"+itemWithPic, nil); rec.Code != http.StatusOK {
		t.Errorf("sellable item: %d, want 200", rec.Code)
	}
	if rec := serve(h, http.MethodGet, "/images/"+itemWithPic+images.ThumbnailSuffix, nil); rec.Code != http.StatusOK {
		t.Errorf("sellable item's thumbnail: %d, want 200", rec.Code)
	}
	set(false, nil) // e.g. its EndDate passed; the picture and thumbnail are cached
	for _, v := range variants {
		if rec := serve(h, http.MethodGet, "/images/"+itemWithPic+v.suffix, nil); rec.Code != http.StatusNotFound || rec.Body.Len() > 100 {
			t.Errorf("item hidden after caching, %s: %d (%d bytes), want 404", v.name, rec.Code, rec.Body.Len())
		}
	}
	set(true, &erp.Error{StatusCode: 503, Message: "down"})
	if rec := serve(h, http.MethodGet, "/images/"+itemWithPic, nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("visibility unknown: %d, want 503", rec.Code)
	}
	set(true, errors.New("boom"))
	if rec := serve(h, http.MethodGet, "/images/"+itemWithPic, nil); rec.Code == http.StatusOK {
		t.Errorf("visibility error served the picture")
	}
}
