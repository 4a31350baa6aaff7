package live

import (
	"strings"

	"github.com/exactql/exactql/cache"
	"github.com/exactql/exactql/erp"
	"github.com/exactql/exactql/pricing"
)

// PeekPriceData assembles an item's price inputs from fresh cache entries
// only, without loading: the hit path that never waits for a batch window.
func (r *Reader) PeekPriceData(b *BuyerData, it erp.Item) (pricing.Data, bool) {
	if b.mirrored || (r.mirror() != nil && r.mirror().Prices()) {
		// The mirror answers; a cache entry from the fallback may be older.
		return pricing.Data{}, false
	}
	id := strings.ToLower(it.ID)
	def, ok := cache.Peek[[]erp.SalesItemPrice](r.c, r.kDefault, r.key(r.kDefault.Name, r.Today().String(), id))
	if !ok {
		return pricing.Data{}, false
	}
	d := pricing.Data{Item: it, DefaultRows: def, Periods: b.Periods}
	if b.Agreements != nil {
		d.AccountRows = b.Agreements[id]
	}
	if b.Account != nil && b.Account.PriceList != "" && len(b.Periods) > 0 {
		scope := []string{strings.ToLower(b.Account.PriceList), shortHash(strings.Join(b.periodIDs(), ","))}
		vi, ok := cache.Peek[[]erp.SalesPriceListVolumeDiscount](r.c, r.kVD, r.key(r.kVD.Name, append(scope, "i:"+id)...))
		if !ok {
			return pricing.Data{}, false
		}
		d.Discounts = append(d.Discounts, vi...)
		if g := strings.ToLower(it.ItemGroup); g != "" {
			vg, ok := cache.Peek[[]erp.SalesPriceListVolumeDiscount](r.c, r.kVD, r.key(r.kVD.Name, append(scope, "g:"+g)...))
			if !ok {
				return pricing.Data{}, false
			}
			d.Discounts = append(d.Discounts, vg...)
		}
	}
	return d, true
}

// PeekStock returns an item's stock rows from a fresh cache entry, if any.
func (r *Reader) PeekStock(itemID string) (StockEntry, bool) {
	if m := r.mirror(); m != nil {
		if _, _, ok := m.StockRows(nil); ok {
			// The mirror answers (through the loader, which notes its
			// freshness); a cache entry from the fallback may be older.
			return StockEntry{}, false
		}
	}
	return cache.Peek[StockEntry](r.c, r.kStock, r.key(r.kStock.Name, strings.ToLower(itemID)))
}
