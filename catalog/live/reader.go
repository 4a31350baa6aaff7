package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
	"golang.org/x/sync/errgroup"
)

// TTLs are the cache lifetimes per kind of data (ARCHITECTURE §3).
type TTLs struct {
	Reference time.Duration // item groups, warehouses, shipping methods
	Items     time.Duration
	Prices    time.Duration
	Accounts  time.Duration
	Stock     time.Duration
	Absent    time.Duration
}

// DefaultTTLs returns the documented defaults.
func DefaultTTLs() TTLs {
	return TTLs{Reference: time.Hour, Items: 10 * time.Minute, Prices: 5 * time.Minute,
		Accounts: 5 * time.Minute, Stock: 60 * time.Second, Absent: 5 * time.Minute}
}

// Config configures a Reader.
type Config struct {
	Division int
	// Shop is the currency, time zone and sellability rule the order
	// service shares.
	validate.Shop
	Now  func() time.Time
	TTLs TTLs
	// Freshness are the staleness bounds; zero means DefaultFreshness.
	Freshness Freshness
	// Mirror, when set, answers every read whose feeds have completed
	// their first full pass, without the cache (the mirror is kept fresh
	// by the feeds, and a cached copy would hide a webhook's change).
	Mirror Mirror
}

// Reader answers the gateway's reads from the cache and, on misses, from
// Exact. It is shared by all requests; per-request batching lives in Loaders.
type Reader struct {
	up  Upstream
	c   *cache.Cache
	cfg Config

	kItem, kItemCode, kPage, kGroups, kWarehouses, kShipping cache.Kind
	kAccount, kAgreements, kPriceList, kPeriods, kDefault    cache.Kind
	kVD, kStock, kContacts, kAddresses                       cache.Kind
}

// NewReader returns a Reader over up and c.
func NewReader(up Upstream, c *cache.Cache, cfg Config) *Reader {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Shop = cfg.Shop.WithDefaults()
	t := cfg.TTLs
	if t == (TTLs{}) {
		t = DefaultTTLs()
	}
	if cfg.Freshness == (Freshness{}) {
		cfg.Freshness = DefaultFreshness()
	}
	k := func(name string, ttl time.Duration) cache.Kind {
		return cache.Kind{Name: name, TTL: ttl, NegativeTTL: t.Absent, StaleAfter: cfg.Freshness.bound(staleClass[name])}
	}
	return &Reader{up: up, c: c, cfg: cfg,
		kItem: k("item", t.Items), kItemCode: k("itemcode", t.Items), kPage: k("page", t.Items),
		kGroups: k("itemgroups", t.Reference), kWarehouses: k("warehouses", t.Reference),
		kShipping: k("shipping", t.Reference), kAccount: k("account", t.Accounts),
		kAgreements: k("agreements", t.Prices), kPriceList: k("pricelist", t.Prices),
		kPeriods: k("periods", t.Prices), kDefault: k("defaultprices", t.Prices),
		kVD:    k("volumediscounts", t.Prices),
		kStock: k("stock", t.Stock), kContacts: k("contacts", t.Accounts),
		kAddresses: k("addresses", t.Accounts)}
}

// Begin notes the start of a GraphQL operation for an upstream that merges
// concurrent lookups (MergingUpstream), which sends its calls as soon as
// every operation in progress waits for one; it returns the operation's
// context and the function to call when the operation has been answered.
// Over other upstreams it does nothing.
func (r *Reader) Begin(ctx context.Context) (context.Context, func()) {
	if b, ok := r.up.(interface {
		Begin(context.Context) (context.Context, func())
	}); ok {
		return b.Begin(ctx)
	}
	return ctx, func() {}
}

// Config returns the reader's configuration.
func (r *Reader) Config() Config { return r.cfg }

// Today is the calendar date in the division's time zone.
func (r *Reader) Today() civil.Date { return r.cfg.Today(r.cfg.Now()) }

func (r *Reader) key(kind string, parts ...string) string {
	return cache.Key(r.cfg.Division, kind, parts...)
}

// keys maps ids to cache keys of one kind, keeping order.
func (r *Reader) keys(kind string, prefix []string, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = r.key(kind, append(append([]string(nil), prefix...), id)...)
	}
	return out
}

