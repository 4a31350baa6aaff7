// Package gen generates the sandbox's deterministic wholesale data set: the
// records of every entity set the sandbox serves (items, prices, price lists,
// stock, customers, orders), shaped as Exact Online returns them, and
// designed to exercise every price and stock rule of ARCHITECTURE.md §4–5.
//
// Everything is derived from Options: the same options give identical data,
// GUIDs included. Validity dates are relative to Options.Today.
package gen

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Options size and seed the data set. Today is the sandbox clock's current
// time; every validity date (prices, periods, items' EndDate) is relative to
// it so tests never rot.
type Options struct {
	Seed       int64
	Items      int    // default 2000; values below MinItems are raised to it
	Customers  int    // default 150; values below MinCustomers are raised to it
	Warehouses int    // default 3
	Division   int    // default 3100001
	Currency   string // division currency, default "EUR"
	// Today is the sandbox clock's current time. When zero, Generate uses
	// ReferenceDay so that it never reads the wall clock itself.
	Today time.Time
}

// Minimum sizes: the edge cases the generator promises need this many
// items and customers.
const (
	MinItems     = 100
	MinCustomers = 20
)

// ReferenceDay is the "today" Generate uses when Options.Today is zero.
var ReferenceDay = time.Date(2026, time.January, 15, 9, 30, 0, 0, time.UTC)

// Default sizes and identity of the division.
const (
	DefaultItems      = 2000
	DefaultCustomers  = 150
	DefaultWarehouses = 3
	DefaultDivision   = 3100001
	DefaultCurrency   = "EUR"
)

// DefaultOptions returns the default sizes with Seed 1 and Today set to the
// current time. It is the only place this package reads the clock; the
// sandbox should overwrite Today with its own clock's time.
func DefaultOptions() Options {
	return Options{
		Seed:       1,
		Items:      DefaultItems,
		Customers:  DefaultCustomers,
		Warehouses: DefaultWarehouses,
		Division:   DefaultDivision,
		Currency:   DefaultCurrency,
		Today:      time.Now().UTC(),
	}
}

// Rules of the demo buyers (DemoBuyer.Rule).
const (
	RuleCustomerPrice   = "CUSTOMER_PRICE"
	RulePriceList       = "PRICE_LIST"
	RuleAccountDiscount = "ACCOUNT_DISCOUNT"
	RuleDefaultPrice    = "DEFAULT_PRICE"
	RuleBlocked         = "BLOCKED"
	RuleOtherCurrency   = "OTHER_CURRENCY"
)

// DemoBuyer is a generated customer whose prices come from one rule; the
// gateway prints tokens for them. Rule is one of the Rule* constants.
// AccountCode is the account's Code exactly as stored (left-padded to 18);
// ContactID is the account's main contact.
type DemoBuyer struct{ Name, Rule, AccountID, AccountCode, ContactID string }

// Dataset is a generated division.
type Dataset struct {
	// Sets holds the records per plain entity-set path, e.g.
	// Sets["logistics/Items"]; ordered by key creation. Sync sets have no
	// entry of their own: SyncBase names the plain set they serve. The
	// server appends to these (orders) and may mutate them.
	Sets       map[string][]odata.Record
	DemoBuyers []DemoBuyer
	// MaxTimestamp is the highest Timestamp given to any record (the server
	// continues from it).
	MaxTimestamp int64
	// MaxOrderNumber is the highest OrderNumber used by generated sales orders.
	MaxOrderNumber int64
}

// firstTimestamp is one below the first Timestamp handed out; Exact's sync
// timestamps are large numbers and a full load starts with "gt 1".
const firstTimestamp = 1_000_000

// fxRate converts division-currency amounts to the foreign currency.
const fxRate = 1.08

// generator holds the state of one Generate run.
type generator struct {
	r     *rand.Rand
	opts  Options
	now   time.Time // the sandbox clock's instant
	today time.Time // midnight UTC of now's date
	div   int64
	divV  any // div boxed once: records share it
	homeV any // the division currency, boxed once
	// foreign is the other currency of the data set: USD, or EUR when the
	// division's currency is USD.
	foreign string
	ts      int64
	sets    map[string][]odata.Record

	groups     []*itemGroup
	items      []*item
	warehouses []*warehouse
	ships      []*shipMethod
	accounts   []*account
	lists      map[string]*priceList
	orderNo    int64
	demo       []DemoBuyer
}

