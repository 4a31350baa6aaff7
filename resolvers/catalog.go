package resolvers

import (
	"context"
	"errors"
	"fmt"

	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

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
	b, _ := json.Marshal(cursor{Code: code, Query: queryHash(search, group)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the code after which to continue; any cursor that is
// not ours for this query is BAD_USER_INPUT.
func decodeCursor(s, search, group string) (string, error) {
	if len(s) > 512 {
		return "", BadInputf("after: not a valid cursor")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", BadInputf("after: not a valid cursor")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Code == "" || !utf8.ValidString(c.Code) || len(c.Code) > 4*maxCodeRunes {
		return "", BadInputf("after: not a valid cursor")
	}
	if c.Query != queryHash(search, group) {
		return "", BadInputf("after: the cursor belongs to another search")
	}
	return c.Code, nil
}

// productOf wraps an item as a Product.
func productOf(it erp.Item) *model.Product { return &model.Product{Item: it} }

func money(d decimal.Decimal, currency string) *model.Money {
	return model.NewMoney(d, currency)
}

func priceModel(p pricing.Price) *model.Price {
	out := &model.Price{
		UnitPrice:          money(p.UnitPrice, p.Currency),
		ListPrice:          money(p.ListPrice, p.Currency),
		DiscountPercentage: model.NewDecimal(p.DiscountPercentage),
		Quantity:           model.NewDecimal(p.Quantity),
		Source:             model.PriceSource(p.Source),
	}
	if p.ValidUntil != nil && !p.ValidUntil.IsZero() {
		out.ValidUntil = &model.Date{Year: p.ValidUntil.Year, Month: p.ValidUntil.Month, Day: p.ValidUntil.Day}
	}
	return out
}

func warehouseModel(w erp.Warehouse) *model.Warehouse {
	return &model.Warehouse{ID: w.ID, Code: erp.Code(w.Code), Description: w.Description, IsMain: bool(w.Main)}
}

// stockLevels lists every warehouse (main first, zeros included) or only
// the one asked for, from an item's ItemWarehouses rows (ARCHITECTURE §5).
func stockLevels(ws []erp.Warehouse, e live.StockEntry, only string) []*model.StockLevel {
	byWH := map[string]erp.ItemWarehouse{}
	for _, row := range e.Rows {
		byWH[strings.ToLower(row.Warehouse)] = row
	}
	out := []*model.StockLevel{}
	for _, w := range ws {
		id := strings.ToLower(w.ID)
		if only != "" && id != only {
			continue
		}
		row := byWH[id]
		avail := row.CurrentStock.Sub(row.PlannedStockOut)
		if avail.IsNegative() {
			avail = decimal.Zero
		}
		out = append(out, &model.StockLevel{
			Warehouse:  warehouseModel(w),
			OnHand:     model.NewDecimal(row.CurrentStock),
			PlannedOut: model.NewDecimal(row.PlannedStockOut),
			PlannedIn:  model.NewDecimal(row.PlannedStockIn),
			Reserved:   model.NewDecimal(row.ReservedStock),
			Available:  model.NewDecimal(avail),
			AsOf:       model.NewDateTime(e.At),
		})
	}
	return out
}

// searchTerm validates a search argument: at least 2 and at most 100
// characters after trimming. It only ever reaches Exact as a quoted literal.
func searchTerm(s *string) (string, error) {
	if s == nil {
		return "", nil
	}
	t := strings.TrimSpace(*s)
	if !utf8.ValidString(t) {
		return "", BadInputf("search: not valid UTF-8")
	}
	n := utf8.RuneCountInString(t)
	if n < minSearchRunes {
		return "", BadInputf("search: needs at least %d characters", minSearchRunes)
	}
	if n > maxSearchRunes {
		return "", BadInputf("search: at most %d characters", maxSearchRunes)
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
	return &UpstreamError{Err: fmt.Errorf("%s is answered from the catalog mirror, which is still loading", what)}
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
			return nil, BadInputf("after: not a valid cursor for this query")
		}
		return nil, err
	}
	r.prefetch(ctx, page.Items)
	total := page.TotalCount
	conn := &model.ProductConnection{Edges: []*model.ProductEdge{}, Nodes: []*model.Product{},
		PageInfo: &model.PageInfo{HasNextPage: page.HasNextPage}, Total: &total}
	for i, it := range page.Items {
		p := productOf(it)
		c := page.Cursors[i]
		conn.Edges = append(conn.Edges, &model.ProductEdge{Cursor: c, Node: p})
		conn.Nodes = append(conn.Nodes, p)
		conn.PageInfo.EndCursor = &c
	}
	return conn, nil
}