// byKey turns a loaded slice into a map by cache key for GetMany.
func byKey[T any](r *Reader, kind string, prefix []string, rows []T, id func(T) string) map[string]T {
	m := make(map[string]T, len(rows))
	for _, row := range rows {
		m[r.key(kind, append(append([]string(nil), prefix...), id(row))...)] = row
	}
	return m
}

// groupByKey groups rows by cache key; every requested key gets an entry
// (possibly empty) so that "no rows" is cached as a value, not as absent.
func groupByKey[T any](r *Reader, kind string, prefix []string, requested []string, rows []T, id func(T) string) map[string][]T {
	m := make(map[string][]T, len(requested))
	for _, k := range requested {
		m[k] = []T{}
	}
	for _, row := range rows {
		k := r.key(kind, append(append([]string(nil), prefix...), id(row))...)
		if _, ok := m[k]; ok {
			m[k] = append(m[k], row)
		}
	}
	return m
}

// keyUnescaper undoes cache.Key's escaping of one part.
var keyUnescaper = strings.NewReplacer("%2F", "/", "%25", "%")

// idsOf recovers the last key part (the id) of cache keys.
func idsOf(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = keyUnescaper.Replace(k[strings.LastIndexByte(k, '/')+1:])
	}
	return out
}

func costOf[T any](n int) func(T) int64 {
	return func(T) int64 { return int64(n) }
}

func costSlice[T any](per int) func([]T) int64 {
	return func(v []T) int64 { return int64(64 + per*len(v)) }
}

// Items returns the items with the given IDs in order; nil where unknown.
func (r *Reader) Items(ctx context.Context, ids []string) ([]*erp.Item, error) {
	if m := r.mirror(); m != nil {
		if items, ok := m.ItemsByIDs(ids); ok {
			r.noteMirror(ctx, "items")
			return inOrder(ids, items, func(it erp.Item) string { return it.ID }), nil
		}
	}
	keys := r.keys(r.kItem.Name, nil, ids)
	var loaded itemsLoaded // from Exact, to seed by code (seedItems)
	defer func() { r.seedItems(ctx, loaded.get(), true) }()
	vals, found, err := cache.GetMany(ctx, r.c, r.kItem, keys, func(ctx context.Context, missing []string) (map[string]erp.Item, error) {
		items, err := r.up.ItemsByIDs(ctx, idsOf(missing))
		if err != nil {
			return nil, err
		}
		loaded.set(items)
		return byKey(r, r.kItem.Name, nil, items, func(it erp.Item) string { return strings.ToLower(it.ID) }), nil
	}, costOf[erp.Item](768))
	if err != nil {
		return nil, err
	}
	return present(vals, found), nil
}

// ItemsByCode returns the items with the given codes in order; nil where unknown.
// Codes are matched exactly as Exact stores them (case-insensitively on Exact's side).
func (r *Reader) ItemsByCode(ctx context.Context, codes []string) ([]*erp.Item, error) {
	if m := r.mirror(); m != nil {
		if items, ok := m.ItemsByCodes(codes); ok {
			r.noteMirror(ctx, "items")
			return inOrder(codes, items, func(it erp.Item) string { return it.Code }), nil
		}
	}
	norm := make([]string, len(codes))
	for i, c := range codes {
		norm[i] = strings.ToLower(c)
	}
	keys := r.keys(r.kItemCode.Name, nil, norm)
	var loaded itemsLoaded // from Exact, to seed by ID (seedItems)
	defer func() { r.seedItems(ctx, loaded.get(), false) }()
	vals, found, err := cache.GetMany(ctx, r.c, r.kItemCode, keys, func(ctx context.Context, missing []string) (map[string]erp.Item, error) {
		// Keys are lower-cased; ask Exact with the caller's spelling (Exact
		// compares case-insensitively), mapping back by lower case.
		want := map[string]bool{}
		for _, k := range missing {
			want[k] = true
		}
		var ask []string
		seen := map[string]bool{}
		for i, c := range codes {
			if want[keys[i]] && !seen[keys[i]] {
				seen[keys[i]] = true
				ask = append(ask, c)
			}
		}
		items, err := r.up.ItemsByCodes(ctx, ask)
		if err != nil {
			return nil, err
		}
		loaded.set(items)
		return byKey(r, r.kItemCode.Name, nil, items, func(it erp.Item) string { return strings.ToLower(it.Code) }), nil
	}, costOf[erp.Item](768))
	if err != nil {
		return nil, err
	}
	return present(vals, found), nil
}