// Generate builds the data set for opts. Zero or negative sizes take their
// defaults; it never fails and never reads the clock. No validity boundary
// (StartDate, EndDate) lies within a day of Today, so reading "today" in
// UTC or in the division's time zone gives the same answers.
func Generate(opts Options) *Dataset {
	if opts.Items <= 0 {
		opts.Items = DefaultItems
	}
	opts.Items = max(opts.Items, MinItems)
	if opts.Customers <= 0 {
		opts.Customers = DefaultCustomers
	}
	opts.Customers = max(opts.Customers, MinCustomers)
	if opts.Warehouses <= 0 {
		opts.Warehouses = DefaultWarehouses
	}
	if opts.Division <= 0 {
		opts.Division = DefaultDivision
	}
	if opts.Currency == "" {
		opts.Currency = DefaultCurrency
	}
	if opts.Today.IsZero() {
		opts.Today = ReferenceDay
	}
	now := opts.Today.UTC()
	seed := uint64(opts.Seed)
	g := &generator{
		r:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		opts:  opts,
		now:   now,
		today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
		div:   int64(opts.Division),
		ts:    firstTimestamp,
		sets:  make(map[string][]odata.Record, len(plainSpecs)),
		lists: map[string]*priceList{},
	}
	g.divV, g.homeV = g.div, opts.Currency
	g.foreign = "USD"
	if opts.Currency == "USD" {
		g.foreign = "EUR"
	}
	g.sets[PathItems] = make([]odata.Record, 0, opts.Items)
	g.sets[PathSalesItemPrices] = make([]odata.Record, 0, opts.Items*2)
	g.sets[PathItemWarehouses] = make([]odata.Record, 0, opts.Items*2)

	g.genCatalog()
	g.genWarehousesAndShipping()
	g.genStock()
	g.genAccounts()
	g.genGeneralPrices()
	g.genPriceLists()
	g.assignPriceLists()
	g.genAgreements()
	g.genOrders()

	for _, s := range plainSpecs {
		if g.sets[s.path] == nil {
			g.sets[s.path] = []odata.Record{}
		}
	}
	return &Dataset{
		Sets:           g.sets,
		DemoBuyers:     g.demo,
		MaxTimestamp:   g.ts,
		MaxOrderNumber: g.orderNo,
	}
}

// add stamps rec with the next Timestamp and appends it to path's set.
func (g *generator) add(path string, rec odata.Record) odata.Record {
	g.ts++
	rec["Timestamp"] = g.ts
	g.sets[path] = append(g.sets[path], rec)
	return rec
}

const hexDigits = "0123456789abcdef"

// guid returns a random (version 4 shaped) lower-case GUID from the seeded PRNG.
func (g *generator) guid() string {
	var b [16]byte
	hi, lo := g.r.Uint64(), g.r.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j] = hexDigits[c>>4]
		out[j+1] = hexDigits[c&0x0f]
		j += 2
	}
	return string(out[:])
}

// day returns midnight UTC n days from today: Exact's date-only fields.
func (g *generator) day(n int) time.Time { return g.today.AddDate(0, 0, n) }

// past returns an instant between minDays and maxDays days before now,
// with a random time of day: Created/Modified values.
func (g *generator) past(minDays, maxDays int) time.Time {
	d := minDays + g.r.IntN(maxDays-minDays+1)
	sec := g.r.IntN(86400)
	return g.now.Add(-time.Duration(d)*24*time.Hour - time.Duration(sec)*time.Second - time.Hour).Truncate(time.Millisecond)
}

// stamps returns a Created and a later Modified, both in the past.
func (g *generator) stamps() (created, modified time.Time) {
	created = g.past(60, 1500)
	// One draw whatever the span: a bound that depends on the clock's
	// sub-millisecond part would change how many numbers Int64N consumes
	// and so every GUID after it.
	span := g.now.Sub(created) - time.Hour
	modified = created.Add(time.Duration(g.r.Float64()*float64(span)) + time.Minute)
	// "/Date(ms)/" carries milliseconds: keep values exactly representable.
	return created, modified.Truncate(time.Millisecond)
}

func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

// between returns a uniform float in [lo, hi).
func (g *generator) between(lo, hi float64) float64 { return lo + g.r.Float64()*(hi-lo) }

// round2 rounds half away from zero to 2 decimals, as prices are stored.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

// round3 rounds to 3 decimals (quantities of weighed items).
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func pick[T any](g *generator, xs []T) T { return xs[g.r.IntN(len(xs))] }

// dateOrNil returns nil for the zero time.
func dateOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
