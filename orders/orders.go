// Package orders places buyers' orders into Exact Online's sales orders
// without losing or doubling any (ARCHITECTURE §6): input validation over
// (possibly stale) cached data, idempotency scoped to the buyer's account, a
// durable journal written before Exact is called, one POST per attempt, and
// a background worker that settles orders whose outcome was unknown, first
// looking for an earlier attempt that may have landed. It also answers a
// buyer's order history (order(id), Customer.orders).
package orders

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/orders/validate"
	"github.com/exactql/exactql/pricing"
)

// Order statuses (the GraphQL OrderStatus enum).
const (
	StatusPending   = "PENDING"
	StatusOpen      = "OPEN"
	StatusPartial   = "PARTIAL"
	StatusComplete  = "COMPLETE"
	StatusCancelled = "CANCELLED"
	StatusRejected  = "REJECTED"
)

// RefPrefix starts the first line of an order's Remarks; the gateway order
// ID follows it. It is how the gateway finds its order in Exact again: on
// the first line, truncation or staff edits at the end cannot lose it
// (ARCHITECTURE §6.5). Orders journaled before carry it on the last line,
// which refOf still reads.
const RefPrefix = "exactql-ref: "

// MaxKeyLength is the longest idempotency key accepted, in characters.
const MaxKeyLength = 200

var (
	// ErrForbidden means the buyer may not order: the account is unknown to
	// Exact or blocked, or the caller has no account.
	ErrForbidden = errors.New("orders: the account may not place orders")
	// ErrNotFound means the order does not exist or is not the buyer's;
	// both answer alike.
	ErrNotFound = errors.New("orders: order not found")
	// ErrInvalidKey means the idempotency key is empty or longer than
	// MaxKeyLength.
	ErrInvalidKey = errors.New("orders: the idempotency key must have 1 to 200 characters")
	// ErrInvalidCursor means List got a cursor it did not issue.
	ErrInvalidCursor = errors.New("orders: invalid cursor")
	// ErrInvalidPageSize means List got first < 0 or first > MaxPageSize.
	ErrInvalidPageSize = errors.New("orders: first must be between 0 and 100")
)

// UnavailableError means data needed to validate or price an order could
// not be obtained (Exact unreachable and nothing cached). Nothing was
// recorded; the key may be used again. Err is the cause (often an erp error).
type UnavailableError struct{ Err error }

