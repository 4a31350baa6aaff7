// Package sandbox is an in-memory imitation of Exact Online for tests,
// demos and the gateway's embedded sandbox mode: OAuth2 (consent page, code
// and refresh grants with rotation and the "not too early" rule), the REST
// API under /api/v1/{division}/ over a generated wholesale data set (see
// package gen; OData handling in package odata), rate limits, error
// blocking, sales order creation, item pictures, a call log and fault
// injection. A *Sandbox is an http.Handler; cmd/exact-sandbox serves one.
//
// # Routes
//
//	GET|POST /api/oauth2/auth       consent page; POST (or GET with approve=1) redirects with code and state
//	POST     /api/oauth2/token      authorization_code and refresh_token grants
//	GET      /api/v1/current/Me     the user, with CurrentDivision
//	GET      /api/v1/{div}/{set}    collections, 60 rows a page (1,000 for sync/), __next with $skiptoken
//	GET      /api/v1/{div}/{set}(key)                               one entity
//	GET      /api/v1/{div}/salesorder/SalesOrders(guid'…')/SalesOrderLines  an order's lines
//	POST     /api/v1/{div}/salesorder/SalesOrders                   create an order
//	GET      /docs/SysImage.aspx?Table=Items&ID=…                   item picture (PNG)
//
// # Choices where Exact's behaviour is unknown or not imitated
//
//   - A request without "Accept: application/json" gets 400 with an Exact
//     error body (Exact would answer Atom XML).
//   - A collection GET needs $select or $top=1 (400 otherwise). Entity-by-key
//     lookups and current/Me do not need $select and return every property.
//   - Sync endpoints need a "Timestamp gt nL" clause in $filter (400
//     otherwise) and are ordered by Timestamp, which is also their skip token.
//   - $skiptoken is the key literal of the page's last record (guid'…', or
//     nL for sync). __next keeps $filter, $select, $orderby, $expand,
//     $inlinecount and the remaining $top.
//   - Rate limits count every authenticated API call per client id and
//     division (token, consent and picture calls are not counted). Windows
//     are aligned to the clock (minute on the minute, day at midnight UTC
//     for the default lengths). A 429 has an empty body and only the
//     minutely headers; a 401 carries the six headers without consuming.
//   - Errors 400, 401, 403 and 404 are counted per endpoint per "hour"
//     (60 × MinuteLength, aligned to the clock). With BlockAfterErrors, the
//     tenth error blocks the endpoint until the hour window ends: 403, header
//     "Reason: TooManyErrors", Exact error body "Forbidden - too many errors
//     on this endpoint; it is blocked until <RFC 3339 time>." Blocked answers
//     do not count as errors themselves.
//   - A refresh while the chain's newest access token has more than
//     RefreshWindow left is refused (400 access_denied + Reason header) and
//     does not rotate the refresh token. Revoked chains answer 401
//     unauthorized_client "The refresh token has been revoked."; access
//     tokens already issued keep working until they expire.
//   - An order line without UnitPrice is priced at the item's
//     StandardSalesPrice (UNCONFIRMED what Exact does). A blocked OrderedBy
//     account gets 400. AmountDC equals AmountFC (no exchange rates).
//     AmountFC includes VAT (9 % or 21 % by the item's SalesVatCode),
//     AmountFCExclVat is the sum of the line amounts. A posted Currency is
//     kept (else the account's SalesCurrency, else the division's).
//     Created and Modified of posted orders are the division's wall clock
//     (Options.Location, default Europe/Amsterdam) encoded as epoch ms, as
//     Exact does (exact-online-api.md §5.9). SetNetPriceHook forces a
//     line's NetPrice in tests.
//   - Maintenance answers every API, token, consent and picture call with
//     503 and an Exact error body. Forced failures (FailNext) hit API calls
//     after authentication and rate accounting. A dropped connection is
//     logged with Status 0.
//   - Pictures need a valid bearer token but do not count against the rate
//     limit.
//
// # Pessimistic switches
//
// Where Exact's behaviour is UNCONFIRMED (exact-online-api.md §5.9) the
// sandbox can imitate its least convenient reading. Each switch is off by
// default and set through Faults (SetSubstringOf501, SetRefuseAccountEqNull,
// SetMaxURLLength, SetRepriceLines, SetRemarksLimit, or SetPessimistic for
// all five) or POST /sandbox/faults:
//
//   - substringof_501: a GET whose $filter uses substringof gets 501.
//   - refuse_account_eq_null: a GET whose $filter has "Account eq null" gets 400.
//   - max_url_length: an API call whose full URL is longer gets 400
//     (SetPessimistic uses DefaultMaxURLLength, 2,048).
//   - reprice_lines: the order POST takes the account's DiscountSales (5 %
//     without one) off the UnitPrice of every line sent without a Discount
//     field: NetPrice, Discount and the amounts show it.
//   - remarks_limit: the order POST cuts Remarks to that many characters
//     without an error (SetPessimistic uses DefaultRemarksLimit, 100).
//
// # Control API
//
// No authentication; not recorded in the call log. JSON in and out.
//
//	GET  /sandbox/calls          {"calls":[Call…],"count":n,"by_kind":{"api":n,…}}
//	POST /sandbox/calls/reset    empties the log and zeroes Stats (204)
//	GET  /sandbox/stats          Stats
//	GET  /sandbox/faults         FaultState
//	POST /sandbox/faults         {"reset":true,"latency_ms":n,"fail_next":n,"fail_status":503,
//	                              "maintenance":true,"force_429":n,"drop_after_post":true,
//	                              "reject_next_order":"msg","revoke_refresh_tokens":true,
//	                              "pessimistic":true,"substringof_501":true,"refuse_account_eq_null":true,
//	                              "max_url_length":2048,"reprice_lines":true,"remarks_limit":100}
//	                             (absent fields leave a fault as it is; reset is applied first)
//	POST /sandbox/refresh-token  {"refresh_token":"…"}: a new chain, refreshable at once
//	GET  /sandbox/demo-buyers    [{"name","rule","account_id","account_code","contact_id"}…]
//	GET  /sandbox/clock          {"now":…,"fake":bool}
//	POST /sandbox/clock          {"advance_ms":n} and/or {"set":"RFC 3339"}; 409 with a real clock
//
// Control calls that change data (see serveSyncControl and README.md) bump
// Timestamps and fire the matching webhooks: /sandbox/items/price,
// /sandbox/stock, /sandbox/items, /sandbox/price-agreements/delete,
// /sandbox/orders; GET /sandbox/webhooks counts deliveries.
package sandbox
