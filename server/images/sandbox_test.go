package images_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/erp/erptest"
	"github.com/exactql/exactql/erp/sandbox"
	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/server/images"
)

// clientSource adapts the erp client to images.Source the way the gateway
// does (without its item cache).
type clientSource struct{ c *erp.Client }

func (s clientSource) Item(ctx context.Context, id string) (images.URLs, bool, error) {
	it, err := s.c.Items.Get(ctx, id)
	if errors.Is(err, erp.ErrNotFound) {
		return images.URLs{}, false, nil
	}
	if err != nil {
		return images.URLs{}, false, err
	}
	return images.URLs{Picture: it.PictureURL, Thumbnail: it.PictureThumbnailURL}, true, nil
}

func (s clientSource) Picture(ctx context.Context, u string) ([]byte, string, error) {
	return s.c.Picture(ctx, u)
}

func TestSandboxPictureFetchedOnce(t *testing.T) {
	env := erptest.Setup(t, erptest.Options{Sandbox: sandbox.Options{Data: gen.Options{Seed: 3, Items: 100, Customers: 20, Warehouses: 1}}})
	sb, client, ctx := env.Sandbox, env.Client, t.Context()

	// One item with a picture and one without, from the sandbox's catalogue.
	var withPic, withoutPic string
	items, _, err := client.Items.ListPage(ctx, erp.Query{}, "")
	if err != nil {
		t.Fatalf("Items.ListPage: %v", err)
	}
	for _, it := range items {
		switch {
		case it.PictureURL != "" && withPic == "":
			withPic = it.ID
		case it.PictureURL == "" && withoutPic == "":
			withoutPic = it.ID
		}
	}
	if withPic == "" || withoutPic == "" {
		t.Fatalf("sandbox page has no item with (%q) or without (%q) picture", withPic, withoutPic)
	}

	h := images.Handler(clientSource{client}, newCache(t), images.Options{Division: sb.Division()})
	sb.ResetCalls()
	var first []byte
	for i := range 3 {
		rec := serve(h, http.MethodGet, "/images/"+withPic, nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("GET %d: %d %q %s", i, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if i == 0 {
			first = rec.Body.Bytes()
		} else if !bytes.Equal(rec.Body.Bytes(), first) {
			t.Errorf("GET %d: other bytes than the first answer", i)
		}
	}
	for range 2 {
		if rec := serve(h, http.MethodGet, "/images/"+withoutPic, nil); rec.Code != http.StatusNotFound {
			t.Fatalf("item without picture: %d, want 404", rec.Code)
		}
	}
	count := func(kind string) int { return sb.CallCount(func(c sandbox.Call) bool { return c.Kind == kind }) }
	if got := count(sandbox.KindPicture); got != 1 {
		t.Errorf("sandbox picture calls = %d, want 1", got)
	}
	// Two item lookups: one per item, none repeated.
	if got := count(sandbox.KindAPI); got != 2 {
		t.Errorf("sandbox API calls = %d, want 2", got)
	}
}

// TestSandboxThumbnailFetchedOnce: /images/{id}/thumbnail serves the item's
// PictureThumbnailUrl (the sandbox draws it at half size), fetched once and
// cached apart from the picture; an item without picture has no thumbnail.
func TestSandboxThumbnailFetchedOnce(t *testing.T) {
	env := erptest.Setup(t, erptest.Options{Sandbox: sandbox.Options{Data: gen.Options{Seed: 3, Items: 100, Customers: 20, Warehouses: 1}}})
	sb, client, ctx := env.Sandbox, env.Client, t.Context()

	var withPic, withoutPic string
	items, _, err := client.Items.ListPage(ctx, erp.Query{}, "")
	if err != nil {
		t.Fatalf("Items.ListPage: %v", err)
	}
	for _, it := range items {
		switch {
		case it.PictureThumbnailURL != "" && withPic == "":
			withPic = it.ID
		case it.PictureURL == "" && it.PictureThumbnailURL == "" && withoutPic == "":
			withoutPic = it.ID
		}
	}
	if withPic == "" || withoutPic == "" {
		t.Fatalf("sandbox page has no item with (%q) or without (%q) thumbnail", withPic, withoutPic)
	}

	h := images.Handler(clientSource{client}, newCache(t), images.Options{Division: sb.Division()})
	sb.ResetCalls()
	var thumb []byte
	for i := range 3 {
		rec := serve(h, http.MethodGet, "/images/"+withPic+"/thumbnail", nil)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("GET thumbnail %d: %d %q %s", i, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if i == 0 {
			thumb = rec.Body.Bytes()
		} else if !bytes.Equal(rec.Body.Bytes(), thumb) {
			t.Errorf("GET thumbnail %d: other bytes than the first answer", i)
		}
	}
	pic := serve(h, http.MethodGet, "/images/"+withPic, nil)
	if pic.Code != http.StatusOK {
		t.Fatalf("GET picture: %d", pic.Code)
	}
	tc, err := png.DecodeConfig(bytes.NewReader(thumb))
	if err != nil {
		t.Fatalf("thumbnail is not a PNG: %v", err)
	}
	pc, err := png.DecodeConfig(bytes.NewReader(pic.Body.Bytes()))
	if err != nil {
		t.Fatalf("picture is not a PNG: %v", err)
	}
	if tc.Width >= pc.Width {
		t.Errorf("thumbnail %dpx wide, picture %dpx: want the thumbnail smaller", tc.Width, pc.Width)
	}
	for range 2 {
		if rec := serve(h, http.MethodGet, "/images/"+withoutPic+"/thumbnail", nil); rec.Code != http.StatusNotFound {
			t.Fatalf("item without picture: thumbnail %d, want 404", rec.Code)
		}
	}
	count := func(kind string) int { return sb.CallCount(func(c sandbox.Call) bool { return c.Kind == kind }) }
	// One thumbnail and one picture download.
	if got := count(sandbox.KindPicture); got != 2 {
		t.Errorf("sandbox picture calls = %d, want 2", got)
	}
	thumbs := sb.CallCount(func(c sandbox.Call) bool {
		return c.Kind == sandbox.KindPicture && strings.Contains(c.Query, "ThumbSize=100")
	})
	if thumbs != 1 {
		t.Errorf("sandbox thumbnail (ThumbSize=100) calls = %d, want 1", thumbs)
	}
}
