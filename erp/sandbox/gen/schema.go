package gen

import (
	"strings"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Entity-set paths the sandbox serves (below /api/v1/{division}/).
const (
	PathItems             = "logistics/Items"
	PathItemGroups        = "logistics/ItemGroups"
	PathSalesItemPrices   = "logistics/SalesItemPrices"
	PathPriceLists        = "sales/SalesPriceLists"
	PathPriceListPeriods  = "sales/SalesPriceListPeriods"
	PathVolumeDiscounts   = "sales/SalesPriceListVolumeDiscounts"
	PathItemWarehouses    = "inventory/ItemWarehouses"
	PathWarehouses        = "inventory/Warehouses"
	PathAccounts          = "crm/Accounts"
	PathContacts          = "crm/Contacts"
	PathAddresses         = "crm/Addresses"
	PathShippingMethods   = "sales/ShippingMethods"
	PathSalesOrders       = "salesorder/SalesOrders"
	PathSalesOrderLines   = "salesorder/SalesOrderLines"
	PathSyncItems         = "sync/Logistics/Items"
	PathSyncSalesPrices   = "sync/Logistics/SalesItemPrices"
	PathSyncVolumeDisc    = "sync/Sales/SalesPriceListVolumeDiscounts"
	PathSyncItemWarehouse = "sync/Inventory/ItemWarehouses"
)

// syncBases maps each sync set to the plain set whose records it serves.
var syncBases = map[string]string{
	PathSyncItems:         PathItems,
	PathSyncSalesPrices:   PathSalesItemPrices,
	PathSyncVolumeDisc:    PathVolumeDiscounts,
	PathSyncItemWarehouse: PathItemWarehouses,
}

// SyncBase maps a sync path ("sync/Logistics/Items") to the plain set whose
// records it serves ("logistics/Items"). It reports false for any other path.
func SyncBase(path string) (string, bool) {
	b, ok := syncBases[path]
	return b, ok
}

// plainSpecs lists every plain entity set: path, key, __metadata type and
// its fields in a compact "Name:T" form (T: G Guid, S String, I Int32,
// L Int64, Y Byte, D Double, B Boolean, T DateTime).
var plainSpecs = []struct {
	path, key, typeName, fields string
}{
	{PathItems, "ID", "Exact.Web.Api.Models.Logistics.Item", `
		ID:G Code:S Description:S ExtraDescription:S Barcode:S
		ItemGroup:G ItemGroupCode:S ItemGroupDescription:S
		Unit:S UnitDescription:S UnitType:S SalesVatCode:S SalesVatCodeDescription:S
		IsSalesItem:B IsPurchaseItem:B IsStockItem:B IsFractionAllowedItem:B IsWebshopItem:Y
		IsSerialItem:B IsBatchItem:Y StartDate:T EndDate:T
		StandardSalesPrice:D CostPriceStandard:D CostPriceCurrency:S AverageCost:D Stock:D
		NetWeight:D GrossWeight:D PictureName:S PictureUrl:S PictureThumbnailUrl:S Notes:S
		Created:T Modified:T Division:I`},
	{PathItemGroups, "ID", "Exact.Web.Api.Models.Logistics.ItemGroup", `
		ID:G Code:S Description:S IsDefault:Y Notes:S Created:T Modified:T Division:I`},
	{PathSalesItemPrices, "ID", "Exact.Web.Api.Models.Logistics.SalesItemPrice", `
		ID:G Item:G ItemCode:S ItemDescription:S Account:G AccountName:S
		Price:D Currency:S Quantity:D StartDate:T EndDate:T
		Unit:S UnitDescription:S NumberOfItemsPerUnit:D DefaultItemUnit:S DefaultItemUnitDescription:S
		Project:G Created:T Modified:T Division:I`},
	{PathPriceLists, "ID", "Exact.Web.Api.Models.Sales.SalesPriceList", `
		ID:G Code:S Description:S Currency:S Type:I TypeDescription:S Entity:I EntityDescription:S
		Notes:S Created:T Modified:T Division:I`},
	{PathPriceListPeriods, "ID", "Exact.Web.Api.Models.Sales.SalesPriceListPeriod", `
		ID:G PriceList:G PriceListCode:S PriceListDescription:S StartDate:T EndDate:T
		Type:I TypeDescription:S Currency:S Created:T Modified:T Division:I`},
	{PathVolumeDiscounts, "ID", "Exact.Web.Api.Models.Sales.SalesPriceListVolumeDiscount", `
		ID:G PriceListPeriod:G PriceListCode:S PriceListDescription:S
		Item:G ItemCode:S ItemDescription:S ItemGroup:G ItemGroupCode:S ItemGroupDescription:S
		Quantity:D Discount:D NewPrice:D EntryMethod:I BasePrice:G BasePriceAmount:D
		Unit:S UnitDescription:S SalesUnit:S SalesUnitDescription:S NumberOfItemsPerUnit:D
		Created:T Modified:T Division:I`},
	{PathItemWarehouses, "ID", "Exact.Web.Api.Models.Inventory.ItemWarehouse", `
		ID:G Item:G ItemCode:S ItemDescription:S ItemUnit:S
		Warehouse:G WarehouseCode:S WarehouseDescription:S
		CurrentStock:D PlannedStockIn:D PlannedStockOut:D ProjectedStock:D ReservedStock:D
		SafetyStock:D ReorderPoint:D ReorderQuantity:D MaximumStock:D DefaultStorageLocation:G
		Created:T Modified:T Division:I`},
	{PathWarehouses, "ID", "Exact.Web.Api.Models.Inventory.Warehouse", `
		ID:G Code:S Description:S Main:Y UseStorageLocations:Y DefaultStorageLocation:G
		EMail:S Created:T Modified:T Division:I`},
	{PathAccounts, "ID", "Exact.Web.Api.Models.Account", `
		ID:G Code:S Name:S SearchCode:S Email:S Phone:S Website:S VATNumber:S ChamberOfCommerce:S
		Status:S Type:S IsSales:B IsSupplier:B Blocked:B
		PriceList:G DiscountSales:D PaymentConditionSales:S PaymentConditionSalesDescription:S
		SalesCurrency:S SalesCurrencyDescription:S SalesVATCode:S ShippingMethod:G ShippingLeadDays:I
		DeliveryAdvice:Y InvoiceAccount:G InvoiceAccountCode:S InvoiceAccountName:S
		CreditLineSales:D MainContact:G Language:S
		AddressLine1:S AddressLine2:S AddressLine3:S Postcode:S City:S State:S Country:S CountryName:S
		Created:T Modified:T Division:I`},
	{PathContacts, "ID", "Exact.Web.Api.Models.Contact", `
		ID:G Account:G AccountName:S FirstName:S LastName:S FullName:S Initials:S
		Email:S Phone:S Mobile:S IsMainContact:B JobTitleDescription:S Language:S
		Created:T Modified:T Division:I`},
	{PathAddresses, "ID", "Exact.Web.Api.Models.Address", `
		ID:G Account:G AccountName:S Contact:G ContactName:S Type:I TypeDescription:S Main:B
		AddressLine1:S AddressLine2:S AddressLine3:S Postcode:S City:S State:S Country:S
		Phone:S Warehouse:G Created:T Modified:T Division:I`},
	{PathShippingMethods, "ID", "Exact.Web.Api.Models.Sales.ShippingMethod", `
		ID:G Code:S Description:S Active:B Price:D TrackingURL:S Notes:S
		Created:T Modified:T Division:I`},
	{PathSalesOrders, "OrderID", "Exact.Web.Api.Models.SalesOrder.SalesOrder", `
		OrderID:G OrderNumber:I OrderDate:T DeliveryDate:T
		OrderedBy:G OrderedByName:S OrderedByContactPerson:G OrderedByContactPersonFullName:S
		DeliverTo:G DeliverToName:S DeliverToContactPerson:G DeliveryAddress:G
		InvoiceTo:G InvoiceToName:S InvoiceToContactPerson:G
		YourRef:S Description:S Remarks:S
		Status:I StatusDescription:S DeliveryStatus:I DeliveryStatusDescription:S
		InvoiceStatus:I InvoiceStatusDescription:S ApprovalStatus:I ApprovalStatusDescription:S
		Currency:S AmountFC:D AmountDC:D AmountFCExclVat:D AmountDiscount:D AmountDiscountExclVat:D
		PaymentCondition:S PaymentConditionDescription:S
		ShippingMethod:G ShippingMethodDescription:S
		WarehouseID:G WarehouseCode:S WarehouseDescription:S
		Created:T Modified:T Division:I`},
	{PathSalesOrderLines, "ID", "Exact.Web.Api.Models.SalesOrder.SalesOrderLine", `
		ID:G OrderID:G OrderNumber:I LineNumber:I Item:G ItemCode:S ItemDescription:S Description:S
		Quantity:D UnitPrice:D NetPrice:D Discount:D AmountFC:D AmountDC:D
		VATCode:S VATPercentage:D VATAmount:D UnitCode:S UnitDescription:S Notes:S
		DeliveryDate:T Pricelist:G QuantityDelivered:D QuantityInvoiced:D
		DeliveryStatus:I InvoiceStatus:I CostPriceFC:D Division:I`},
}

// syncTypeNames are the __metadata types of the sync sets. Exact's sync
// models live in their own namespace; the exact name is UNCONFIRMED and no
// client depends on it.
var syncTypeNames = map[string]string{
	PathSyncItems:         "Exact.Web.Api.Models.Sync.Logistics.Item",
	PathSyncSalesPrices:   "Exact.Web.Api.Models.Sync.Logistics.SalesItemPrice",
	PathSyncVolumeDisc:    "Exact.Web.Api.Models.Sync.Sales.SalesPriceListVolumeDiscount",
	PathSyncItemWarehouse: "Exact.Web.Api.Models.Sync.Inventory.ItemWarehouse",
}

var typeCodes = map[string]odata.Type{
	"G": odata.Guid, "S": odata.String, "I": odata.Int32, "L": odata.Int64,
	"Y": odata.Byte, "D": odata.Double, "B": odata.Boolean, "T": odata.DateTime,
}

func parseFields(spec string) []odata.Field {
	parts := strings.Fields(spec)
	fs := make([]odata.Field, 0, len(parts))
	for _, p := range parts {
		name, code, _ := strings.Cut(p, ":")
		fs = append(fs, odata.Field{Name: name, Type: typeCodes[code]})
	}
	return fs
}

// Schemas returns every entity set the sandbox serves, keyed by path. The
// sync sets carry the plain set's fields plus Timestamp (Edm.Int64), which
// is also their key, as in Exact's sync API. Each call returns a fresh map
// the caller may modify.
func Schemas() map[string]odata.EntitySet {
	m := make(map[string]odata.EntitySet, len(plainSpecs)+len(syncBases))
	for _, s := range plainSpecs {
		m[s.path] = odata.EntitySet{Path: s.path, Key: s.key, TypeName: s.typeName, Fields: parseFields(s.fields)}
	}
	for sp, base := range syncBases {
		b := m[base]
		fs := make([]odata.Field, 0, len(b.Fields)+1)
		fs = append(fs, odata.Field{Name: "Timestamp", Type: odata.Int64})
		fs = append(fs, b.Fields...)
		m[sp] = odata.EntitySet{Path: sp, Key: "Timestamp", TypeName: syncTypeNames[sp], Fields: fs}
	}
	return m
}
