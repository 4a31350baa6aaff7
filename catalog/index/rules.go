package index

import (
	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/pricing"
)

// rules is the only place this package calls the pricing rules of
// ARCHITECTURE §4, so the rules can be re-pointed in one line. With a
// quantity it resolves the price at it; with nil it returns the breaks.
func rules(c pricing.Context, b pricing.Terms, d pricing.Data, q *decimal.Decimal) (pricing.Price, bool, []pricing.Break) {
	if q == nil {
		return pricing.Price{}, false, pricing.Breaks(c, b, d)
	}
	p, ok := pricing.Resolve(c, b, d, *q)
	return p, ok, nil
}
