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
func (s *Snapshot) PriceData(b pricing.Terms, itemID string) (pricing.Data, bool) {
	e, ok := s.s.items.get(normID(itemID))
	if !ok {
		return pricing.Data{}, false
	}
	id := e.item.ID
	// Copies, so a caller cannot change the shared snapshot through them.
	d := pricing.Data{Item: e.item, DefaultRows: slices.Clone(s.s.prices.in(id + "|"))}
	if acct := normID(b.AccountID); acct != "" {
		d.AccountRows = slices.Clone(s.s.prices.in(id + "|" + acct))
	}
	if list := normID(b.PriceList); list != "" {
		d.Periods = slices.Clone(s.s.periods.in(list))
		for _, p := range d.Periods {
			d.Discounts = append(d.Discounts, s.s.discounts.in(p.ID+"|"+id)...)
			if g := e.item.ItemGroup; g != "" {
				d.Discounts = append(d.Discounts, s.s.discounts.in(p.ID+"|group:"+g)...)
			}
		}
	}
	return d, true
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
