package index

import (
	"slices"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/civil"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/pricing"
)

// Buyer returns the pricing identity of a mirrored account (its currency,
// price list and default discount); false when the account is unknown.
func (s *Snapshot) Buyer(accountID string) (pricing.Terms, bool) {
	a, ok := s.s.accounts.get(normID(accountID))
	if !ok {
		return pricing.Terms{}, false
	}
	return pricing.TermsFromAccount(a, s.cfg.Currency), true
}

// PublicBuyer is the buyer of an anonymous caller with public prices: the
// step-3 default price in the division's currency.
func (s *Snapshot) PublicBuyer() pricing.Terms {
	return pricing.Terms{Currency: s.cfg.Currency}
}

// PriceData gathers every mirrored row the price rules may consult for
// this buyer and item: the item's default price rows, the buyer's
// agreements for it, the periods of the buyer's price list and, per period,
// its volume-discount rows for the item and for the item's group. False
// when the item is unknown.
//
// The rows are gathered once per state, account, price list and item
// (Snapshot.Memo) and shared by every caller: the slices are read-only, as
// the price rules treat them. Only the account and the price list of b
// choose the rows. Data.Memo keeps the answers at quantity 1 for them, so
// a page's prices are computed once per state and buyer scope.
func (s *Snapshot) PriceData(b pricing.Terms, itemID string) (pricing.Data, bool) {
	e, ok := s.s.items.get(normID(itemID))
	if !ok {
		return pricing.Data{}, false
	}
	acct, list := normID(b.AccountID), normID(b.PriceList)
	rows := s.Memo(MemoKey{Kind: "index.priceData", A: acct, B: list, C: e.item.ID}, func() any {
		return s.gatherPriceData(e, acct, list)
	}).(*priceRows)
	return pricing.Data{Item: e.item, DefaultRows: rows.defaults, AccountRows: rows.account,
		Periods: rows.periods, Discounts: rows.discounts, Memo: rows.memo}, true
}

// priceRows is what PriceData memoises: pricing.Data without the item.
type priceRows struct {
	defaults, account []erp.SalesItemPrice
	periods           []erp.SalesPriceListPeriod
	discounts         []erp.SalesPriceListVolumeDiscount
	memo              *pricing.Memo
}

// gatherPriceData is PriceData without the memo. The slices are the
// state's own sorted groups, which are never changed once published
// (table), clipped so that an append by a reader copies instead of
// writing into them; the discount rows of several periods and the group
// are one fresh slice. So a memoised entry costs a few slice headers, not
// a copy of its rows.
func (s *Snapshot) gatherPriceData(e *itemEntry, acct, list string) *priceRows {
	id := e.item.ID
	d := &priceRows{defaults: slices.Clip(s.s.prices.in(id + "|")), memo: &pricing.Memo{}}
	if acct != "" {
		d.account = slices.Clip(s.s.prices.in(id + "|" + acct))
	}
	if list != "" {
		d.periods = slices.Clip(s.s.periods.in(list))
		var parts [][]erp.SalesPriceListVolumeDiscount
		for _, p := range d.periods {
			if rows := s.s.discounts.in(p.ID + "|" + id); len(rows) > 0 {
				parts = append(parts, rows)
			}
			if g := e.item.ItemGroup; g != "" {
				if rows := s.s.discounts.in(p.ID + "|group:" + g); len(rows) > 0 {
					parts = append(parts, rows)
				}
			}
		}
		switch len(parts) {
		case 0:
		case 1:
			d.discounts = slices.Clip(parts[0])
		default:
			d.discounts = slices.Concat(parts...)
		}
	}
	return d
}

func (s *Snapshot) pricingContext(today civil.Date) pricing.Context {
	return pricing.Context{Today: today, DivisionCurrency: s.cfg.Currency}
}

// Price returns the buyer's price for the item at quantity q on today
// (ARCHITECTURE §4): unit price, list price, source and validUntil. False
// when no rule yields a price or the item is unknown. Sellability is the
// caller's concern.
func (s *Snapshot) Price(b pricing.Terms, itemID string, q decimal.Decimal, today civil.Date) (pricing.Price, bool) {
	d, ok := s.PriceData(b, itemID)
	if !ok {
		return pricing.Price{}, false
	}
	p, ok, _ := rules(s.pricingContext(today), b, d, &q)
	return p, ok
}

// PriceBreaks returns the buyer's volume tiers for the item on today,
// lowest minimum quantity first; none when the item has no price.
func (s *Snapshot) PriceBreaks(b pricing.Terms, itemID string, today civil.Date) []pricing.Break {
	d, ok := s.PriceData(b, itemID)
	if !ok {
		return nil
	}
	_, _, br := rules(s.pricingContext(today), b, d, nil)
	return br
}

// Account returns one mirrored account.
func (s *Snapshot) Account(id string) (erp.Account, bool) { return s.s.accounts.get(normID(id)) }
