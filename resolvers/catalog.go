package resolvers

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/exactql/exactql/apierr"
	"github.com/exactql/exactql/catalog"
	"github.com/exactql/exactql/catalog/index"
	"github.com/exactql/exactql/catalog/live"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/graph/model"
	"github.com/exactql/exactql/pricing"
	"github.com/shopspring/decimal"
)

// Limits of the catalog queries (ARCHITECTURE §3).
const (
	maxFirst       = 100
	defaultFirst   = 24
	maxCodes       = 100
	minSearchRunes = 2
	maxSearchRunes = 100
	maxCodeRunes   = 30 // Exact's Items.Code is string(30)
)

// cursor is the opaque position in a product list: the last code shown and
// a hash of the query it belongs to, so a cursor cannot be replayed on
// another search.
type cursor struct {
	Code  string `json:"c"`
	Query string `json:"q"`
}

func queryHash(search, group string) string {
	h := sha256.Sum256([]byte(search + "\x00" + group))
	return hex.EncodeToString(h[:6])
}

func encodeCursor(code, search, group string) string {
	return encodeCursorHash(code, queryHash(search, group))
}

// encodeCursorHash is encodeCursor with the query's hash computed once per
// page. It writes the same bytes json.Marshal(cursor{…}) would, without
// reflection: a code of plain printable ASCII (no quote, backslash or the
// characters json.Marshal escapes for HTML) is copied as is, anything else
// goes through json.Marshal.
func encodeCursorHash(code, hash string) string {
	var buf [96]byte
	b := append(buf[:0], `{"c":`...)
	if plainJSON(code) {
		b = append(b, '"')
		b = append(b, code...)
		b = append(b, '"')
	} else {
		q, _ := json.Marshal(code)
		b = append(b, q...)
	}
	b = append(b, `,"q":"`...)
	b = append(b, hash...) // hex digits
	b = append(b, `"}`...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// plainJSON reports whether json.Marshal writes s between quotes unchanged.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// decodeCursor returns the code after which to continue; any cursor that is
// not ours for this query is BAD_USER_INPUT.
func decodeCursor(s, search, group string) (string, error) {
	if len(s) > 512 {
		return "", apierr.BadInputf("after: not a valid cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", apierr.BadInputf("after: not a valid cursor")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Code == "" || !utf8.ValidString(c.Code) || len(c.Code) > 4*maxCodeRunes {
		return "", apierr.BadInputf("after: not a valid cursor")
	}
	if c.Query != queryHash(search, group) {
		return "", apierr.BadInputf("after: the cursor belongs to another search")
	}
	return c.Code, nil
}

// productView is one request's model.ProductViewer: it answers the
// per-viewer fields (price, priceBreaks, stock, availableQuantity) of the
// products a resolver returns from what the request's loaders hold (the
// page's prefetched prices and stock first), for the request's caller only.
// gqlgen calls it inline while it writes each product, so a page costs no
// goroutine per field and product.
//
// It keeps the context of the resolver that made it: the fields are
// answered while that resolver's answer is being written, within the same
// operation, and a lookup the page did not prefetch (or whose prefetch
// failed) goes through the loaders with it, batched across the products as
// before. An error is returned to gqlgen, which puts it at the field's path.
type productView struct {
	r   *Resolver
	ctx context.Context //nolint:containedctx // see above: the listing resolver's, used only during its answer
	l   *live.Loaders

	mu         sync.Mutex
	priceCtx   pricing.Context
	priceCtxOK bool
	warehouses []erp.Warehouse // nil until loaded (an error is not kept: the next field asks again)

	// page is the list products made, when a list made them; slot maps
	// each one's Item to its index. The first price asked at the default
	// quantity prices the whole page at once (pageOnce) from what Prefetch
	// loaded: one loop in one goroutine instead of the rules' deep call
	// chain on every product's own goroutine stack.
	page      []model.Product
	slot      map[*erp.Item]int
	pageOnce  sync.Once
	pagePrice []pagePrice
}

// pagePrice is one product's price at quantity 1, computed for the page.
type pagePrice struct {
	done  bool // false: not prefetched, the field asks the loaders itself
	price *model.Price
}

// view returns a fresh productView for the products a resolver returns.
func (r *Resolver) view(ctx context.Context) *productView {
	return &productView{r: r, ctx: ctx, l: r.loaders(ctx)}
}

// product wraps an item as a Product answered by v.
func (v *productView) product(it erp.Item) *model.Product {
	return &model.Product{Item: it, Viewer: v}
}

// products wraps items as Products answered by v, in one allocation: the
// page whose prices v computes together.
func (v *productView) products(items []erp.Item) []model.Product {
	out := make([]model.Product, len(items))
	v.slot = make(map[*erp.Item]int, len(items))
	for i := range items {
		out[i] = model.Product{Item: items[i], Viewer: v}
		v.slot[&out[i].Item] = i
	}
	v.page = out
	return out
}

// pagePriceOf returns the product's price at quantity 1 computed for its
// page, and false when the field must compute its own (not a page product,
// or its price inputs were not prefetched: the loaders then fetch them, and
// report their error, exactly as before). The same inputs and rules as
// Price, so the answer is the same.
func (v *productView) pagePriceOf(it *erp.Item) (*model.Price, bool) {
	i, ok := v.slot[it]
	if !ok {
		return nil, false
	}
	v.pageOnce.Do(v.pricePage)
	if i >= len(v.pagePrice) {
		return nil, false
	}
	pp := v.pagePrice[i]
	return pp.price, pp.done
}

// pricePage prices every page product whose inputs Prefetch loaded.
func (v *productView) pricePage() {
	v.pagePrice = make([]pagePrice, len(v.page))
	b, err := v.l.Buyer(v.ctx)
	if err != nil {
		return // each field asks (and reports the error) itself
	}
	if b == nil {
		for i := range v.pagePrice {
			v.pagePrice[i].done = true // the caller sees no prices: null
		}
		return
	}
	pc, terms := v.pricing()
	prices := make([]model.Price, len(v.page))
	amounts := make([][2]model.Money, len(v.page))
	for i := range v.page {
		d, ok := v.l.Prefetched(v.page[i].Item.ID)
		if !ok {
			continue
		}
		v.pagePrice[i].done = true
		if p, ok := pricing.Resolve(pc, terms, d, one); ok {
			fillPrice(&prices[i], &amounts[i], p)
			v.pagePrice[i].price = &prices[i]
		}
	}
}

// pricing returns the request's price context (today, once per request, so
// one answer never mixes two days) and the caller's pricing terms.
func (v *productView) pricing() (pricing.Context, pricing.Terms) {
	v.mu.Lock()
	if !v.priceCtxOK {
		v.priceCtx, v.priceCtxOK = v.r.priceContext(), true
	}
	pc := v.priceCtx
	v.mu.Unlock()
	return pc, v.r.buyerOf(v.ctx)
}

var one = decimal.NewFromInt(1)

// Price implements model.ProductViewer.
func (v *productView) Price(it *erp.Item, quantity *model.Decimal) (*model.Price, error) {
	q := one
	if quantity != nil {
		q = quantity.Decimal
	}
	if !q.IsPositive() {
		return nil, apierr.BadInputf("quantity: must be greater than 0")
	}
	if q.Equal(one) {
		if p, ok := v.pagePriceOf(it); ok {
			return p, nil
		}
	}
	return v.priceOf(it, q)
}

// priceOf is Price for one product on its own. It is a function of its own
// so that Price keeps a small stack frame: the rules' deep call chain then
// only grows the stack of the goroutines that take this path.
//
//go:noinline
func (v *productView) priceOf(it *erp.Item, q decimal.Decimal) (*model.Price, error) {
	d, ok, err := v.l.PriceData(v.ctx, *it)
	if err != nil || !ok {
		return nil, err
	}
	pc, terms := v.pricing()
	p, ok := pricing.Resolve(pc, terms, d, q)
	if !ok {
		return nil, nil
	}
	return priceModel(p), nil
}

// PriceBreaks implements model.ProductViewer.
func (v *productView) PriceBreaks(it *erp.Item) ([]*model.PriceBreak, error) {
	d, ok, err := v.l.PriceData(v.ctx, *it)
	if err != nil {
		return nil, err
	}
	out := []*model.PriceBreak{}
	if !ok {
		return out, nil
	}
	pc, terms := v.pricing()
	for _, b := range pricing.Breaks(pc, terms, d) {
		out = append(out, priceBreakModel(b))
	}
	return out, nil
}

// warehousesOf returns the warehouses, loaded once per view.
func (v *productView) warehousesOf() ([]erp.Warehouse, error) {
	v.mu.Lock()
	ws := v.warehouses
	v.mu.Unlock()
	if ws != nil {
		return ws, nil
	}
	ws, err := v.l.Reader().Warehouses(v.ctx)
	if err != nil {
		return nil, err
	}
	if ws == nil {
		ws = []erp.Warehouse{}
	}
	v.mu.Lock()
	v.warehouses = ws
	v.mu.Unlock()
	return ws, nil
}

// Stock implements model.ProductViewer. A stock figure that cannot be had
// (Exact down or rate limited on the fallback path) is the field's error:
// the field is null, the rest of the page stands.
func (v *productView) Stock(it *erp.Item, warehouse *string) ([]*model.StockLevel, error) {
	only := ""
	if warehouse != nil {
		if !erp.IsGUID(*warehouse) {
			return nil, apierr.BadInputf("warehouse: not a warehouse ID")
		}
		only = strings.ToLower(*warehouse)
	}
	ws, err := v.warehousesOf()
	if err != nil {
		return nil, err
	}
	e, err := v.l.Stock(v.ctx, it.ID)
	if err != nil {
		return nil, err
	}
	return stockLevels(ws, e, only), nil
}

// AvailableQuantity implements model.ProductViewer (null with the error
// when stock cannot be had, as Stock).
func (v *productView) AvailableQuantity(it *erp.Item) (*model.Decimal, error) {
	e, err := v.l.Stock(v.ctx, it.ID)
	if err != nil {
		return nil, err
	}
	d := model.NewDecimal(availableOf(e.Rows))
	return &d, nil
}

// searchTerm validates a search argument: at least 2 and at most 100
// characters after trimming. It only ever reaches Exact as a quoted literal.
func searchTerm(s *string) (string, error) {
	if s == nil {
		return "", nil
	}
	t := strings.TrimSpace(*s)
	if !utf8.ValidString(t) {
		return "", apierr.BadInputf("search: not valid UTF-8")
	}
	n := utf8.RuneCountInString(t)
	if n < minSearchRunes {
		return "", apierr.BadInputf("search: needs at least %d characters", minSearchRunes)
	}
	if n > maxSearchRunes {
		return "", apierr.BadInputf("search: at most %d characters", maxSearchRunes)
	}
	return t, nil
}

// priceContext is "today" and the division currency for the price rules.
func (r *Resolver) priceContext() pricing.Context {
	rd := r.Deps.Reader
	return pricing.Context{Today: rd.Today(), DivisionCurrency: rd.Config().Currency}
}

// buyerOf is the pricing identity of the request's caller. It is only
// called after PriceData reported that the caller sees prices, so the
// loaders' buyer is loaded.
func (r *Resolver) buyerOf(ctx context.Context) pricing.Terms {
	b, err := r.loaders(ctx).Buyer(ctx)
	if err != nil || b == nil {
		return pricing.Terms{}
	}
	return b.Pricing
}

// wants reports which per-product relations the current field's selection
// asks for anywhere below it (fragments included).
func wants(ctx context.Context) (prices, stock bool) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return true, true
	}
	oc := graphql.GetOperationContext(ctx)
	var walk func(ast.SelectionSet, int)
	walk = func(set ast.SelectionSet, depth int) {
		if depth > 20 {
			return
		}
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				// Which data a field reads is catalog.Fields' business.
				for _, d := range catalog.FieldNeeds(productType(s), s.Name) {
					switch d {
					case catalog.DataPrices:
						prices = true
					case catalog.DataStock:
						stock = true
					}
				}
				walk(s.SelectionSet, depth+1)
			case *ast.InlineFragment:
				walk(s.SelectionSet, depth+1)
			case *ast.FragmentSpread:
				if oc != nil && oc.Doc != nil {
					if f := oc.Doc.Fragments.ForName(s.Name); f != nil {
						walk(f.SelectionSet, depth+1)
					}
				}
			}
		}
	}
	walk(fc.Field.Selections, 0)
	return prices, stock
}