// present is GetMany's answer as pointers: nil where a key was not found.
func present[T any](vals []T, found []bool) []*T {
	out := make([]*T, len(vals))
	for i := range vals {
		if found[i] {
			v := vals[i]
			out[i] = &v
		}
	}
	return out
}

// Page is one page of sellable items.
type Page struct {
	Items []erp.Item
	More  bool
}

// ItemsPage returns a page of sellable items sorted by code, cached per query.
func (r *Reader) ItemsPage(ctx context.Context, q ItemQuery) (Page, error) {
	q.Today = r.Today().String()
	q.WebshopOnly = r.cfg.WebshopOnly
	h := sha256.Sum256([]byte(fmt.Sprintf("%q|%q|%q|%d|%s|%t", q.Search, q.ItemGroup, q.AfterCode, q.Limit, q.Today, q.WebshopOnly)))
	key := r.key(r.kPage.Name, hex.EncodeToString(h[:12]))
	if m := r.mirror(); m != nil {
		if items, more, ok := m.ItemsPage(q); ok {
			r.noteMirror(ctx, "items")
			return Page{Items: items, More: more}, nil
		}
	}
	return cache.Get(ctx, r.c, r.kPage, key, func(ctx context.Context) (Page, error) {
		items, more, err := r.up.ItemsPage(ctx, q)
		if err != nil {
			return Page{}, err
		}
		return Page{Items: items, More: more}, nil
	}, func(p Page) int64 { return int64(128 + 768*len(p.Items)) })
}

// ItemGroups returns all item groups.
func (r *Reader) ItemGroups(ctx context.Context) ([]erp.ItemGroup, error) {
	if m := r.mirror(); m != nil {
		if gs, ok := m.ItemGroups(); ok {
			r.noteMirror(ctx, "itemGroups")
			// Exact lists them by code ($orderby=Code); so does the mirror.
			sort.SliceStable(gs, func(i, j int) bool { return gs[i].Code < gs[j].Code })
			return gs, nil
		}
	}
	return cache.Get(ctx, r.c, r.kGroups, r.key(r.kGroups.Name), r.up.ItemGroups, costSlice[erp.ItemGroup](160))
}

// Warehouses returns all warehouses, the main warehouse first, then by code.
func (r *Reader) Warehouses(ctx context.Context) ([]erp.Warehouse, error) {
	if m := r.mirror(); m != nil {
		if ws, ok := m.Warehouses(); ok {
			r.noteMirror(ctx, "warehouses")
			sortWarehouses(ws)
			return ws, nil
		}
	}
	return cache.Get(ctx, r.c, r.kWarehouses, r.key(r.kWarehouses.Name), func(ctx context.Context) ([]erp.Warehouse, error) {
		ws, err := r.up.Warehouses(ctx)
		if err != nil {
			return nil, err
		}
		sortWarehouses(ws)
		return ws, nil
	}, costSlice[erp.Warehouse](160))
}

// sortWarehouses puts the main warehouse first, then the others by code.
func sortWarehouses(ws []erp.Warehouse) {
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].Main != ws[j].Main {
			return bool(ws[i].Main)
		}
		return erp.Code(ws[i].Code) < erp.Code(ws[j].Code)
	})
}

// ShippingMethods returns the active shipping methods.
func (r *Reader) ShippingMethods(ctx context.Context) ([]erp.ShippingMethod, error) {
	if m := r.mirror(); m != nil {
		if all, ok := m.ShippingMethods(); ok {
			r.noteMirror(ctx, "shippingMethods")
			return activeByCode(all), nil
		}
	}
	return cache.Get(ctx, r.c, r.kShipping, r.key(r.kShipping.Name), func(ctx context.Context) ([]erp.ShippingMethod, error) {
		all, err := r.up.ShippingMethods(ctx)
		if err != nil {
			return nil, err
		}
		return activeByCode(all), nil
	}, costSlice[erp.ShippingMethod](160))
}

