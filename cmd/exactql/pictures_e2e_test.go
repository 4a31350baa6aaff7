package main

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

// productPictures lists the first products' IDs and picture URLs.
func productPictures(g *gateway) []struct {
	ID           string
	PictureURL   *string
	ThumbnailURL *string
} {
	var d struct {
		Products struct {
			Nodes []struct {
				ID           string
				PictureURL   *string
				ThumbnailURL *string
			}
		}
	}
	g.mustQuery("", `{ products(first: 40) { nodes { id pictureUrl thumbnailUrl } } }`, nil, &d)
	return d.Products.Nodes
}

// TestPictureURLs (issue 13 point 8): without EXACTQL_PUBLIC_URL,
// pictureUrl and thumbnailUrl are the gateway's paths /images/{id} and
// /images/{id}/thumbnail; with it they are absolute URLs under it (its
// path kept, its trailing slash dropped). Both are null for an item
// without picture, and both are served: the thumbnail is Exact's
// PictureThumbnailUrl, smaller than the picture.
func TestPictureURLs(t *testing.T) {
	for _, tc := range []struct {
		name, publicURL, prefix string
	}{
		{"relative", "", ""},
		{"absolute", "https://shop.example.com/store/", "https://shop.example.com/store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, map[string]string{"EXACTQL_PUBLIC_URL": tc.publicURL})
			var with, without int
			var picPath, thumbPath string
			for _, n := range productPictures(g) {
				if n.PictureURL == nil {
					without++
					if n.ThumbnailURL != nil {
						t.Errorf("%s: thumbnailUrl %q without a picture", n.ID, *n.ThumbnailURL)
					}
					continue
				}
				with++
				wantPic := tc.prefix + "/images/" + strings.ToLower(n.ID)
				if *n.PictureURL != wantPic {
					t.Errorf("%s: pictureUrl %q, want %q", n.ID, *n.PictureURL, wantPic)
				}
				if n.ThumbnailURL == nil || *n.ThumbnailURL != wantPic+"/thumbnail" {
					t.Errorf("%s: thumbnailUrl %v, want %q", n.ID, n.ThumbnailURL, wantPic+"/thumbnail")
				}
				if picPath == "" {
					picPath, thumbPath = strings.TrimPrefix(*n.PictureURL, tc.prefix), strings.TrimPrefix(*n.ThumbnailURL, tc.prefix)
				}
			}
			if with == 0 || without == 0 {
				t.Fatalf("first page: %d products with a picture, %d without; want both", with, without)
			}
			var widths []int
			for _, p := range []string{picPath, thumbPath} {
				resp, body := get(t, g.st.URL+p, nil)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
					t.Fatalf("GET %s: %d %q", p, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				cfg, err := png.DecodeConfig(bytes.NewReader([]byte(body)))
				if err != nil {
					t.Fatalf("GET %s: not a PNG: %v", p, err)
				}
				widths = append(widths, cfg.Width)
			}
			if widths[1] >= widths[0] {
				t.Errorf("thumbnail %dpx wide, picture %dpx: want the thumbnail smaller", widths[1], widths[0])
			}
		})
	}
}

// TestPublicURLChecked: EXACTQL_PUBLIC_URL must be an absolute http(s) URL
// without query, fragment or user; anything else stops the start with an
// error naming the setting.
func TestPublicURLChecked(t *testing.T) {
	for _, bad := range []string{"shop", "/store", "shop.example.com", "ftp://shop.example.com", "https://",
		"https://shop.example.com/?a=1", "https://shop.example.com/?", "https://shop.example.com/#top", "https://u:p@shop.example.com"} {
		_, err := loadConfig(env(map[string]string{"EXACTQL_PUBLIC_URL": bad}))
		if err == nil || !strings.Contains(err.Error(), "EXACTQL_PUBLIC_URL") {
			t.Errorf("%q: err %v, want an EXACTQL_PUBLIC_URL error", bad, err)
		}
	}
	for in, want := range map[string]string{
		"https://shop.example.com":        "https://shop.example.com",
		"http://127.0.0.1:8080/":          "http://127.0.0.1:8080",
		"https://shop.example.com/store/": "https://shop.example.com/store",
	} {
		c, err := loadConfig(env(map[string]string{"EXACTQL_PUBLIC_URL": in}))
		if err != nil {
			t.Errorf("%q: %v", in, err)
		} else if c.PublicURL != want {
			t.Errorf("%q: PublicURL %q, want %q", in, c.PublicURL, want)
		}
	}
}
