// Package index is the mirror's in-memory read model: indexes over the
// Exact rows the sync feeds deliver, answering every storefront read
// (products, search, prices, stock, customers, orders) with no I/O. It does
// not fetch, persist or schedule anything; the feed runner calls Apply with
// each batch of changed rows, and the resolvers read a Snapshot.
//
// # Writing
//
//	x := index.New(index.Config{Shop: validate.Shop{Currency: "EUR"}})
//	err := x.Apply(index.Batch{Items: items, Deletes: dels, ReadAt: now})
//
// Apply validates the whole batch first (a *BatchError names the bad row)
// and then publishes a new immutable state in one atomic step, so a reader
// sees all of a batch or none of it, and a refused batch changes nothing.
// A batch copies only what it touches: the ID map of each kind it carries
// (a pointer per row) and the sorted lists of the groups it changes (an
// item's prices, an account's orders), which are merged by binary search
// and copied in runs, never re-sorted. Feeds should therefore apply whole
// pages (up to 1,000 rows), not single rows. Old states are freed once no
// reader holds a Snapshot of them.
// Config.MaxRowsPerKind bounds memory: a batch that would exceed it is
// refused with a *LimitError. Re-read reference sets (item groups,
// warehouses, shipping methods, price lists, periods) are applied with
// Batch.Replace so rows gone at Exact disappear.
//
// # Reading
//
// Take one Snapshot per request and read everything from it:
//
//	s := x.Snapshot()
//	page, err := s.Products(index.Query{Search: "bout m8", First: 24, Today: today})
//	price, ok := s.Price(buyer, itemID, qty, today)
//
// "Today" is always passed in as a calendar date in the division's zone
// (ARCHITECTURE §3; Query.Today is required); the package reads no clock.
//
//   - Products: Item (any), Product / ProductByCode / ProductsByBarcode
//     (sellable only; codes trimmed and compared case-insensitively as
//     Exact does), Sellable, ItemGroups, ItemGroup.
//   - Products(Query): search, item group, inStock/inWarehouse, sort,
//     totalCount and cursor paging. Every search word must be a substring,
//     after Fold (lower case, Latin accents removed), of the code,
//     description, extra description or barcode. Each item's fields are
//     folded once when the row arrives; a query scans compact arrays and
//     rules most items out with a 512-bit mask of the letter pairs they
//     contain before any substring test. Exact code or barcode
//     hits come first, then the sort: CODE, DESCRIPTION or RELEVANCE
//     (code starts with the first word, then every word in code or
//     description, then the rest; each tier by code). The default is
//     RELEVANCE with a search, else CODE, as schema-v2 says. A cursor is
//     the last item's sort key (never an offset) plus a hash of the query,
//     so a walk that started before a change neither skips nor repeats an
//     item that did not itself change; an item whose own sort key changes
//     mid-walk may be seen at its old and new place or at neither.
//   - Prices: Buyer / PublicBuyer, Price, PriceBreaks, PriceData (the rows
//     the §4 rules read). The rules themselves live in package pricing and
//     are reached through one adapter (rules in rules.go).
//   - Stock: Warehouses (main first), Stock (every warehouse, zeros
//     included), AvailableQuantity; available = max(0, onHand − plannedOut).
//   - Customers: Account, Contacts, Addresses, Address, ShippingMethods,
//     PriceList; orders per account newest first with cursor paging
//     (Orders), one order with its lines (Order).
//
// Errors about a caller's arguments wrap ErrInvalidArgument; lookups
// report absence with a bool, never an error.
package index