// activeByCode keeps the active shipping methods, by code.
func activeByCode(all []erp.ShippingMethod) []erp.ShippingMethod {
	out := all[:0:0]
	for _, m := range all {
		if m.Active {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return erp.Code(out[i].Code) < erp.Code(out[j].Code) })
	return out
}

// Account returns one account, or erp.ErrNotFound.
func (r *Reader) Account(ctx context.Context, id string) (*erp.Account, error) {
	return getOne(ctx, r, id, r.kAccount, "accounts",
		func(m Mirror, ids []string) ([]erp.Account, bool) { return m.Accounts(ids) },
		r.up.Accounts, func(a erp.Account) string { return a.ID }, 512)
}

// PriceList returns one price list, or erp.ErrNotFound.
func (r *Reader) PriceList(ctx context.Context, id string) (*erp.SalesPriceList, error) {
	return getOne(ctx, r, id, r.kPriceList, "priceLists",
		func(m Mirror, ids []string) ([]erp.SalesPriceList, bool) { return m.PriceLists(ids) },
		r.up.PriceLists, func(p erp.SalesPriceList) string { return p.ID }, 256)
}

// getOne reads one record by GUID: from the mirror when it holds the kind
// (noted as mirrorKind for freshness), else through the cache of kind k,
// loading a miss with fetch. An unknown or malformed ID is erp.ErrNotFound.
func getOne[T any](ctx context.Context, r *Reader, id string, k cache.Kind, mirrorKind string,
	fromMirror func(Mirror, []string) ([]T, bool), fetch func(context.Context, []string) ([]T, error),
	idOf func(T) string, cost int) (*T, error) {
	if !erp.IsGUID(id) {
		return nil, erp.ErrNotFound
	}
	id = strings.ToLower(id)
	if m := r.mirror(); m != nil {
		if rows, ok := fromMirror(m, []string{id}); ok {
			r.noteMirror(ctx, mirrorKind)
			if len(rows) == 0 {
				return nil, erp.ErrNotFound
			}
			v := rows[0]
			return &v, nil
		}
	}
	vals, found, err := cache.GetMany(ctx, r.c, k, []string{r.key(k.Name, id)}, func(ctx context.Context, missing []string) (map[string]T, error) {
		rows, err := fetch(ctx, idsOf(missing))
		if err != nil {
			return nil, err
		}
		return byKey(r, k.Name, nil, rows, func(v T) string { return strings.ToLower(idOf(v)) }), nil
	}, costOf[T](cost))
	if err != nil {
		return nil, err
	}
	if !found[0] {
		return nil, erp.ErrNotFound
	}
	v := vals[0]
	return &v, nil
}

// Contacts returns the account's contacts, the main contact first.
func (r *Reader) Contacts(ctx context.Context, account string) ([]erp.Contact, error) {
	return accountRows(ctx, r, account, "contacts", r.kContacts,
		func(m Mirror) ([]erp.Contact, bool) { return m.Contacts(account) }, r.up.Contacts, sortContacts)
}

// Addresses returns the account's addresses, main ones first.
func (r *Reader) Addresses(ctx context.Context, account string) ([]erp.Address, error) {
	return accountRows(ctx, r, account, "addresses", r.kAddresses,
		func(m Mirror) ([]erp.Address, bool) { return m.Addresses(account) }, r.up.Addresses, sortAddresses)
}

// accountRows answers rows of one account (contacts, addresses): from the
// mirror when it serves them, else from the cache over Exact; sorted the
// same way either way.
func accountRows[T any](ctx context.Context, r *Reader, account, data string, k cache.Kind,
	fromMirror func(Mirror) ([]T, bool), fromExact func(context.Context, string) ([]T, error), sortRows func([]T)) ([]T, error) {
	if m := r.mirror(); m != nil {
		if rows, ok := fromMirror(m); ok {
			r.noteMirror(ctx, data)
			sortRows(rows)
			return rows, nil
		}
	}
	return cache.Get(ctx, r.c, k, r.key(k.Name, strings.ToLower(account)), func(ctx context.Context) ([]T, error) {
		rows, err := fromExact(ctx, account)
		if err != nil {
			return nil, err
		}
		sortRows(rows)
		return rows, nil
	}, costSlice[T](256))
}

