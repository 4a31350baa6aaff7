package sandbox

import (
	"errors"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/exactql/exactql/erp/sandbox/gen"
	"github.com/exactql/exactql/erp/sandbox/odata"
)

// Sync feeds the sandbox serves beyond gen's four (gen.PathSync*), and the
// webhook subscription endpoint.
const (
	PathSyncStockPositions   = "sync/Inventory/StockPositions"
	PathSyncAccounts         = "sync/CRM/Accounts"
	PathSyncContacts         = "sync/CRM/Contacts"
	PathSyncAddresses        = "sync/CRM/Addresses"
	PathSyncOrderHeaders     = "sync/SalesOrder/SalesOrderHeaders"
	PathSyncOrderLines       = "sync/SalesOrder/SalesOrderLines"
	PathSyncDeleted          = "sync/Deleted"
	PathWebhookSubscriptions = "webhooks/WebhookSubscriptions"
)

// Entity types of sync/Deleted (EntityType), as exact-online-api.md §5.7 lists them.
const (
	EntityAccounts          = 2
	EntityAddresses         = 3
	EntityContacts          = 5
	EntityItemPrices        = 8
	EntityItems             = 9
	EntityStockPositions    = 15
	EntityItemWarehouses    = 19
	EntitySalesOrderHeaders = 32
	EntitySalesOrderLines   = 33
)

// Errors of the in-process control calls; the HTTP control API answers them
// 404 and 400.
var (
	// ErrNoSuchRecord means the record a control call names does not exist.
	ErrNoSuchRecord = errors.New("sandbox: no such record")
	// ErrInvalidChange means a control call's arguments are not acceptable;
	// nothing was changed.
	ErrInvalidChange = errors.New("sandbox: invalid change")
)

// extraSyncBases maps the sync feeds that serve a plain set's records as
// they are (plus Timestamp) to that set.
var extraSyncBases = map[string]string{
	PathSyncAccounts:     gen.PathAccounts,
	PathSyncContacts:     gen.PathContacts,
	PathSyncAddresses:    gen.PathAddresses,
	PathSyncOrderHeaders: gen.PathSalesOrders,
	PathSyncOrderLines:   gen.PathSalesOrderLines,
}

// itemWarehouseQuantities are the fields sync/Inventory/ItemWarehouses does
// not carry at Exact (exact-online-api.md §5.3): stock figures come from
// sync/Inventory/StockPositions.
var itemWarehouseQuantities = map[string]bool{
	"CurrentStock": true, "PlannedStockIn": true, "PlannedStockOut": true, "ProjectedStock": true,
}

func fieldsOf(spec string) []odata.Field {
	types := map[string]odata.Type{"G": odata.Guid, "S": odata.String, "I": odata.Int32, "L": odata.Int64,
		"D": odata.Double, "B": odata.Boolean, "T": odata.DateTime}
	var fs []odata.Field
	for _, p := range strings.Fields(spec) {
		n, c, _ := strings.Cut(p, ":")
		fs = append(fs, odata.Field{Name: n, Type: types[c]})
	}
	return fs
}

