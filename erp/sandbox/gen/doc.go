package gen

// Where the edge cases live (for tests of the gateway). "Catalog item k" is
// the k-th item by Code, k from 0: items are created as ART-000001,
// ART-000002, … and the first 60 (catalogPage) are all active webshop sales
// items with a general price, so they are the first catalog page. All dates
// are relative to Options.Today (date-only fields at midnight UTC).
//
// Items (index ≥ 60 only): 60 non-sales, 61 ended, 62 EndDate in the future,
// 63 no general price (StandardSalesPrice applies), 64 not a webshop item,
// 65–70 codes needing escaping (specialCodes), 72 two valid general rows of
// Quantity 1 (tie: the latest StartDate, 10 days ago, wins), 73 a sales
// item whose StartDate is 7–36 days ahead (not sellable yet); further items
// get these roles at random rates. Catalog item 1 is oversold in some
// warehouse (PlannedStockOut > CurrentStock); catalog item 0 is stocked in
// every warehouse but the last.
//
// General prices (Account null): catalog items with k%3 == 1 have tiers at
// 10/50/100; catalog item 2 has an expired row, 3 a future row, 4 a row in
// another unit; catalog items 0–9 have a row in the foreign currency (USD).
//
// CUSTOMER_PRICE demo buyer ("Bakkerij De Vries"), agreements on catalog
// items: 0 plain (Unit null); 1 tiers 1/10/50; 2 tie at Quantity 1 (StartDate −100 and
// −20 days, the later wins); 3 expired only; 4 future only; 5 another unit
// only; 6 foreign currency only; 7 ends in 45 days; 8 only from Quantity
// 10; 9–11 plain (Unit null), and 10 also an agreement for a box of 12
// (NumberOfItemsPerUnit 12, to be ignored). No price list, no discount.
//
// PRICE_LIST demo buyer ("Café Het Hoekje") is on list WHOLESALE with
// periods: expired Basic (−500…−201 days) with absurd rows for catalog items
// 0–39; Basic B1 (−200, open) with item rows for catalog items 0–39 except
// k%4 == 3, by k%5: 0 discount 10 %/15 %/20 % at 1/10/25 (base: default
// price: BasePrice null, BasePriceAmount the item's StandardSalesPrice,
// which differs from the default price at the tiers), 1 discount 5 % on a
// set base price (BasePrice a GUID, BasePriceAmount 1.2 × the default
// price), 2 discount 8 % on the standard sales price (BasePrice null) with
// a BasePriceAmount of 1.25 × the default price that must not be used, 3 new
// price with tiers 1/10/25, 4 new price from 10 up only; catalog item 6 also
// has a row in another unit, 9 a row with Unit null but another SalesUnit,
// 10 a row for a pack of 6 (NumberOfItemsPerUnit 6), all ignored; group
// rows (BasePrice and BasePriceAmount null; 7 % at 1,
// 12 % at 25) for all item groups but the last two. Basic B2 (−30…+90)
// with rows for catalog items 0–2 (latest Basic wins). Special offer
// (−3…+10) with item rows for catalog items 0–1 and a group row (20 %) for
// catalog item 10's group. Future special offer (+15…+30) for catalog items
// 0–9.
//
// Other lists: GROUPS (Entity 2, group rows only, with expired and future
// periods), HORECA (random item rows on ~8 % of items, a special offer on
// ~1.5 %), EXPORT (in the foreign currency). ACCOUNT_DISCOUNT demo buyer:
// DiscountSales 0.1 only. DEFAULT_PRICE: nothing. BLOCKED: Blocked. The
// OTHER_CURRENCY buyer buys in the foreign currency (USD).
