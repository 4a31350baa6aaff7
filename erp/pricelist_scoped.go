package erp

import (
	"context"
	"errors"
	"fmt"
)

// ForPeriodsItemsGroups returns the sales/SalesPriceListVolumeDiscounts rows
// of the given periods that are for one of the items or one of the item
// groups: (PriceListPeriod eq guid'…' or …) and (Item eq guid'…' or … or
// ItemGroup eq guid'…' or …). Items and groups share the chunks, each at
// most the batch size and the URL limit with the period clauses included.
func (s *VolumeDiscountsService) ForPeriodsItemsGroups(ctx context.Context, periodIDs, itemIDs, groupIDs []string) ([]SalesPriceListVolumeDiscount, error) {
	var ps []Filter
	for _, p := range periodIDs {
		v, err := GUID(p)
		if err != nil {
			return nil, fmt.Errorf("erp.VolumeDiscounts.ForPeriodsItemsGroups: %w", ErrInvalidID)
		}
		ps = append(ps, Eq("PriceListPeriod", v))
	}
	var keys []Filter
	for _, id := range itemIDs {
		if v, err := GUID(id); err == nil {
			keys = append(keys, Eq("Item", v))
		}
	}
	for _, id := range groupIDs {
		if v, err := GUID(id); err == nil {
			keys = append(keys, Eq("ItemGroup", v))
		}
	}
	if len(ps) == 0 || len(keys) == 0 {
		return nil, nil
	}
	out, err := s.allChunked(ctx, keys, func(run []Filter) Query { return Query{Filter: And(Or(ps...), Or(run...))} })
	if err != nil {
		return nil, fmt.Errorf("erp.VolumeDiscounts.ForPeriodsItemsGroups: %w", err)
	}
	return out, nil
}

// ForItemsWhere returns the logistics/SalesItemPrices rows of the given
// items that also match every extra filter, chunked by the batch size.
func (s *SalesItemPricesService) ForItemsWhere(ctx context.Context, itemIDs []string, extra ...Filter) ([]SalesItemPrice, error) {
	out, err := s.byGUIDs(ctx, "Item", itemIDs, And(extra...))
	if err != nil {
		return nil, fmt.Errorf("erp.SalesItemPrices.ForItemsWhere: %w", err)
	}
	return out, nil
}

// General returns the general (account-less) logistics/SalesItemPrices rows
// of the given items that also match every extra filter. It asks with
// "Account eq null" (ShapeAccountEqNull); once Exact refused that form it
// asks for the items' rows without the Account clause and keeps those
// without an account, so the answer is the same either way (more rows are
// read: the items' price agreements come along and are dropped here).
func (s *SalesItemPricesService) General(ctx context.Context, itemIDs []string, extra ...Filter) ([]SalesItemPrice, error) {
	var out []SalesItemPrice
	err := s.c.UseShape(ctx, ShapeAccountEqNull, s.path, func(ctx context.Context) error {
		var err error
		out, err = s.byGUIDs(ctx, "Item", itemIDs, And(append([]Filter{Eq("Account", Null())}, extra...)...))
		return err
	})
	if err == nil {
		return out, nil
	}
	if !errors.Is(err, ErrShapeRefused) {
		return nil, fmt.Errorf("erp.SalesItemPrices.General: %w", err)
	}
	rows, err := s.byGUIDs(ctx, "Item", itemIDs, And(extra...))
	if err != nil {
		return nil, fmt.Errorf("erp.SalesItemPrices.General: %w", err)
	}
	out = rows[:0]
	for _, r := range rows {
		if r.Account == "" {
			out = append(out, r)
		}
	}
	return out, nil
}