// StockEntry is an item's stock rows and when they were read from Exact.
type StockEntry struct {
	Rows []erp.ItemWarehouse
	At   time.Time
}

// Stock returns the ItemWarehouses rows per item, in order of ids.
func (r *Reader) Stock(ctx context.Context, ids []string) ([]StockEntry, error) {
	if m := r.mirror(); m != nil {
		if rows, at, ok := m.StockRows(ids); ok {
			r.noteMirror(ctx, "stock")
			out := make([]StockEntry, len(ids))
			for i := range ids {
				out[i] = StockEntry{Rows: rows[i], At: at}
			}
			return out, nil
		}
	}
	keys := r.keys(r.kStock.Name, nil, lower(ids))
	vals, _, err := cache.GetMany(ctx, r.c, r.kStock, keys, func(ctx context.Context, missing []string) (map[string]StockEntry, error) {
		// The client chunks the IDs by its batch size; a chunk whose rows
		// overflow one 60-row page costs one more page call.
		rows, err := r.up.ItemWarehouses(ctx, idsOf(missing))
		if err != nil {
			return nil, err
		}
		at := r.cfg.Now()
		grouped := groupByKey(r, r.kStock.Name, nil, missing, rows, func(w erp.ItemWarehouse) string { return strings.ToLower(w.Item) })
		out := make(map[string]StockEntry, len(grouped))
		for k, v := range grouped {
			out[k] = StockEntry{Rows: v, At: at}
		}
		return out, nil
	}, func(e StockEntry) int64 { return int64(96 + 256*len(e.Rows)) })
	return vals, err
}

func lower(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.ToLower(id)
	}
	return out
}

// BuyerData is everything about one buyer account that its prices depend on,
// fetched per buyer as a whole (ARCHITECTURE §3.3).
type BuyerData struct {
	Account    *erp.Account // nil for anonymous public prices
	Pricing    pricing.Terms
	Agreements map[string][]erp.SalesItemPrice // by lower-case item ID
	// Periods are the buyer's price-list periods valid today.
	Periods []erp.SalesPriceListPeriod
	// mirrored is set when the buyer came from the mirror without
	// agreements and periods: only the mirror's PriceData prices it.
	mirrored bool
}

// PublicBuyer is the pricing identity of an anonymous caller when public
// prices are enabled: the division's currency, no agreements.
func (r *Reader) PublicBuyer() *BuyerData {
	return &BuyerData{Pricing: pricing.Terms{Currency: r.cfg.Currency}}
}

