package catalog

import "github.com/exactql/exactql/catalog/feeds"

// Data is one kind of Exact data the read path serves.
type Data int

// The kinds of data.
const (
	DataItems Data = iota + 1
	DataItemGroups
	DataWarehouses
	DataShippingMethods
	DataAccounts
	DataPriceLists
	DataContacts
	DataAddresses
	DataStock
	DataPrices
	DataOrders
)

var dataNames = map[Data]string{
	DataItems: "items", DataItemGroups: "itemGroups", DataWarehouses: "warehouses",
	DataShippingMethods: "shippingMethods", DataAccounts: "accounts", DataPriceLists: "priceLists",
	DataContacts: "contacts", DataAddresses: "addresses", DataStock: "stock", DataPrices: "prices",
	DataOrders: "orders",
}

// String returns the kind's name.
func (d Data) String() string { return dataNames[d] }

// Needs lists, per kind of data, the feeds whose first full pass must be
// complete before the mirror answers it. Prices need every row the price
// rules read (ARCHITECTURE §4): the items (standard price, group), the
// price rows, the buyer's account (price list, discount), the price lists,
// their periods and the volume discounts. Stock rows name warehouses.
var Needs = map[Data][]string{
	DataItems:           {feeds.FeedItems},
	DataItemGroups:      {feeds.FeedItemGroups},
	DataWarehouses:      {feeds.FeedWarehouses},
	DataShippingMethods: {feeds.FeedShippingMethods},
	DataAccounts:        {feeds.FeedAccounts},
	DataPriceLists:      {feeds.FeedPriceLists},
	DataContacts:        {feeds.FeedContacts},
	DataAddresses:       {feeds.FeedAddresses},
	DataStock:           {feeds.FeedStock, feeds.FeedWarehouses},
	DataPrices: {feeds.FeedItems, feeds.FeedPrices, feeds.FeedAccounts, feeds.FeedPriceLists,
		feeds.FeedPriceListPeriods, feeds.FeedVolumeDiscounts},
	DataOrders: {feeds.FeedOrders, feeds.FeedOrderLines, feeds.FeedItems},
}

// Fields maps each read field of the GraphQL schema ("Type.field") to the
// kinds of data answering it needs. It is the one place that knows this:
// the resolvers' list prefetch (what to load for a page) and the freshness
// bounds (which data an answer used) read it. Fields not listed read no
// Exact data (they are computed from their parent).
var Fields = map[string][]Data{
	"Query.product":                  {DataItems},
	"Query.products":                 {DataItems},
	"Query.productsByCode":           {DataItems},
	"Query.itemGroups":               {DataItemGroups},
	"Query.warehouses":               {DataWarehouses},
	"Query.shippingMethods":          {DataShippingMethods},
	"Query.viewer":                   {DataAccounts},
	"Product.price":                  {DataPrices},
	"Product.priceBreaks":            {DataPrices},
	"Product.stock":                  {DataStock, DataWarehouses},
	"Product.availableQuantity":      {DataStock},
	"Customer.priceList":             {DataPriceLists},
	"Customer.contacts":              {DataContacts},
	"Customer.defaultShippingMethod": {DataShippingMethods},
	"Customer.invoiceAddress":        {DataAddresses},
	"Customer.deliveryAddresses":     {DataAddresses},
	"Customer.orders":                {DataOrders},
}

// FieldNeeds returns the kinds of data the field typeName.field needs.
func FieldNeeds(typeName, field string) []Data { return Fields[typeName+"."+field] }
