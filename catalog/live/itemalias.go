package live

import (
	"context"
	"strings"
	"sync"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
)

// seedItems stores items that were just loaded from Exact under their other
// key as well: items loaded by code under their ID (byCode false) and items
// loaded by ID under their code (byCode true), so an item read one way is
// known the other way without a second Exact call (issue 13 item 2: the
// order payload shows a line's product by ID after validation read it by
// code). Keys that already hold a fresh entry are left as they are. It runs
// after the loading GetMany has finished, never inside a load, so two loads
// seeding each other's keys cannot wait on each other.
func (r *Reader) seedItems(ctx context.Context, items []erp.Item, byCode bool) {
	if len(items) == 0 {
		return
	}
	kind, keyOf := r.kItem, func(it erp.Item) string { return strings.ToLower(it.ID) }
	if byCode {
		kind, keyOf = r.kItemCode, func(it erp.Item) string { return strings.ToLower(it.Code) }
	}
	have := make(map[string]erp.Item, len(items))
	for _, it := range items {
		if k := keyOf(it); strings.TrimSpace(k) != "" {
			have[r.key(kind.Name, k)] = it
		}
	}
	keys := make([]string, 0, len(have))
	for k := range have {
		keys = append(keys, k)
	}
	// The load answers from the items at hand, never from Exact; an error
	// here only means the other key stays cold.
	_, _, _ = cache.GetMany(context.WithoutCancel(ctx), r.c, kind, keys, func(_ context.Context, missing []string) (map[string]erp.Item, error) {
		out := make(map[string]erp.Item, len(missing))
		for _, k := range missing {
			if it, ok := have[k]; ok {
				out[k] = it
			}
		}
		return out, nil
	}, costOf[erp.Item](768))
}

// itemsLoaded holds the items one load fetched from Exact. A load may also
// run in the background (a stale entry's refresh) after its caller has
// returned: the mutex keeps that safe, and such a late load is simply not
// seeded.
type itemsLoaded struct {
	mu    sync.Mutex
	items []erp.Item
}

func (l *itemsLoaded) set(items []erp.Item) {
	l.mu.Lock()
	l.items = items
	l.mu.Unlock()
}

func (l *itemsLoaded) get() []erp.Item {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.items
}
