package live

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/pricing"
	"github.com/vikstrous/dataloadgen"
	"golang.org/x/sync/errgroup"
)

// batchWait is how long a per-request loader collects keys before fetching.
// gqlgen resolves list elements concurrently, so a short window suffices;
// cache hits never reach a loader (see Loaders.PriceData), so they never wait.
const batchWait = 2 * time.Millisecond

// Loaders are the per-request dataloaders of one GraphQL request. Create
// them per request with NewLoaders; they batch misses across the fields of
// that request and go through the shared Reader (and so the shared cache
// and its cross-request single-flight).
type Loaders struct {
	r *Reader

	items     *dataloadgen.Loader[string, *erp.Item]
	itemCodes *dataloadgen.Loader[string, *erp.Item]
	stock     *dataloadgen.Loader[string, StockEntry]

	buyerMu   sync.Mutex
	buyerDone bool
	buyer     *BuyerData
	buyerErr  error
	buyerID   string
	public    bool

	priceMu sync.Mutex
	prices  *dataloadgen.Loader[string, pricing.Data]
	items4p map[string]erp.Item

	// memo holds what Prefetch loaded for this request, by lower-case item ID.
	memoMu    sync.Mutex
	priceMemo map[string]pricing.Data
	stockMemo map[string]StockEntry
}

// NewLoaders returns fresh loaders for one request. account is the buyer's
// Exact account ("" for anonymous); public enables default prices for
// anonymous callers.
func NewLoaders(r *Reader, account string, public bool) *Loaders {
	l := &Loaders{r: r, buyerID: account, public: public, items4p: map[string]erp.Item{}}
	l.items = dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([]*erp.Item, []error) {
		items, err := r.Items(ctx, ids)
		if err != nil {
			// dataloadgen wants one value per key even on error, else it
			// reports "bug in fetch function" instead of err.
			return make([]*erp.Item, len(ids)), fill(len(ids), err)
		}
		return items, nil
	}, dataloadgen.WithWait(batchWait), dataloadgen.WithBatchCapacity(100))
	l.itemCodes = dataloadgen.NewLoader(func(ctx context.Context, codes []string) ([]*erp.Item, []error) {
		items, err := r.ItemsByCode(ctx, codes)
		if err != nil {
			return make([]*erp.Item, len(codes)), fill(len(codes), err)
		}
		return items, nil
	}, dataloadgen.WithWait(batchWait), dataloadgen.WithBatchCapacity(100))
	l.stock = dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([]StockEntry, []error) {
		rows, err := r.Stock(ctx, ids)
		if err != nil {
			return make([]StockEntry, len(ids)), fill(len(ids), err)
		}
		return rows, nil
	}, dataloadgen.WithWait(batchWait), dataloadgen.WithBatchCapacity(100))
	l.prices = dataloadgen.NewLoader(func(ctx context.Context, ids []string) ([]pricing.Data, []error) {
		b, err := l.Buyer(ctx)
		if err != nil || b == nil {
			return make([]pricing.Data, len(ids)), fill(len(ids), err)
		}
		l.priceMu.Lock()
		items := make([]erp.Item, len(ids))
		for i, id := range ids {
			items[i] = l.items4p[id]
		}
		l.priceMu.Unlock()
		data, err := r.PriceData(ctx, b, items)
		if err != nil {
			return make([]pricing.Data, len(ids)), fill(len(ids), err)
		}
		return data, nil
	}, dataloadgen.WithWait(batchWait), dataloadgen.WithBatchCapacity(100))
	return l
}

