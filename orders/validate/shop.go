package validate

import (
	"strings"
	"time"

	"github.com/exactql/exactql/civil"
)

// DefaultCurrency is the division's currency when none is configured
// (EXACTQL_CURRENCY's default).
const DefaultCurrency = "EUR"

// Shop is what the catalog and the order checks must agree on: the
// division's currency, its time zone for "today", and whether only items
// flagged for the webshop are sellable. cmd makes one value of it from
// EXACTQL_CURRENCY, EXACTQL_TIMEZONE and EXACTQL_WEBSHOP_ONLY and gives
// that same value to the read model and the order service, so they cannot
// disagree about what is sellable or in which currency it is priced.
type Shop struct {
	// Currency is the division's currency (Items.StandardSalesPrice's, and
	// the default of accounts without a sales currency).
	Currency string
	// WebshopOnly limits sellable items to those with IsWebshopItem set.
	WebshopOnly bool
	// Location is the division's time zone, for "today" in price and
	// date rules.
	Location *time.Location
}

// WithDefaults returns s with DefaultCurrency and UTC where they are unset.
func (s Shop) WithDefaults() Shop {
	if strings.TrimSpace(s.Currency) == "" {
		s.Currency = DefaultCurrency
	}
	if s.Location == nil {
		s.Location = time.UTC
	}
	return s
}

// Today is the calendar date at now in the shop's time zone.
func (s Shop) Today(now time.Time) civil.Date {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	return civil.Today(now, loc)
}