// productType is the type a selected field belongs to: "Product" for the
// fields below a product list (the only type prefetch looks at).
func productType(f *ast.Field) string {
	if f.ObjectDefinition != nil {
		return f.ObjectDefinition.Name
	}
	return "Product"
}

// prefetch loads the prices and stock a list's fields will need in one
// batch per kind of live. A failure is not the list's failure: the fields
// then load (and report) their own live.
func (r *Resolver) prefetch(ctx context.Context, items []erp.Item) {
	prices, stock := wants(ctx)
	_ = r.loaders(ctx).Prefetch(ctx, items, prices, stock)
}

// errMirrorLoading is the error of an argument or field only the catalog
// mirror can answer (search ranking, stock filters, other sorts,
// totalCount) while its first full pass is still running: the fallback
// path cannot (ARCHITECTURE §3). It is UPSTREAM_UNAVAILABLE: retry later.
func errMirrorLoading(what string) error {
	return &apierr.UpstreamError{Err: fmt.Errorf("%s is answered from the catalog mirror, which is still loading", what)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// indexSort maps the schema's ProductSort to the index's.
func indexSort(s *model.ProductSort) index.Sort {
	if s == nil {
		return index.SortDefault
	}
	switch *s {
	case model.ProductSortCode:
		return index.SortCode
	case model.ProductSortDescription:
		return index.SortDescription
	case model.ProductSortRelevance:
		return index.SortRelevance
	}
	return index.SortDefault
}

// productsFromIndex answers a product list from the mirror's index:
// search with accent folding, stock filters, every sort, totalCount, and
// the index's own cursors (stable while data changes).
func (r *Resolver) productsFromIndex(ctx context.Context, q index.Query) (*model.ProductConnection, error) {
	q.Today = r.Deps.Reader.Today()
	page, err := r.Deps.Mirror.Index().Snapshot().Products(q)
	if err != nil {
		if errors.Is(err, index.ErrInvalidArgument) {
			return nil, apierr.BadInputf("after: not a valid cursor for this query")
		}
		return nil, err
	}
	r.prefetch(ctx, page.Items)
	total := page.TotalCount
	conn := r.connection(ctx, page.Items, page.Cursors, page.HasNextPage)
	conn.Total = &total
	return conn, nil
}

// connection builds a product list's connection (edges and nodes share the
// products) from its items and their cursors.
func (r *Resolver) connection(ctx context.Context, items []erp.Item, cursors []string, more bool) *model.ProductConnection {
	ps := r.view(ctx).products(items)
	conn := &model.ProductConnection{Edges: make([]*model.ProductEdge, len(items)), Nodes: make([]*model.Product, len(items)),
		PageInfo: &model.PageInfo{HasNextPage: more}}
	edges := make([]model.ProductEdge, len(items))
	for i := range ps {
		p := &ps[i]
		edges[i] = model.ProductEdge{Cursor: cursors[i], Node: p}
		conn.Edges[i] = &edges[i]
		conn.Nodes[i] = p
	}
	if n := len(cursors); n > 0 {
		conn.PageInfo.EndCursor = &cursors[n-1]
	}
	return conn
}