// BuyerData loads the account, its agreements and its price-list periods.
func (r *Reader) BuyerData(ctx context.Context, account string) (*BuyerData, error) {
	acct, err := r.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	b := &BuyerData{Account: acct, Pricing: pricing.TermsFromAccount(*acct, r.cfg.Currency)}
	if m := r.mirror(); m != nil && m.Prices() {
		r.noteMirror(ctx, "prices")
		// The mirror's PriceData reads the agreements and periods itself.
		b.mirrored = true
		return b, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	var rows []erp.SalesItemPrice
	g.Go(func() error {
		var err error
		rows, err = cache.Get(gctx, r.c, r.kAgreements, r.key(r.kAgreements.Name, strings.ToLower(acct.ID)), func(ctx context.Context) ([]erp.SalesItemPrice, error) {
			return r.up.AccountPrices(ctx, acct.ID)
		}, costSlice[erp.SalesItemPrice](200))
		return err
	})
	var periods []erp.SalesPriceListPeriod
	if acct.PriceList != "" {
		g.Go(func() error {
			var err error
			periods, err = cache.Get(gctx, r.c, r.kPeriods, r.key(r.kPeriods.Name, strings.ToLower(acct.PriceList)), func(ctx context.Context) ([]erp.SalesPriceListPeriod, error) {
				return r.up.PriceListPeriods(ctx, acct.PriceList)
			}, costSlice[erp.SalesPriceListPeriod](200))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	b.Agreements = map[string][]erp.SalesItemPrice{}
	for _, row := range rows {
		id := strings.ToLower(row.Item)
		b.Agreements[id] = append(b.Agreements[id], row)
	}
	today := r.Today()
	for _, p := range periods {
		if validOn(p.StartDate, p.EndDate, today) {
			b.Periods = append(b.Periods, p)
		}
	}
	return b, nil
}

// periodIDs returns the sorted IDs of the buyer's valid periods.
func (b *BuyerData) periodIDs() []string {
	ids := make([]string, len(b.Periods))
	for i, p := range b.Periods {
		ids[i] = strings.ToLower(p.ID)
	}
	sort.Strings(ids)
	return ids
}

// PriceData returns, for each item, every Exact row the price rules may
// consult for this buyer: one batched lookup per kind of data for all items.
func (r *Reader) PriceData(ctx context.Context, b *BuyerData, items []erp.Item) ([]pricing.Data, error) {
	if m := r.mirror(); m != nil {
		if d, ok := m.PriceData(b.Pricing, items); ok {
			r.noteMirror(ctx, "prices")
			return d, nil
		}
	}
	if b.mirrored {
		// Unreachable while feeds only ever complete; refuse rather than
		// price without the buyer's agreements.
		return nil, fmt.Errorf("live.PriceData: the mirror no longer serves prices")
	}
	ids := make([]string, len(items))
	var groups []string
	seenGroup := map[string]bool{}
	for i, it := range items {
		ids[i] = strings.ToLower(it.ID)
		if g := strings.ToLower(it.ItemGroup); g != "" && !seenGroup[g] {
			seenGroup[g] = true
			groups = append(groups, g)
		}
	}
	today := r.Today()
	eg, gctx := errgroup.WithContext(ctx)
	var defaults [][]erp.SalesItemPrice
	eg.Go(func() error {
		// Only rows valid today are fetched, so the key carries the day.
		day := []string{today.String()}
		keys := r.keys(r.kDefault.Name, day, ids)
		var err error
		defaults, _, err = cache.GetMany(gctx, r.c, r.kDefault, keys, func(ctx context.Context, missing []string) (map[string][]erp.SalesItemPrice, error) {
			rows, err := r.up.DefaultPrices(ctx, idsOf(missing), today)
			if err != nil {
				return nil, err
			}
			return groupByKey(r, r.kDefault.Name, day, missing, rows, func(p erp.SalesItemPrice) string { return strings.ToLower(p.Item) }), nil
		}, costSlice[erp.SalesItemPrice](200))
		return err
	})
	// Volume discounts: one key per item and per item group of the page in
	// one kind, so both kinds of rows come in the same chunked calls.
	var vd [][]erp.SalesPriceListVolumeDiscount
	var vdKeys []string
	vdIndex := map[string]int{}
	if b.Account != nil && b.Account.PriceList != "" && len(b.Periods) > 0 {
		periods := b.periodIDs()
		// The key carries the price list and the set of periods valid today,
		// so a new day or a changed period list never reuses old rows.
		scope := []string{strings.ToLower(b.Account.PriceList), shortHash(strings.Join(periods, ","))}
		for _, id := range ids {
			vdIndex["i:"+id] = len(vdKeys)
			vdKeys = append(vdKeys, r.key(r.kVD.Name, append(scope, "i:"+id)...))
		}
		for _, g := range groups {
			vdIndex["g:"+g] = len(vdKeys)
			vdKeys = append(vdKeys, r.key(r.kVD.Name, append(scope, "g:"+g)...))
		}
		eg.Go(func() error {
			var err error
			vd, _, err = cache.GetMany(gctx, r.c, r.kVD, vdKeys, func(ctx context.Context, missing []string) (map[string][]erp.SalesPriceListVolumeDiscount, error) {
				var items, grps []string
				for _, k := range idsOf(missing) {
					if id, ok := strings.CutPrefix(k, "i:"); ok {
						items = append(items, id)
					} else if g, ok := strings.CutPrefix(k, "g:"); ok {
						grps = append(grps, g)
					}
				}
				rows, err := r.up.VolumeDiscounts(ctx, periods, items, grps)
				if err != nil {
					return nil, err
				}
				out := make(map[string][]erp.SalesPriceListVolumeDiscount, len(missing))
				for _, k := range missing {
					out[k] = []erp.SalesPriceListVolumeDiscount{}
				}
				for _, v := range rows {
					var k string
					if v.Item != "" {
						k = r.key(r.kVD.Name, append(scope, "i:"+strings.ToLower(v.Item))...)
					} else {
						// Group rows are those without an item.
						k = r.key(r.kVD.Name, append(scope, "g:"+strings.ToLower(v.ItemGroup))...)
					}
					if _, ok := out[k]; ok {
						out[k] = append(out[k], v)
					}
				}
				return out, nil
			}, costSlice[erp.SalesPriceListVolumeDiscount](220))
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	out := make([]pricing.Data, len(items))
	for i, it := range items {
		d := pricing.Data{Item: it, DefaultRows: defaults[i], Periods: b.Periods}
		if b.Agreements != nil {
			d.AccountRows = b.Agreements[ids[i]]
		}
		if vd != nil {
			d.Discounts = append(d.Discounts, vd[vdIndex["i:"+ids[i]]]...)
			if gi, ok := vdIndex["g:"+strings.ToLower(it.ItemGroup)]; ok {
				d.Discounts = append(d.Discounts, vd[gi]...)
			}
		}
		out[i] = d
	}
	return out, nil
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:6])
}

// Sellable reports whether an item may be sold today (ARCHITECTURE §3).
func (r *Reader) Sellable(it *erp.Item) bool {
	if it == nil {
		return false
	}
	// validate.Sellable is the one rule (IsSalesItem, StartDate, EndDate,
	// webshop flag), shared with order validation.
	return validate.Sellable(*it, r.Today(), r.cfg.WebshopOnly)
}

// validOn reports whether a start/end window (either may be null) holds the date.
func validOn(start, end erp.Time, today civil.Date) bool {
	if d, ok := civil.DateOf(start); ok && d.After(today) {
		return false
	}
	if d, ok := civil.DateOf(end); ok && d.Before(today) {
		return false
	}
	return true
}

// OrderPrices returns the price rule inputs of items for an account (the
// order flow's pricing, from the same cache as the catalog's).
func (r *Reader) OrderPrices(ctx context.Context, acct *erp.Account, items []erp.Item) ([]pricing.Data, error) {
	b, err := r.BuyerData(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	return r.PriceData(ctx, b, items)
}

// inOrder returns, per wanted key in order, the row whose key matches it
// case-insensitively (nil where none does).
func inOrder(want []string, rows []erp.Item, key func(erp.Item) string) []*erp.Item {
	by := make(map[string]*erp.Item, len(rows))
	for i := range rows {
		k := strings.ToLower(strings.TrimSpace(key(rows[i])))
		if _, dup := by[k]; !dup {
			by[k] = &rows[i]
		}
	}
	out := make([]*erp.Item, len(want))
	for i, w := range want {
		if it, ok := by[strings.ToLower(strings.TrimSpace(w))]; ok {
			v := *it
			out[i] = &v
		}
	}
	return out
}

// sortContacts puts the main contact first, then the others by full name
// and ID: Exact lists them in no defined order, and the mirror and the
// fallback must answer alike.
func sortContacts(cs []erp.Contact) {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].IsMainContact != cs[j].IsMainContact {
			return cs[i].IsMainContact
		}
		if cs[i].FullName != cs[j].FullName {
			return cs[i].FullName < cs[j].FullName
		}
		return strings.ToLower(cs[i].ID) < strings.ToLower(cs[j].ID)
	})
}

// sortAddresses puts main addresses first, then the others by type and ID
// (Exact lists them in no defined order).
func sortAddresses(as []erp.Address) {
	sort.SliceStable(as, func(i, j int) bool {
		if as[i].Main != as[j].Main {
			return as[i].Main
		}
		if as[i].Type != as[j].Type {
			return as[i].Type < as[j].Type
		}
		return strings.ToLower(as[i].ID) < strings.ToLower(as[j].ID)
	})
}

// staleClass names, per cache kind, the data whose freshness bound applies.
var staleClass = map[string]string{
	"item": "items", "itemcode": "items", "page": "items", "itemgroups": "itemGroups",
	"warehouses": "warehouses", "shipping": "shippingMethods", "account": "accounts",
	"agreements": "prices", "pricelist": "priceLists", "periods": "prices", "defaultprices": "prices",
	"volumediscounts": "prices", "stock": "stock", "contacts": "contacts", "addresses": "addresses",
}