// addSyncSchemas adds the sandbox's own sync feeds and the webhook
// subscription set to m, and strips the quantities from
// sync/Inventory/ItemWarehouses.
func addSyncSchemas(m map[string]odata.EntitySet) {
	for sp, base := range extraSyncBases {
		b := m[base]
		fs := append([]odata.Field{{Name: "Timestamp", Type: odata.Int64}}, b.Fields...)
		m[sp] = odata.EntitySet{Path: sp, Key: "Timestamp", TypeName: strings.Replace(b.TypeName, "Models.", "Models.Sync.", 1), Fields: fs}
	}
	if iw, ok := m[gen.PathSyncItemWarehouse]; ok {
		var fs []odata.Field
		for _, f := range iw.Fields {
			if !itemWarehouseQuantities[f.Name] {
				fs = append(fs, f)
			}
		}
		iw.Fields = fs
		m[gen.PathSyncItemWarehouse] = iw
	}
	m[PathSyncStockPositions] = odata.EntitySet{Path: PathSyncStockPositions, Key: "Timestamp",
		TypeName: "Exact.Web.Api.Models.Sync.Inventory.StockPosition", Fields: fieldsOf(`
		Timestamp:L ID:G ItemId:G ItemCode:S ItemDescription:S Warehouse:G WarehouseCode:S WarehouseDescription:S
		CurrentStock:D FreeStock:D PlanningIn:D PlanningOut:D ProjectedStock:D ReorderPoint:D ReservedStock:D
		UnitCode:S Division:I`)}
	m[PathSyncDeleted] = odata.EntitySet{Path: PathSyncDeleted, Key: "Timestamp",
		TypeName: "Exact.Web.Api.Models.Sync.Deleted", Fields: fieldsOf(`
		Timestamp:L ID:G EntityKey:G EntityType:I DeletedBy:G DeletedDate:T Division:I`)}
	m[PathWebhookSubscriptions] = odata.EntitySet{Path: PathWebhookSubscriptions, Key: "ID",
		TypeName: "Exact.Web.Api.Models.Webhooks.WebhookSubscription", Fields: fieldsOf(`
		ID:G CallbackURL:S Topic:S ClientID:G UserID:G Division:I Description:S Created:T IsInstant:B`)}
}

// syncRecords returns the records of the sandbox's own derived sync feeds.
// The caller holds s.mu.
func (s *Sandbox) syncRecords(path string) ([]odata.Record, bool) {
	if base, ok := extraSyncBases[path]; ok {
		return s.sets[base], true
	}
	if path != PathSyncStockPositions {
		return nil, false
	}
	// A stock position is a view of an item-warehouse row with Exact's sync
	// names; it shares the row's Timestamp, so a stock change shows in both feeds.
	iws := s.sets[gen.PathItemWarehouses]
	out := make([]odata.Record, 0, len(iws))
	for _, r := range iws {
		cur, out2 := decOf(r["CurrentStock"]), decOf(r["PlannedStockOut"])
		free := cur.Sub(out2)
		if free.IsNegative() {
			free = decimal.Zero
		}
		out = append(out, odata.Record{
			"Timestamp": r["Timestamp"], "ID": r["ID"], "ItemId": r["Item"], "ItemCode": r["ItemCode"],
			"ItemDescription": r["ItemDescription"], "Warehouse": r["Warehouse"], "WarehouseCode": r["WarehouseCode"],
			"WarehouseDescription": r["WarehouseDescription"], "CurrentStock": r["CurrentStock"], "FreeStock": f64(free),
			"PlanningIn": r["PlannedStockIn"], "PlanningOut": r["PlannedStockOut"], "ProjectedStock": r["ProjectedStock"],
			"ReorderPoint": r["ReorderPoint"], "ReservedStock": r["ReservedStock"], "UnitCode": r["ItemUnit"],
			"Division": r["Division"],
		})
	}
	return out, true
}

// touchLocked gives rec the next Timestamp and Modified = now. The caller
// holds s.mu for writing.
func (s *Sandbox) touchLocked(rec odata.Record, now time.Time) {
	s.maxTS++
	rec["Timestamp"] = s.maxTS
	rec["Modified"] = now
}

// recordDeletedLocked appends a sync/Deleted row. The caller holds s.mu for writing.
func (s *Sandbox) recordDeletedLocked(key string, entityType int, now time.Time) {
	s.maxTS++
	s.sets[PathSyncDeleted] = append(s.sets[PathSyncDeleted], odata.Record{
		"Timestamp": s.maxTS, "ID": newGUID(), "EntityKey": key, "EntityType": int64(entityType),
		"DeletedBy": sandboxUserID, "DeletedDate": now, "Division": int64(s.division),
	})
}

