package index

import "github.com/exactql/exactql/erp"

// withBasePrice marks a volume-discount row as "set base price" (Exact's
// BasePrice is an Edm.Guid; null means "standard sales price"). This is the
// one place the tests depend on how erp types BasePrice; today it is still
// an int in erp, so any non-zero value stands for a GUID.
func withBasePrice(d erp.SalesPriceListVolumeDiscount) erp.SalesPriceListVolumeDiscount {
	d.BasePrice = 1
	return d
}
