package resolvers

import (
	"strings"

	"github.com/exactql/exactql/server/images"
)

// imageURL is the gateway's URL of an item's picture (thumbnail false) or
// thumbnail, given the item's URL for it at Exact: nil when Exact has none,
// else the images route's path, prefixed with Deps.PublicURL when that is
// set. Exact's own URL never reaches the client (it needs Exact's token).
func (r *productResolver) imageURL(exactURL, itemID string, thumbnail bool) *string {
	if exactURL == "" || itemID == "" {
		return nil
	}
	u := strings.TrimRight(r.Deps.PublicURL, "/") + images.Path(itemID, thumbnail)
	return &u
}