// fill returns n copies of err, or nil when err is nil.
func fill(n int, err error) []error {
	if err == nil {
		return nil
	}
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// Reader returns the shared reader.
func (l *Loaders) Reader() *Reader { return l.r }

// Item loads one item by ID; nil when unknown.
func (l *Loaders) Item(ctx context.Context, id string) (*erp.Item, error) {
	if !erp.IsGUID(id) {
		return nil, nil
	}
	return l.items.Load(ctx, strings.ToLower(id))
}

// ItemByCode loads one item by code; nil when unknown.
func (l *Loaders) ItemByCode(ctx context.Context, code string) (*erp.Item, error) {
	return l.itemCodes.Load(ctx, code)
}

// ItemsByCode loads many items by code in order; nil where unknown.
func (l *Loaders) ItemsByCode(ctx context.Context, codes []string) ([]*erp.Item, error) {
	return l.itemCodes.LoadAll(ctx, codes)
}

// Stock loads an item's ItemWarehouses rows.
func (l *Loaders) Stock(ctx context.Context, itemID string) (StockEntry, error) {
	l.memoMu.Lock()
	e, hit := l.stockMemo[strings.ToLower(itemID)]
	l.memoMu.Unlock()
	if hit {
		return e, nil
	}
	if rows, ok := l.r.PeekStock(itemID); ok {
		return rows, nil
	}
	return l.stock.Load(ctx, strings.ToLower(itemID))
}

// Buyer returns the request's pricing identity: the buyer's data, the public
// buyer for anonymous callers with public prices, or nil (no prices).
//
// The result is kept for the rest of the request, except an error caused by
// the asking context ending (a cancelled sibling in a batch): the next
// caller, with a live context, asks again (from the cache, so Exact is not
// asked twice).
func (l *Loaders) Buyer(ctx context.Context) (*BuyerData, error) {
	l.buyerMu.Lock()
	defer l.buyerMu.Unlock()
	if l.buyerDone {
		return l.buyer, l.buyerErr
	}
	var b *BuyerData
	var err error
	switch {
	case l.buyerID != "":
		b, err = l.r.BuyerData(ctx, l.buyerID)
	case l.public:
		b = l.r.PublicBuyer()
	}
	if err != nil && ctx.Err() != nil {
		return nil, err
	}
	l.buyer, l.buyerErr, l.buyerDone = b, err, true
	return b, err
}

// PriceData loads the price rule inputs for one item for the request's buyer.
// ok is false when the caller sees no prices.
func (l *Loaders) PriceData(ctx context.Context, it erp.Item) (d pricing.Data, ok bool, err error) {
	b, err := l.Buyer(ctx)
	if err != nil || b == nil {
		return pricing.Data{}, false, err
	}
	id := strings.ToLower(it.ID)
	l.memoMu.Lock()
	d, hit := l.priceMemo[id]
	l.memoMu.Unlock()
	if hit {
		return d, true, nil
	}
	if d, hit := l.r.PeekPriceData(b, it); hit {
		return d, true, nil
	}
	l.priceMu.Lock()
	l.items4p[id] = it
	l.priceMu.Unlock()
	d, err = l.prices.Load(ctx, id)
	return d, err == nil, err
}

// Prefetched returns the price inputs Prefetch loaded for the item in this
// request, without asking anyone else: false when Prefetch did not load
// them (not asked, or failed).
func (l *Loaders) Prefetched(itemID string) (pricing.Data, bool) {
	l.memoMu.Lock()
	defer l.memoMu.Unlock()
	d, ok := l.priceMemo[strings.ToLower(itemID)]
	return d, ok
}

// Prefetch loads, for a whole list of items at once, the price inputs
// and/or stock the request's fields will ask for, so that a page costs one
// batched lookup per kind of data without depending on a batch window
// (deterministic call counts).
func (l *Loaders) Prefetch(ctx context.Context, items []erp.Item, prices, stock bool) error {
	if len(items) == 0 || (!prices && !stock) {
		return nil
	}
	// Not errgroup.WithContext: its context is cancelled as soon as one half
	// fails (and when Wait returns), and Buyer's sync.Once would then keep
	// context.Canceled as the buyer's error for the rest of the request,
	// turning one RATE_LIMITED lookup into "request cancelled" everywhere.
	var g errgroup.Group
	gctx := ctx
	if prices {
		g.Go(func() error {
			b, err := l.Buyer(gctx)
			if err != nil || b == nil {
				return err
			}
			data, err := l.r.PriceData(gctx, b, items)
			if err != nil {
				return err
			}
			l.memoMu.Lock()
			defer l.memoMu.Unlock()
			if l.priceMemo == nil {
				l.priceMemo = map[string]pricing.Data{}
			}
			for i, it := range items {
				l.priceMemo[strings.ToLower(it.ID)] = data[i]
			}
			return nil
		})
	}
	if stock {
		g.Go(func() error {
			ids := make([]string, len(items))
			for i, it := range items {
				ids[i] = strings.ToLower(it.ID)
			}
			entries, err := l.r.Stock(gctx, ids)
			if err != nil {
				return err
			}
			l.memoMu.Lock()
			defer l.memoMu.Unlock()
			if l.stockMemo == nil {
				l.stockMemo = map[string]StockEntry{}
			}
			for i, id := range ids {
				l.stockMemo[id] = entries[i]
			}
			return nil
		})
	}
	return g.Wait()
}