// SetStandardSalesPrice changes an item's StandardSalesPrice, as a user
// editing the item in Exact would. Exact keeps the item's standard price and
// its general sales price (SalesItemPrices without Account, quantity ≤ 1,
// division currency) equal; the sandbox updates both (how Exact links them
// is UNCONFIRMED). Every changed row gets a new Timestamp and the Items
// webhook topic fires.
func (s *Sandbox) SetStandardSalesPrice(itemID string, price decimal.Decimal) error {
	if price.IsNegative() {
		return ErrInvalidChange
	}
	now := s.clock.Now().UTC()
	s.mu.Lock()
	item := s.byID(gen.PathItems, strings.ToLower(itemID))
	if item == nil {
		s.mu.Unlock()
		return ErrNoSuchRecord
	}
	item["StandardSalesPrice"] = f64(price)
	s.touchLocked(item, now)
	for _, p := range s.sets[gen.PathSalesItemPrices] {
		if p["Item"] == item["ID"] && p["Account"] == nil && p["Currency"] == s.currency && decOf(p["Quantity"]).LessThanOrEqual(decimal.NewFromInt(1)) {
			p["Price"] = f64(price)
			s.touchLocked(p, now)
		}
	}
	id := item["ID"].(string)
	s.mu.Unlock()
	s.notify(TopicItems, ActionUpdate, "logistics/Items", id)
	return nil
}

// SetStock sets the CurrentStock (on hand) of an item in a warehouse,
// creating the item-warehouse row when there is none. The row gets a new
// Timestamp (sync/Inventory/StockPositions and ItemWarehouses) and the
// StockPositions webhook topic fires.
func (s *Sandbox) SetStock(itemID, warehouseID string, onHand decimal.Decimal) error {
	itemID, warehouseID = strings.ToLower(itemID), strings.ToLower(warehouseID)
	now := s.clock.Now().UTC()
	s.mu.Lock()
	item, wh := s.byID(gen.PathItems, itemID), s.byID(gen.PathWarehouses, warehouseID)
	if item == nil || wh == nil {
		s.mu.Unlock()
		return ErrNoSuchRecord
	}
	var row odata.Record
	for _, r := range s.sets[gen.PathItemWarehouses] {
		if r["Item"] == itemID && r["Warehouse"] == warehouseID {
			row = r
			break
		}
	}
	if row == nil {
		row = odata.Record{
			"ID": newGUID(), "Item": itemID, "ItemCode": item["Code"], "ItemDescription": item["Description"],
			"ItemUnit": item["Unit"], "Warehouse": warehouseID, "WarehouseCode": wh["Code"],
			"WarehouseDescription": wh["Description"], "PlannedStockIn": float64(0), "PlannedStockOut": float64(0),
			"ReservedStock": float64(0), "Created": now, "Modified": now, "Division": int64(s.division),
		}
		s.sets[gen.PathItemWarehouses] = append(s.sets[gen.PathItemWarehouses], row)
	}
	row["CurrentStock"] = f64(onHand)
	row["ProjectedStock"] = f64(onHand.Add(decOf(row["PlannedStockIn"])).Sub(decOf(row["PlannedStockOut"])))
	s.touchLocked(row, now)
	key := row["ID"].(string)
	s.mu.Unlock()
	s.notify(TopicStockPositions, ActionUpdate, "inventory/ItemWarehouses", key)
	return nil
}

// NewItem describes an item added through AddItem.
type NewItem struct {
	// Code is the item code: required, unique, at most 30 characters.
	Code string `json:"code"`
	// Description is required, at most 60 characters.
	Description string `json:"description"`
	// Price is the StandardSalesPrice in the division's currency.
	Price decimal.Decimal `json:"price"`
	// Barcode is optional.
	Barcode string `json:"barcode"`
}

