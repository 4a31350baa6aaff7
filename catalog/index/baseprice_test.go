package index

import "github.com/exactql/exactql/erp"

// withBasePrice marks a volume-discount row as "set base price" (Exact's
// BasePrice is an Edm.Guid; null means "standard sales price"). This is the
// one place the tests depend on how erp types BasePrice.
func withBasePrice(d erp.SalesPriceListVolumeDiscount) erp.SalesPriceListVolumeDiscount {
	d.BasePrice = "5b0d3c1e-0000-4000-8000-000000000001"
	return d
}