// Error implements error.
func (e *UnavailableError) Error() string {
	return "orders: data needed for the order is unavailable: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Caller is the caller placing or reading orders: its Exact account, the
// ordering contact (may be empty) and the token subject.
type Caller struct {
	Account, Contact, Subject string
}

// Order is a sales order as the API shows it.
type Order struct {
	// ID is the order's stable ID: the gateway's ID for an order placed
	// through the gateway, for its whole life (PENDING, OPEN, ...), and
	// Exact's OrderID for an order entered in Exact (staff orders, or
	// orders whose journal record this gateway does not hold).
	ID string `json:"id"`
	// GatewayID is the gateway's order ID ("" for orders entered in Exact).
	GatewayID string `json:"gatewayId,omitempty"`
	// ExactID is Exact's OrderID ("" while PENDING or REJECTED).
	ExactID string `json:"exactId,omitempty"`
	// OrderNumber is Exact's OrderNumber (0 while PENDING or REJECTED).
	OrderNumber     int         `json:"orderNumber,omitempty"`
	Status          string      `json:"status"`
	RejectionReason string      `json:"rejectionReason,omitempty"`
	OrderDate       *civil.Date `json:"orderDate,omitempty"`
	DeliveryDate    *civil.Date `json:"deliveryDate,omitempty"`
	YourRef         string      `json:"yourRef,omitempty"`
	Description     string      `json:"description,omitempty"`
	// DeliveryAddressID and ShippingMethodID are Exact IDs ("" when none).
	DeliveryAddressID string `json:"deliveryAddressId,omitempty"`
	ShippingMethodID  string `json:"shippingMethodId,omitempty"`
	Currency          string `json:"currency"`
	// Amount excludes VAT: Exact's AmountFCExclVat for an order read from
	// Exact, the sum of the line amounts for one the gateway holds.
	Amount decimal.Decimal `json:"amount"`
	Lines  []Line          `json:"lines"`
	// Created is when Exact created the order, or the gateway accepted it.
	Created time.Time `json:"created"`

	// IdempotencyKey is the key the order was placed with ("" for orders
	// entered in Exact). Updated is when the gateway last saw the order
	// change: the journal record's last change or Exact's Modified,
	// whichever is later (zero when unknown). Both come from the journal
	// and Exact at read time, never from the journal's stored doc.
	IdempotencyKey string    `json:"-"`
	Updated        time.Time `json:"-"`

	// DeliveryAddress and ShippingMethod are the records the order's
	// validation used, when the order comes straight from Place (nil
	// otherwise): the payload shows them without reading anything again,
	// so a PENDING payload never fails on a lookup (ARCHITECTURE §6.2).
	// Validated is true for such an order.
	DeliveryAddress *erp.Address        `json:"-"`
	ShippingMethod  *erp.ShippingMethod `json:"-"`
	Validated       bool                `json:"-"`
}

// Line is one order line.
type Line struct {
	LineNumber  int             `json:"lineNumber"`
	ItemID      string          `json:"itemId"`
	ItemCode    string          `json:"itemCode"`
	Description string          `json:"description,omitempty"`
	Quantity    decimal.Decimal `json:"quantity"`
	// UnitPrice is the net unit price (Exact's NetPrice once written).
	UnitPrice decimal.Decimal `json:"unitPrice"`
	Amount    decimal.Decimal `json:"amount"`
	// Item is the item validation used, on an order straight from Place
	// (nil otherwise).
	Item *erp.Item `json:"-"`
}

// Result is the outcome of Place: the order (nil when validation failed)
// and the user errors (validation failures, IDEMPOTENCY_KEY_REUSED,
// REJECTED_BY_ERP).
type Result struct {
	Order      *Order
	UserErrors []validate.UserError
}

// Catalog is the read data Place validates and prices against; the cached
// read path (resolvers/data) provides it, stale if need be. Lookups of
// unknown IDs return nil entries, not errors.
type Catalog interface {
	// Account returns the account, or an error wrapping erp.ErrNotFound.
	Account(ctx context.Context, id string) (*erp.Account, error)
	// Addresses returns the account's addresses.
	Addresses(ctx context.Context, account string) ([]erp.Address, error)
	// ShippingMethods returns the division's (active) shipping methods.
	ShippingMethods(ctx context.Context) ([]erp.ShippingMethod, error)
	// Warehouses returns the division's warehouses.
	Warehouses(ctx context.Context) ([]erp.Warehouse, error)
	// Items returns the items with the given IDs in order; nil where unknown.
	Items(ctx context.Context, ids []string) ([]*erp.Item, error)
	// ItemsByCode returns the items with the given codes in order; nil where unknown.
	ItemsByCode(ctx context.Context, codes []string) ([]*erp.Item, error)
	// OrderPrices returns, per item in order, the Exact rows the price
	// rules (pricing.Resolve) consult for this account.
	OrderPrices(ctx context.Context, account *erp.Account, items []erp.Item) ([]pricing.Data, error)
}

// Options configure a Service. Journal, Exact and Catalog are required.
type Options struct {
	Journal Journal
	Exact   Exact
	Catalog Catalog
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Shop is the currency, time zone ("today", UTC when unset) and
	// sellability rule the read model shares.
	validate.Shop
	// MaxLines is EXACTQL_MAX_ORDER_LINES (default 200).
	MaxLines int
	Logger   zerolog.Logger
	// RetryBase and RetryMax bound the worker's backoff between attempts
	// of one order (defaults 30 s and 30 min); each wait is jittered.
	RetryBase, RetryMax time.Duration
	// PollInterval is how often Run looks for due orders, and how often a
	// duplicate request polls an order another process is sending
	// (default 5 s).
	PollInterval time.Duration
	// LeaseTTL is how long one attempt holds an order (default 2 min); a
	// crashed holder's order is taken over after it.
	LeaseTTL time.Duration
	// AttemptTimeout bounds one attempt's calls to Exact (default 60 s,
	// at most half of LeaseTTL).
	AttemptTimeout time.Duration
	// StoreHealth, when set, is asked before an order is validated; an
	// error refuses the order as *UnavailableError with nothing recorded
	// (the journal's file was deleted or replaced: an order accepted now
	// would be gone after a restart). Orders already accepted are still sent.
	StoreHealth func() error
	// MaxLineQuantity and MaxOrderAmount are EXACTQL_MAX_LINE_QUANTITY and
	// EXACTQL_MAX_ORDER_AMOUNT (zero: validate's defaults).
	MaxLineQuantity, MaxOrderAmount decimal.Decimal
	// Attempts limits order attempts per buyer and minute
	// (EXACTQL_ORDER_ATTEMPTS_PER_MINUTE); nil means no limit. Share it
	// with previewOrder so both draw on one allowance.
	Attempts *AttemptLimiter
	// MaxUnknownRefs is how many distinct product references of one order
	// may turn out unknown before the gateway stops looking the others up
	// (EXACTQL_ORDER_MAX_UNKNOWN_PRODUCTS, default 10).
	MaxUnknownRefs int
	// CursorKey signs the order list's cursors; the gateway keeps it in the
	// store. Empty means a random key for this Service only.
	CursorKey []byte
}

// Defaults of the Options left zero (and of their settings).
const (
	// DefaultMaxUnknownRefs is Options.MaxUnknownRefs' default.
	DefaultMaxUnknownRefs = 10
	// DefaultRetryBase is Options.RetryBase's default.
	DefaultRetryBase = 30 * time.Second
	// DefaultPollInterval is Options.PollInterval's default.
	DefaultPollInterval = 5 * time.Second
)

// lookupChunk is how many product references facts looks up at a time, so
// an order full of unknown references stops after one chunk.
const lookupChunk = 25

// Service places and reads orders. It is safe for concurrent use.
type Service struct {
	o   Options
	log zerolog.Logger

	locksMu sync.Mutex
	locks   map[string]*keyLock

	statsMu    sync.Mutex
	outcomes   map[string]int64
	mismatches int64

	cursorKey []byte
}

type keyLock struct {
	ch   chan struct{}
	refs int
}

// NewService returns a Service; zero options take their defaults.
func NewService(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Shop = o.Shop.WithDefaults()
	if o.MaxLines <= 0 {
		o.MaxLines = validate.DefaultMaxLines
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.RetryMax < o.RetryBase {
		o.RetryMax = max(30*time.Minute, o.RetryBase)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 2 * time.Minute
	}
	if o.AttemptTimeout <= 0 || o.AttemptTimeout > o.LeaseTTL/2 {
		o.AttemptTimeout = min(60*time.Second, o.LeaseTTL/2)
	}
	if o.MaxUnknownRefs <= 0 {
		o.MaxUnknownRefs = DefaultMaxUnknownRefs
	}
	key := o.CursorKey
	if len(key) == 0 {
		key = newCursorKey()
	}
	return &Service{o: o, log: o.Logger, locks: map[string]*keyLock{}, outcomes: map[string]int64{},
		cursorKey: append([]byte(nil), key...)}
}

// Outcome names counted in Stats.Outcomes.
const (
	OutcomeWritten    = "written"     // Exact created the order on the request's POST
	OutcomeRejected   = "rejected"    // Exact refused it
	OutcomePending    = "pending"     // the outcome was unknown; queued for the worker
	OutcomeInvalid    = "invalid"     // validation failed; nothing sent
	OutcomeReplayed   = "replayed"    // same key and input: the recorded outcome
	OutcomeKeyReused  = "key_reused"  // same key, other input
	OutcomeRecovered  = "recovered"   // the worker wrote a pending order
	OutcomeFound      = "found"       // the worker found an earlier attempt in Exact
	OutcomeRetryLater = "retry_later" // a worker attempt ended without an outcome
)

func (s *Service) count(outcome string) {
	s.statsMu.Lock()
	s.outcomes[outcome]++
	s.statsMu.Unlock()
}

// Stats are the order metrics.
type Stats struct {
	// Outcomes counts orders by outcome (Outcome* names) since start.
	Outcomes map[string]int64
	// Pending is the number of pending orders in the journal.
	Pending int
	// OldestPendingAge is the age of the oldest pending order (0 when none).
	OldestPendingAge time.Duration
	// JournalErr is set when the journal could not be read.
	JournalErr error
	// PriceMismatches counts written order lines whose net price in Exact
	// differed from the price the gateway sent
	// (exactql_order_price_mismatches_total).
	PriceMismatches int64
	// AttemptsRefused counts order attempts refused by Options.Attempts.
	AttemptsRefused uint64
}

// Stats returns the order metrics; pending figures come from the journal.
func (s *Service) Stats() Stats {
	st := Stats{Outcomes: map[string]int64{}}
	s.statsMu.Lock()
	for k, v := range s.outcomes {
		st.Outcomes[k] = v
	}
	st.PriceMismatches = s.mismatches
	s.statsMu.Unlock()
	st.AttemptsRefused = s.o.Attempts.Refused()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum, err := s.o.Journal.Pending(ctx)
	if err != nil {
		st.JournalErr = err
		return st
	}
	st.Pending = sum.Count
	if !sum.Oldest.IsZero() {
		st.OldestPendingAge = max(0, s.o.Now().Sub(sum.Oldest))
	}
	return st
}

// PriceMismatches returns Stats().PriceMismatches without reading the
// journal.
func (s *Service) PriceMismatches() uint64 {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return uint64(s.mismatches)
}

// lock takes the in-process lock of one idempotency key, waiting at most
// until ctx ends, so concurrent duplicates in this process run one by one.
func (s *Service) lock(ctx context.Context, key string) (func(), error) {
	s.locksMu.Lock()
	l := s.locks[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		s.locks[key] = l
	}
	l.refs++
	s.locksMu.Unlock()
	done := func() {
		s.locksMu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(s.locks, key)
		}
		s.locksMu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// newUUID returns a random UUID v4 (crypto/rand).
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// doc is what the journal keeps of an order: the POST body and what to show
// while the order is not (known to be) in Exact.
type doc struct {
	Order   Order             `json:"order"`
	Request erp.NewSalesOrder `json:"request"`
}

func decodeDoc(rec JournalRecord) (doc, error) {
	var d doc
	if err := json.Unmarshal(rec.Doc, &d); err != nil {
		return doc{}, fmt.Errorf("orders: journal record %s: %w", rec.GatewayID, err)
	}
	return d, nil
}

// Place validates and places an order for b under the idempotency key
// (ARCHITECTURE §6). Validation failures, IDEMPOTENCY_KEY_REUSED and
// REJECTED_BY_ERP come back as Result.UserErrors; errors are ErrForbidden,
// ErrInvalidKey, *UnavailableError (nothing recorded) or journal failures.
func (s *Service) Place(ctx context.Context, b Caller, key string, in validate.Input) (*Result, error) {
	account := strings.ToLower(strings.TrimSpace(b.Account))
	if !erp.IsGUID(account) {
		return nil, ErrForbidden
	}
	if key == "" || utf8.RuneCountInString(key) > MaxKeyLength || !utf8.ValidString(key) {
		return nil, ErrInvalidKey
	}
	if s.o.StoreHealth != nil {
		if err := s.o.StoreHealth(); err != nil {
			return nil, &UnavailableError{Err: err}
		}
	}
	fp := validate.Fingerprint(in)

	unlock, err := s.lock(ctx, account+"\x00"+key)
	if err != nil {
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	defer unlock()

	// A repeated key is answered from the journal, without Exact.
	rec, err := s.o.Journal.ByKey(ctx, account, key)
	switch {
	case err == nil:
		return s.replay(ctx, rec, fp)
	case !errors.Is(err, ErrNoRecord):
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	// A new attempt costs Exact reads: limited per buyer and minute. A
	// replay above costs none and is never refused.
	c, err := s.check(ctx, account, in)
	if err != nil {
		return nil, err
	}
	if len(c.uerrs) > 0 {
		s.count(OutcomeInvalid)
		return &Result{UserErrors: c.uerrs}, nil
	}
	acct, facts, lines := c.acct, c.facts, c.lines

	id, err := newUUID()
	if err != nil {
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	owner, err := newUUID()
	if err != nil {
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	d := s.build(id, b, acct, in, lines, facts)
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	now := s.o.Now()
	rec = JournalRecord{
		GatewayID: id, Account: account, IdempotencyKey: key, Fingerprint: fp, State: StatePending,
		Doc: raw, Attempts: 1, Created: now, FirstAttempt: now, Updated: now,
		LeaseOwner: owner, LeaseUntil: now.Add(s.o.LeaseTTL),
	}
	got, created, err := s.o.Journal.Accept(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	if !created {
		// Another process took the key between ByKey and Accept.
		return s.replay(ctx, got, fp)
	}
	return s.send(ctx, rec, d, owner, true)
}

// checked is the outcome of check: the buyer's account, the facts
// validation used, the priced lines without a user error and the user
// errors.
type checked struct {
	acct  *erp.Account
	facts validate.Facts
	lines []validate.ValidLine
	uerrs []validate.UserError
}

// check is steps 1–2 of ARCHITECTURE §6 and the pricing of step 5, shared by
// Place and Preview so both answer the same prices and user errors: the
// attempt limiter, the buyer's account (ErrForbidden when unknown or
// blocked), the facts (*UnavailableError when they cannot be had) and
// validate.Check. It writes nothing.
func (s *Service) check(ctx context.Context, account string, in validate.Input) (*checked, error) {
	if err := s.o.Attempts.Allow(account); err != nil {
		return nil, err
	}
	acct, err := s.o.Catalog.Account(ctx, account)
	if errors.Is(err, erp.ErrNotFound) {
		return nil, ErrForbidden
	}
	if err != nil {
		return nil, &UnavailableError{Err: err}
	}
	if acct.Blocked {
		return nil, ErrForbidden
	}
	facts, tooManyUnknown, err := s.facts(ctx, acct, in)
	if err != nil {
		return nil, &UnavailableError{Err: err}
	}
	c := &checked{acct: acct, facts: facts}
	if tooManyUnknown {
		c.uerrs = []validate.UserError{{Field: []string{"lines"}, Code: validate.CodeUnknownProduct,
			Message: fmt.Sprintf("More than %d of the order's products are unknown; check the product references.", s.o.MaxUnknownRefs)}}
		return c, nil
	}
	c.lines, c.uerrs = validate.Check(in, facts)
	return c, nil
}

// Preview is the outcome of Service.Preview.
type Preview struct {
	// Lines are the priced lines without a user error, in input order.
	Lines []validate.ValidLine
	// Amount is the sum of Lines' amounts, excluding VAT; Currency the
	// currency the buyer is quoted in.
	Amount   decimal.Decimal
	Currency string
	// UserErrors are the errors Place would answer for the same input
	// (never IDEMPOTENCY_KEY_REUSED or REJECTED_BY_ERP: Preview has no key
	// and sends nothing).
	UserErrors []validate.UserError
}

// Preview prices and validates an order for b exactly as Place would (the
// same check), and writes nothing: no journal record, no call that changes
// Exact. It draws on the same per-buyer attempt limit as Place. Errors are
// ErrForbidden, *TooManyAttemptsError and *UnavailableError, as for Place.
func (s *Service) Preview(ctx context.Context, b Caller, in validate.Input) (*Preview, error) {
	account := strings.ToLower(strings.TrimSpace(b.Account))
	if !erp.IsGUID(account) {
		return nil, ErrForbidden
	}
	c, err := s.check(ctx, account, in)
	if err != nil {
		return nil, err
	}
	p := &Preview{Lines: c.lines, UserErrors: c.uerrs, Amount: validate.Total(c.lines),
		Currency: pricing.TermsFromAccount(*c.acct, s.o.Currency).Currency}
	if len(c.lines) > 0 && c.lines[0].Price.Currency != "" {
		p.Currency = c.lines[0].Price.Currency
	}
	return p, nil
}

// facts gathers what validation needs. tooManyUnknown is true when more
// than MaxUnknownRefs distinct product references turned out unknown; the
// lookups then stopped (so an order of 200 made-up codes costs one chunk's
// reads, not eight) and f is incomplete.
func (s *Service) facts(ctx context.Context, acct *erp.Account, in validate.Input) (f validate.Facts, tooManyUnknown bool, err error) {
	f = validate.Facts{
		Today: s.o.Today(s.o.Now()), MaxLines: s.o.MaxLines,
		WebshopOnly: s.o.WebshopOnly, AccountID: acct.ID,
		MaxLineQuantity: s.o.MaxLineQuantity, MaxOrderAmount: s.o.MaxOrderAmount,
	}
	if f.DeliveryAddresses, err = s.o.Catalog.Addresses(ctx, acct.ID); err != nil {
		return f, false, err
	}
	if in.ShippingMethodID != nil {
		if f.ShippingMethods, err = s.o.Catalog.ShippingMethods(ctx); err != nil {
			return f, false, err
		}
	}
	if in.WarehouseID != nil {
		if f.Warehouses, err = s.o.Catalog.Warehouses(ctx); err != nil {
			return f, false, err
		}
	}
	if len(in.Lines) == 0 || len(in.Lines) > s.o.MaxLines {
		return f, false, nil
	}
	ids, codes := in.ProductRefs()
	unknown := 0
	var guids []string
	for _, id := range ids {
		if erp.IsGUID(strings.TrimSpace(id)) {
			guids = append(guids, strings.ToLower(strings.TrimSpace(id)))
		} else {
			unknown++ // never asked of Exact
		}
	}
	var trimmed []string
	for _, c := range codes {
		// A code with control characters names no item: it is not sent
		// to Exact at all.
		if c = strings.TrimSpace(c); c != "" && validate.CleanText(c, false) == c {
			trimmed = append(trimmed, c)
		} else {
			unknown++
		}
	}
	if unknown > s.o.MaxUnknownRefs {
		return f, true, nil
	}
	seen := map[string]bool{}
	lookup := func(refs []string, get func(context.Context, []string) ([]*erp.Item, error)) (bool, error) {
		for start := 0; start < len(refs); start += lookupChunk {
			items, err := get(ctx, refs[start:min(start+lookupChunk, len(refs))])
			if err != nil {
				return false, err
			}
			for _, it := range items {
				switch {
				case it == nil:
					unknown++
				case !seen[strings.ToLower(it.ID)]:
					seen[strings.ToLower(it.ID)] = true
					f.Items = append(f.Items, *it)
				}
			}
			if unknown > s.o.MaxUnknownRefs {
				return true, nil
			}
		}
		return false, nil
	}
	for _, l := range []struct {
		refs []string
		get  func(context.Context, []string) ([]*erp.Item, error)
	}{{guids, s.o.Catalog.Items}, {trimmed, s.o.Catalog.ItemsByCode}} {
		if len(l.refs) == 0 {
			continue
		}
		stop, err := lookup(l.refs, l.get)
		if err != nil || stop {
			return f, stop, err
		}
	}
	var priced []erp.Item
	for _, it := range f.Items {
		if validate.Sellable(it, f.Today, f.WebshopOnly) {
			priced = append(priced, it)
		}
	}
	data := map[string]pricing.Data{}
	if len(priced) > 0 {
		rows, err := s.o.Catalog.OrderPrices(ctx, acct, priced)
		if err != nil {
			return f, false, err
		}
		for i := range priced {
			if i < len(rows) {
				data[strings.ToLower(priced[i].ID)] = rows[i]
			}
		}
	}
	pc := pricing.Context{Today: f.Today, DivisionCurrency: s.o.Currency}
	buyer := pricing.TermsFromAccount(*acct, s.o.Currency)
	f.Price = func(it erp.Item, q decimal.Decimal) (pricing.Price, bool) {
		d, ok := data[strings.ToLower(it.ID)]
		if !ok {
			return pricing.Price{}, false
		}
		return pricing.Resolve(pc, buyer, d, q)
	}
	return f, false, nil
}

// build makes the POST body of ARCHITECTURE §6.5 and the order to show.
func (s *Service) build(id string, b Caller, acct *erp.Account, in validate.Input, lines []validate.ValidLine, f validate.Facts) doc {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	// Control characters are stripped before anything reaches Exact
	// (validate.CleanText); CR/LF survive in remarks and notes only.
	req := erp.NewSalesOrder{
		OrderedBy: acct.ID, DeliverTo: acct.ID, InvoiceTo: acct.ID,
		YourRef: validate.CleanText(str(in.YourReference), false), Description: validate.CleanText(str(in.Description), false),
		ShippingMethod: acct.ShippingMethod,
	}
	if acct.InvoiceAccount != "" {
		req.InvoiceTo = acct.InvoiceAccount
	}
	if c := strings.TrimSpace(b.Contact); erp.IsGUID(c) {
		req.OrderedByContactPerson = c
	}
	// The reference goes first (ARCHITECTURE §6.5), the buyer's remarks after.
	remarks := RefPrefix + id
	if r := validate.CleanText(str(in.Remarks), true); r != "" {
		remarks += "\n" + r
	}
	req.Remarks = remarks
	if in.ShippingMethodID != nil {
		req.ShippingMethod = strings.TrimSpace(*in.ShippingMethodID)
	}
	if in.DeliveryAddressID != nil {
		req.DeliveryAddress = strings.TrimSpace(*in.DeliveryAddressID)
	} else {
		req.DeliveryAddress = mainDeliveryAddress(f.DeliveryAddresses, acct.ID)
	}
	if in.WarehouseID != nil {
		req.WarehouseID = strings.TrimSpace(*in.WarehouseID)
	}
	if in.DeliveryDate != nil {
		t := erp.NewTime(in.DeliveryDate.Time())
		req.DeliveryDate = &t
	}
	// Currency is the currency the buyer was quoted: Accounts.SalesCurrency
	// is Exact's Time & Billing currency and often empty, so the quote's
	// currency (which falls back to EXACTQL_CURRENCY) is sent explicitly.
	currency := pricing.TermsFromAccount(*acct, s.o.Currency).Currency
	if len(lines) > 0 && lines[0].Price.Currency != "" {
		currency = lines[0].Price.Currency
	}
	req.Currency = currency
	today := f.Today
	o := Order{
		ID: id, GatewayID: id, Status: StatusPending, OrderDate: &today, DeliveryDate: in.DeliveryDate,
		YourRef: req.YourRef, Description: req.Description, DeliveryAddressID: req.DeliveryAddress,
		ShippingMethodID: req.ShippingMethod, Currency: currency,
		Amount: validate.Total(lines), Created: s.o.Now(),
	}
	for i, l := range lines {
		// Discount 0: the price sent is already the buyer's net price.
		req.SalesOrderLines = append(req.SalesOrderLines, erp.NewSalesOrderLine{
			Item: l.Item.ID, Quantity: l.Quantity, UnitPrice: l.Price.UnitPrice, Discount: decimal.Zero,
			Notes: validate.CleanText(l.Notes, true)})
		it := l.Item
		o.Lines = append(o.Lines, Line{LineNumber: i + 1, ItemID: l.Item.ID, ItemCode: erp.Code(l.Item.Code),
			Description: l.Item.Description, Quantity: l.Quantity, UnitPrice: l.Price.UnitPrice, Amount: l.Amount, Item: &it})
	}
	o.Validated = true
	for i := range f.DeliveryAddresses {
		if a := f.DeliveryAddresses[i]; req.DeliveryAddress != "" && strings.EqualFold(a.ID, req.DeliveryAddress) {
			o.DeliveryAddress = &a
			break
		}
	}
	for i := range f.ShippingMethods {
		if m := f.ShippingMethods[i]; req.ShippingMethod != "" && strings.EqualFold(m.ID, req.ShippingMethod) {
			o.ShippingMethod = &m
			break
		}
	}
	return doc{Order: o, Request: req}
}

// showValidated puts on o what validation used (shown, an order built by
// build in this request): the delivery address and shipping method when
// they are the order's, and each line's item by ID. It marks o Validated so
// the payload reads nothing again. A nil or unvalidated shown changes
// nothing (the worker's orders come from the journal, without them).
func showValidated(o *Order, shown *Order) {
	if shown == nil || !shown.Validated {
		return
	}
	o.Validated = true
	if a := shown.DeliveryAddress; a != nil && strings.EqualFold(a.ID, o.DeliveryAddressID) {
		o.DeliveryAddress = a
	}
	if m := shown.ShippingMethod; m != nil && strings.EqualFold(m.ID, o.ShippingMethodID) {
		o.ShippingMethod = m
	}
	items := map[string]*erp.Item{}
	for _, l := range shown.Lines {
		if l.Item != nil {
			items[strings.ToLower(l.Item.ID)] = l.Item
		}
	}
	for i := range o.Lines {
		o.Lines[i].Item = items[strings.ToLower(o.Lines[i].ItemID)]
	}
}

// mainDeliveryAddress is the account's main delivery address (Type 4),
// else its first delivery address, else "" (Exact's default applies).
func mainDeliveryAddress(as []erp.Address, account string) string {
	first := ""
	for _, a := range as {
		if a.Type != erp.AddressDelivery || !strings.EqualFold(a.Account, account) {
			continue
		}
		if a.Main {
			return a.ID
		}
		if first == "" {
			first = a.ID
		}
	}
	return first
}

// replay answers a repeated idempotency key from the journal.
func (s *Service) replay(ctx context.Context, rec JournalRecord, fp string) (*Result, error) {
	if rec.Fingerprint != fp {
		s.count(OutcomeKeyReused)
		return &Result{UserErrors: []validate.UserError{validate.KeyReused()}}, nil
	}
	rec, err := s.awaitLease(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	s.count(OutcomeReplayed)
	o, err := s.fromRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("orders.Place: %w", err)
	}
	res := &Result{Order: o}
	if rec.State == StateRejected {
		res.UserErrors = []validate.UserError{validate.RejectedByERP(rec.RejectionReason)}
	}
	return res, nil
}

// awaitLease waits while another process is sending the order (its lease
// is live), polling the journal, until the request's context ends; then the
// record as it stands is answered (PENDING at worst, never a second POST).
func (s *Service) awaitLease(ctx context.Context, rec JournalRecord) (JournalRecord, error) {
	for rec.State == StatePending && rec.LeaseOwner != "" && rec.LeaseUntil.After(s.o.Now()) {
		t := time.NewTimer(s.o.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return rec, nil
		case <-t.C:
		}
		next, err := s.o.Journal.Record(ctx, rec.GatewayID)
		if err != nil {
			if ctx.Err() != nil {
				return rec, nil
			}
			return rec, err
		}
		rec = next
	}
	return rec, nil
}

// fromRecord is the order as the journal knows it.
func (s *Service) fromRecord(rec JournalRecord) (*Order, error) {
	d, err := decodeDoc(rec)
	if err != nil {
		return nil, err
	}
	o := d.Order
	o.GatewayID = rec.GatewayID
	o.Created = rec.Created
	o.IdempotencyKey, o.Updated = rec.IdempotencyKey, rec.Updated
	switch rec.State {
	case StateWritten:
		o.ID, o.ExactID, o.OrderNumber, o.Status = rec.GatewayID, rec.ExactID, rec.OrderNumber, StatusOpen
	case StateRejected:
		o.ID, o.Status, o.RejectionReason = rec.GatewayID, StatusRejected, rec.RejectionReason
	default:
		o.ID, o.Status = rec.GatewayID, StatusPending
	}
	return &o, nil
}

// send makes one POST attempt for a claimed record and settles it. fresh
// is true for the placing request's own attempt.
func (s *Service) send(ctx context.Context, rec JournalRecord, d doc, owner string, fresh bool) (*Result, error) {
	actx, acancel := context.WithTimeout(erp.WithPriority(ctx, erp.PriorityWrite), s.o.AttemptTimeout)
	req := d.Request
	created, err := s.o.Exact.CreateOrder(actx, &req)
	acancel()
	// The journal must learn the outcome even if the caller goes away. Its
	// 10 s start after the POST: a POST that waited on Exact's rate limit
	// must not leave the journal no time, or the lease would hold the order
	// (and every replay of its key) until it runs out.
	jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.o.Now()
	log := s.log.With().Str("order", rec.GatewayID).Int("attempt", rec.Attempts).Logger()
	switch {
	case err == nil:
		s.settleWritten(jctx, rec, owner, created, now, log)
		if fresh {
			s.count(OutcomeWritten)
		} else {
			s.count(OutcomeRecovered)
		}
		s.checkPrices(created, d.Request, log)
		o := orderFromExact(*created, rec.GatewayID, s.o.Location)
		// The gateway placed it: its ID stays the order's ID whatever
		// Exact's Remarks say.
		o.ID, o.GatewayID = rec.GatewayID, rec.GatewayID
		o.IdempotencyKey = rec.IdempotencyKey
		o.Updated = latest(o.Updated, now)
		if len(o.Lines) == 0 {
			// Exact's answer had no lines: show what was sent.
			o.Lines, o.Amount = d.Order.Lines, d.Order.Amount
		}
		showValidated(&o, &d.Order)
		return &Result{Order: &o}, nil
	case isRejection(err):
		reason := rejectionReason(err)
		log.Warn().Str("reason", reason).Msg("Exact rejected the order")
		if serr := s.o.Journal.Settle(jctx, rec.GatewayID, owner, Settlement{State: StateRejected, RejectionReason: reason, LastError: reason, At: now}); serr != nil {
			log.Error().Err(serr).Msg("journal: recording a rejection failed")
		}
		s.count(OutcomeRejected)
		rec.State, rec.RejectionReason, rec.Updated = StateRejected, reason, now
		o, derr := s.fromRecord(rec)
		if derr != nil {
			return nil, derr
		}
		showValidated(o, &d.Order)
		return &Result{Order: o, UserErrors: []validate.UserError{validate.RejectedByERP(reason)}}, nil
	default:
		next := s.nextAttempt(rec.Attempts, now, err)
		log.Warn().Err(err).Time("next_attempt", next).Msg("order outcome unknown; queued")
		if serr := s.o.Journal.Settle(jctx, rec.GatewayID, owner, Settlement{State: StatePending, LastError: errText(err), NextAttempt: next, At: now}); serr != nil {
			// The lease runs out by itself; the worker takes over then.
			log.Error().Err(serr).Msg("journal: recording a pending attempt failed")
		}
		if fresh {
			s.count(OutcomePending)
		} else {
			s.count(OutcomeRetryLater)
		}
		rec.State, rec.Updated = StatePending, now
		o, derr := s.fromRecord(rec)
		if derr != nil {
			return nil, derr
		}
		showValidated(o, &d.Order)
		return &Result{Order: o}, nil
	}
}

// checkPrices compares each line Exact returned with the price sent
// (ARCHITECTURE §6.5): whether Exact applies account or price-list
// discounts on top of a sent UnitPrice is UNCONFIRMED (exact-online-api.md
// §5.9). A difference is logged and counted; the order keeps Exact's
// figures, which are what the buyer will be invoiced.
func (s *Service) checkPrices(so *erp.SalesOrder, sent erp.NewSalesOrder, log zerolog.Logger) {
	for i, l := range so.SalesOrderLines {
		n := l.LineNumber
		if n <= 0 {
			n = i + 1 // Exact left the number out: lines come in the order sent
		}
		if n > len(sent.SalesOrderLines) {
			continue
		}
		want := sent.SalesOrderLines[n-1]
		if !strings.EqualFold(l.Item, want.Item) && l.Item != "" {
			continue
		}
		net := l.UnitPrice.Mul(decimal.NewFromInt(1).Sub(l.Discount))
		if l.NetPrice.Valid {
			net = l.NetPrice.Decimal
		}
		if net.Round(4).Equal(want.UnitPrice.Round(4)) {
			continue
		}
		s.statsMu.Lock()
		s.mismatches++
		s.statsMu.Unlock()
		log.Warn().Str("exact_id", so.OrderID).Int("line", n).Str("item", erp.Code(l.ItemCode)).
			Str("sent_price", want.UnitPrice.String()).Str("exact_net_price", net.String()).
			Str("exact_discount", l.Discount.String()).
			Msg("Exact priced an order line differently from the price sent; the order keeps Exact's figures")
	}
}

func (s *Service) settleWritten(ctx context.Context, rec JournalRecord, owner string, so *erp.SalesOrder, now time.Time, log zerolog.Logger) {
	if err := s.o.Journal.Settle(ctx, rec.GatewayID, owner, Settlement{State: StateWritten,
		ExactID: strings.ToLower(so.OrderID), OrderNumber: so.OrderNumber, At: now}); err != nil {
		// The order is in Exact; the worker will find it by its reference.
		log.Error().Err(err).Str("exact_id", so.OrderID).Msg("journal: recording a written order failed")
	}
}

// errText is an error's text for the journal, without anything secret (erp
// errors carry no URLs or tokens).
func errText(err error) string {
	t := err.Error()
	if len(t) > 500 {
		t = t[:500]
	}
	return t
}

// isRejection reports whether Exact refused the order on its merits: a 4xx
// answer with a message, other than 401 (credentials), 403 (access or error
// block), 408 (timeout) and 429 (rate limit). Such an order is never
// retried. Everything else (5xx, 429, timeouts, dropped connections, a
// governor refusal, an unreadable success) leaves the outcome unknown.
func isRejection(err error) bool {
	var e *erp.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return e.StatusCode >= 400 && e.StatusCode < 500
}

// rejectionReason is Exact's rejection text fit to keep and show a buyer
// (validate.Reason).
func rejectionReason(err error) string {
	var e *erp.Error
	msg := ""
	if errors.As(err, &e) {
		msg = e.Message
	}
	return validate.Reason(msg)
}

// orderStatus maps Exact's SalesOrders.Status.
func orderStatus(code int) string {
	switch code {
	case erp.OrderStatusPartial:
		return StatusPartial
	case erp.OrderStatusComplete:
		return StatusComplete
	case erp.OrderStatusCancelled:
		return StatusCancelled
	default:
		// 12 and anything unknown: the order exists and is not done.
		return StatusOpen
	}
}

// refOf returns the gateway order ID in an order's Remarks ("" if none):
// from the first line (the current form), else from the last line (orders
// journaled before the reference moved to the front). A reference the
// buyer typed in the middle of the remarks is never taken.
func refOf(remarks string) string {
	first, _, _ := strings.Cut(remarks, "\n")
	if ref := refLine(first); ref != "" {
		return ref
	}
	last := strings.TrimRight(remarks, " \t\r\n")
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	return refLine(last)
}

// refLine reads "exactql-ref: <guid>" at the start of one line.
func refLine(line string) string {
	rest, ok := strings.CutPrefix(strings.TrimLeft(line, " \t\r"), RefPrefix)
	if !ok {
		return ""
	}
	if j := strings.IndexAny(rest, " \r\n\t"); j >= 0 {
		rest = rest[:j]
	}
	if !erp.IsGUID(rest) {
		return ""
	}
	return strings.ToLower(rest)
}

func datePtr(t erp.Time) *civil.Date {
	d, ok := civil.DateOf(t)
	if !ok {
		return nil
	}
	return &d
}

// orderFromExact maps an Exact order (with its lines, if any) to an Order.
// gatewayID is used when the Remarks carry no reference; loc is the
// division's time zone, in which Exact's Created is wall-clock time. The
// amount is AmountFCExclVat (AmountFC includes VAT), replaced by the sum of
// the line amounts when the lines are at hand.
func orderFromExact(so erp.SalesOrder, gatewayID string, loc *time.Location) Order {
	id := strings.ToLower(so.OrderID)
	if ref := refOf(so.Remarks); ref != "" {
		gatewayID = ref
	}
	// The stable ID: the gateway's when there is one. List and Get confirm
	// it against the journal (identify) before showing it.
	stable := id
	if gatewayID != "" {
		stable = gatewayID
	}
	o := Order{
		ID: stable, ExactID: id, GatewayID: gatewayID, Updated: exactInstant(so.Modified, loc), OrderNumber: so.OrderNumber, Status: orderStatus(so.Status),
		OrderDate: datePtr(so.OrderDate), DeliveryDate: datePtr(so.DeliveryDate), YourRef: so.YourRef,
		Description: so.Description, DeliveryAddressID: so.DeliveryAddress, ShippingMethodID: so.ShippingMethod,
		Currency: so.Currency, Amount: pricing.Round2(so.AmountFCExclVat), Created: exactInstant(so.Created, loc),
	}
	setLines(&o, so.SalesOrderLines)
	return o
}

// setLines puts lines (sorted by line number) on o. The amount stays
// Exact's AmountFCExclVat; only when that is zero (an answer without it)
// does the sum of the line amounts take its place.
func setLines(o *Order, lines []erp.SalesOrderLine) {
	if len(lines) == 0 {
		return
	}
	o.Lines = make([]Line, 0, len(lines))
	sum := decimal.Zero
	for _, l := range lines {
		amt := pricing.Round2(l.AmountFC)
		price := l.UnitPrice
		if l.NetPrice.Valid {
			price = l.NetPrice.Decimal // after any discount Exact applied
		}
		o.Lines = append(o.Lines, Line{LineNumber: l.LineNumber, ItemID: strings.ToLower(l.Item), ItemCode: erp.Code(l.ItemCode),
			Description: l.Description, Quantity: l.Quantity, UnitPrice: pricing.Round2(price), Amount: amt})
		sum = sum.Add(amt)
	}
	slices.SortStableFunc(o.Lines, func(a, b Line) int { return a.LineNumber - b.LineNumber })
	if o.Amount.IsZero() {
		o.Amount = sum
	}
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