// AddItem adds a sales item (shaped like the generated ones, in the first
// item's group and unit) and returns its ID. The Items webhook topic fires.
func (s *Sandbox) AddItem(n NewItem) (string, error) {
	code := strings.TrimSpace(n.Code)
	if code == "" || len(code) > 30 || strings.TrimSpace(n.Description) == "" || len(n.Description) > 60 || n.Price.IsNegative() {
		return "", ErrInvalidChange
	}
	now := s.clock.Now().UTC()
	s.mu.Lock()
	items := s.sets[gen.PathItems]
	for _, it := range items {
		if c, _ := it["Code"].(string); strings.EqualFold(c, code) {
			s.mu.Unlock()
			return "", ErrInvalidChange
		}
	}
	rec := odata.Record{}
	if len(items) > 0 {
		for k, v := range items[0] {
			rec[k] = v
		}
	}
	id := newGUID()
	rec["ID"], rec["Code"], rec["Description"], rec["ExtraDescription"] = id, code, n.Description, nil
	rec["Barcode"] = orNilString(n.Barcode)
	rec["StandardSalesPrice"] = f64(n.Price)
	rec["IsSalesItem"], rec["IsStockItem"], rec["IsWebshopItem"] = true, true, int64(1)
	rec["StartDate"], rec["EndDate"], rec["Stock"] = nil, nil, float64(0)
	rec["PictureName"], rec["PictureUrl"], rec["PictureThumbnailUrl"] = nil, nil, nil
	rec["Created"], rec["Division"] = now, int64(s.division)
	s.touchLocked(rec, now)
	s.sets[gen.PathItems] = append(items, rec)
	s.mu.Unlock()
	s.notify(TopicItems, ActionCreate, "logistics/Items", id)
	return id, nil
}

// DeletePriceAgreement deletes a customer price agreement (a
// logistics/SalesItemPrices row with an Account) and records it in
// sync/Deleted (EntityType 8). No webhook fires: Exact has no price topic.
func (s *Sandbox) DeletePriceAgreement(priceID string) error {
	priceID = strings.ToLower(priceID)
	now := s.clock.Now().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.sets[gen.PathSalesItemPrices]
	for i, r := range rows {
		if r["ID"] != priceID {
			continue
		}
		if r["Account"] == nil {
			return ErrInvalidChange // a general price, not an agreement
		}
		// A fresh slice: readers holding the old one under RLock are done,
		// but records() callers must never see a half-shifted array.
		n := make([]odata.Record, 0, len(rows)-1)
		n = append(append(n, rows[:i]...), rows[i+1:]...)
		s.sets[gen.PathSalesItemPrices] = n
		s.recordDeletedLocked(priceID, EntityItemPrices, now)
		return nil
	}
	return ErrNoSuchRecord
}

// StaffLine is one line of an order entered by staff.
type StaffLine struct {
	ItemID   string          `json:"item_id"`
	Quantity decimal.Decimal `json:"quantity"`
}

// StaffOrder enters a sales order for account as a member of staff would in
// Exact's own screens (not through the API): validated like an API order,
// priced at the items' standard prices, with a new OrderNumber and
// Timestamps. The SalesOrders webhook topic fires. It returns the OrderID.
func (s *Sandbox) StaffOrder(accountID string, lines []StaffLine) (string, error) {
	if len(lines) == 0 {
		return "", ErrInvalidChange
	}
	raw := make([]any, 0, len(lines))
	for _, l := range lines {
		raw = append(raw, map[string]any{"Item": l.ItemID, "Quantity": l.Quantity.String()})
	}
	body := map[string]any{"OrderedBy": accountID, "Description": "Entered by staff", "SalesOrderLines": raw}
	s.mu.Lock()
	order, _, err := s.createOrderLocked(body, nil)
	s.mu.Unlock()
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return "", ErrNoSuchRecord
		}
		return "", ErrInvalidChange
	}
	id := order["OrderID"].(string)
	s.notify(TopicSalesOrders, ActionCreate, "salesorder/SalesOrders", id)
	return id, nil
}
