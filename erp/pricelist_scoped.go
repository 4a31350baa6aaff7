package erp

import (
	"context"
	"fmt"
)

// ForPeriodsAnd returns the sales/SalesPriceListVolumeDiscounts rows of the
// given periods whose field ("Item" or "ItemGroup") is one of ids:
// (PriceListPeriod eq guid'…' or …) and (field eq guid'…' or …). The ids are
// chunked so that periods plus ids stay within the client's batch size,
// keeping each URL under Exact's practical length limit.
func (s *VolumeDiscountsService) ForPeriodsAnd(ctx context.Context, periodIDs []string, field string, ids []string) ([]SalesPriceListVolumeDiscount, error) {
	var ps []Filter
	for _, p := range periodIDs {
		v, err := GUID(p)
		if err != nil {
			return nil, fmt.Errorf("erp.VolumeDiscounts.ForPeriodsAnd: %w", ErrInvalidID)
		}
		ps = append(ps, Eq("PriceListPeriod", v))
	}
	if len(ps) == 0 || len(ids) == 0 {
		return nil, nil
	}
	chunk := max(1, s.c.batch-len(ps))
	var out []SalesPriceListVolumeDiscount
	for start := 0; start < len(ids); start += chunk {
		end := min(start+chunk, len(ids))
		rows, err := s.byGUIDs(ctx, field, ids[start:end], Or(ps...))
		if err != nil {
			return nil, fmt.Errorf("erp.VolumeDiscounts.ForPeriodsAnd: %w", err)
		}
		out = append(out, rows...)
	}
	return out, nil
}
