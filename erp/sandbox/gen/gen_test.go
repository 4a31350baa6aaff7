package gen

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exactql/exactql/erp/sandbox/odata"
)

var testToday = time.Date(2026, time.November, 28, 11, 0, 0, 0, time.UTC)

func testOptions() Options {
	o := DefaultOptions()
	o.Today = testToday
	o.Seed = 42
	return o
}

// datasets caches generated data per size so tests share it.
var datasets = map[int]*Dataset{}

func dataset(t testing.TB, items int) *Dataset {
	t.Helper()
	if d, ok := datasets[items]; ok {
		return d
	}
	o := testOptions()
	o.Items = items
	d := Generate(o)
	datasets[items] = d
	return d
}

// sizes are the item counts the shape and coverage tests run at: the
// minimum (edges must exist even there) and the default.
var sizes = []int{MinItems, 2000}

func TestGenerateDeterministic(t *testing.T) {
	o := testOptions()
	o.Items = 300
	o.Customers = 40
	a, b := Generate(o), Generate(o)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same options, different data (-first +second):\n%s", diff)
	}
	o.Seed++
	c := Generate(o)
	if a.Sets[PathItems][0]["ID"] == c.Sets[PathItems][0]["ID"] {
		t.Errorf("seed %d and %d give the same first item ID %v", o.Seed-1, o.Seed, c.Sets[PathItems][0]["ID"])
	}
	if cmp.Equal(a.Sets[PathSalesItemPrices], c.Sets[PathSalesItemPrices]) {
		t.Errorf("different seeds give identical prices")
	}
}

func TestGenerateDatesFollowToday(t *testing.T) {
	o := testOptions()
	o.Items = MinItems
	a := Generate(o)
	o.Today = o.Today.AddDate(0, 0, 100)
	b := Generate(o)
	for i, ra := range a.Sets[PathPriceListPeriods] {
		rb := b.Sets[PathPriceListPeriods][i]
		sa, sb := ra["StartDate"].(time.Time), rb["StartDate"].(time.Time)
		if got := sb.Sub(sa); got != 100*24*time.Hour {
			t.Errorf("period %d StartDate moved by %v, want 100 days", i, got)
		}
	}
}

func TestGenerateDefaults(t *testing.T) {
	d := Generate(Options{Items: 1, Customers: 1, Today: testToday})
	tests := []struct {
		path string
		want int
	}{
		{PathItems, MinItems},
		{PathAccounts, MinCustomers},
		{PathWarehouses, 3},
	}
	for _, tt := range tests {
		if got := len(d.Sets[tt.path]); got != tt.want {
			t.Errorf("len(Sets[%q]) = %d, want %d", tt.path, got, tt.want)
		}
	}
	if got := d.Sets[PathItems][0]["Division"]; got != int64(3100001) {
		t.Errorf("Division = %v, want 3100001", got)
	}
	z := Generate(Options{Items: MinItems})
	if got := z.Sets[PathPriceListPeriods][0]["StartDate"].(time.Time); !got.Before(ReferenceDay) {
		t.Errorf("zero Today: first period starts %v, want before ReferenceDay %v", got, ReferenceDay)
	}
}

func TestSchemas(t *testing.T) {
	s := Schemas()
	want := []string{
		"logistics/Items", "logistics/ItemGroups", "logistics/SalesItemPrices",
		"sales/SalesPriceLists", "sales/SalesPriceListPeriods", "sales/SalesPriceListVolumeDiscounts",
		"inventory/ItemWarehouses", "inventory/Warehouses", "crm/Accounts", "crm/Contacts",
		"crm/Addresses", "sales/ShippingMethods", "salesorder/SalesOrders", "salesorder/SalesOrderLines",
		"sync/Logistics/Items", "sync/Logistics/SalesItemPrices",
		"sync/Sales/SalesPriceListVolumeDiscounts", "sync/Inventory/ItemWarehouses",
	}
	var got []string
	for p, es := range s {
		got = append(got, p)
		if es.Path != p {
			t.Errorf("Schemas()[%q].Path = %q", p, es.Path)
		}
		if !strings.HasPrefix(es.TypeName, "Exact.Web.Api.Models.") {
			t.Errorf("%s: TypeName %q", p, es.TypeName)
		}
		if _, ok := es.Field(es.Key); !ok {
			t.Errorf("%s: key %q is not a field", p, es.Key)
		}
		seen := map[string]bool{}
		for _, f := range es.Fields {
			if f.Type < odata.Guid || f.Type > odata.DateTime {
				t.Errorf("%s.%s: bad type %d", p, f.Name, f.Type)
			}
			if seen[f.Name] {
				t.Errorf("%s.%s listed twice", p, f.Name)
			}
			seen[f.Name] = true
		}
		if _, ok := es.Field("Timestamp"); ok != strings.HasPrefix(p, "sync/") {
			t.Errorf("%s: has Timestamp field = %v", p, ok)
		}
		if _, ok := es.Field("SalesOrderLines"); ok {
			t.Errorf("%s lists the SalesOrderLines navigation", p)
		}
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Schemas() paths (-want +got):\n%s", diff)
	}
	if k := s[PathSalesOrders].Key; k != "OrderID" {
		t.Errorf("SalesOrders key = %q, want OrderID", k)
	}
	for _, sp := range []string{PathSyncItems, PathSyncSalesPrices, PathSyncVolumeDisc, PathSyncItemWarehouse} {
		base, ok := SyncBase(sp)
		if !ok {
			t.Fatalf("SyncBase(%q) not found", sp)
		}
		ts, _ := s[sp].Field("Timestamp")
		if ts.Type != odata.Int64 {
			t.Errorf("%s Timestamp type = %v, want Int64", sp, ts.Type)
		}
		var plain []odata.Field
		for _, f := range s[sp].Fields {
			if f.Name != "Timestamp" {
				plain = append(plain, f)
			}
		}
		if diff := cmp.Diff(s[base].Fields, plain); diff != "" {
			t.Errorf("%s fields minus Timestamp differ from %s (-plain +sync):\n%s", sp, base, diff)
		}
	}
	if _, ok := SyncBase(PathItems); ok {
		t.Errorf("SyncBase(%q) reported a sync set", PathItems)
	}
	// Mutating one result must not change the next.
	s[PathItems].Fields[0].Name = "changed"
	if Schemas()[PathItems].Fields[0].Name != "ID" {
		t.Errorf("Schemas shares state between calls")
	}
}

// erpTypeFields are the JSON names of the fields erp/types.go declares per
// set; the erp client $selects exactly these.
var erpTypeFields = map[string]string{
	PathItems:            "ID Code Description ExtraDescription Barcode ItemGroup ItemGroupCode ItemGroupDescription Unit UnitDescription IsSalesItem IsStockItem IsFractionAllowedItem IsWebshopItem StartDate EndDate StandardSalesPrice PictureUrl PictureThumbnailUrl Modified",
	PathItemGroups:       "ID Code Description",
	PathSalesItemPrices:  "ID Item ItemCode Account Price Currency Quantity StartDate EndDate Unit DefaultItemUnit",
	PathPriceLists:       "ID Code Description Currency Type Entity",
	PathPriceListPeriods: "ID PriceList StartDate EndDate Type Currency",
	PathVolumeDiscounts:  "ID PriceListPeriod PriceListCode Item ItemCode ItemGroup Quantity Discount NewPrice EntryMethod BasePrice BasePriceAmount Unit",
	PathItemWarehouses:   "ID Item ItemCode Warehouse WarehouseCode CurrentStock PlannedStockIn PlannedStockOut ProjectedStock ReservedStock",
	PathWarehouses:       "ID Code Description Main",
	PathAccounts:         "ID Code Name Email Phone VATNumber Status Blocked PriceList DiscountSales PaymentConditionSales PaymentConditionSalesDescription SalesCurrency ShippingMethod InvoiceAccount MainContact",
	PathContacts:         "ID Account FirstName LastName FullName Email Phone IsMainContact",
	PathAddresses:        "ID Account Contact Type Main AddressLine1 AddressLine2 AddressLine3 Postcode City Country",
	PathShippingMethods:  "ID Code Description Active",
	PathSalesOrders:      "OrderID OrderNumber OrderedBy DeliverTo InvoiceTo OrderedByContactPerson OrderDate DeliveryDate YourRef Description Remarks Status StatusDescription Currency AmountFC AmountDC ShippingMethod DeliveryAddress WarehouseID Created Modified",
	PathSalesOrderLines:  "ID OrderID LineNumber Item ItemCode Description Quantity UnitPrice AmountFC Notes UnitCode",
}

func TestSchemasCoverERPTypes(t *testing.T) {
	s := Schemas()
	for path, names := range erpTypeFields {
		for _, n := range strings.Fields(names) {
			if _, ok := s[path].Field(n); !ok {
				t.Errorf("%s lacks %s (declared in erp/types.go)", path, n)
			}
		}
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// kindOK reports whether v has the Go kind odata.Record promises for t.
func kindOK(t odata.Type, v any) bool {
	if v == nil {
		return true
	}
	switch t {
	case odata.Guid:
		s, ok := v.(string)
		return ok && guidRE.MatchString(s)
	case odata.String:
		_, ok := v.(string)
		return ok
	case odata.Int32, odata.Int64:
		_, ok := v.(int64)
		return ok
	case odata.Byte:
		n, ok := v.(int64)
		return ok && n >= 0 && n <= 255
	case odata.Double:
		f, ok := v.(float64)
		return ok && !math.IsNaN(f) && !math.IsInf(f, 0)
	case odata.Boolean:
		_, ok := v.(bool)
		return ok
	case odata.DateTime:
		tm, ok := v.(time.Time)
		return ok && tm.Location() == time.UTC && tm.Equal(time.UnixMilli(tm.UnixMilli()))
	}
	return false
}

func TestRecordsMatchSchemas(t *testing.T) {
	schemas := Schemas()
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d := dataset(t, n)
			var maxTS int64
			seenTS := map[int64]bool{}
			for path, recs := range d.Sets {
				es, ok := schemas[path]
				if !ok || strings.HasPrefix(path, "sync/") {
					t.Errorf("Sets has %q, which is not a plain schema path", path)
					continue
				}
				if len(recs) == 0 {
					t.Errorf("%s: no records", path)
				}
				keys := map[string]bool{}
				var lastTS int64
				for i, r := range recs {
					for _, f := range es.Fields {
						v, ok := r[f.Name]
						if !ok {
							t.Fatalf("%s[%d] lacks %s", path, i, f.Name)
						}
						if !kindOK(f.Type, v) {
							t.Fatalf("%s[%d].%s = %#v (%T), not a valid %v", path, i, f.Name, v, v, f.Type)
						}
					}
					for k := range r {
						if _, ok := es.Field(k); !ok && k != "Timestamp" {
							t.Fatalf("%s[%d] has field %s outside the schema", path, i, k)
						}
					}
					if c, ok := r["Created"].(time.Time); ok {
						if m := r["Modified"].(time.Time); m.Before(c) || m.After(testToday) {
							t.Fatalf("%s[%d] Created %v Modified %v, today %v", path, i, c, m, testToday)
						}
					}
					ts, ok := r["Timestamp"].(int64)
					if !ok || ts <= lastTS || seenTS[ts] {
						t.Fatalf("%s[%d] Timestamp %v not increasing/unique after %d", path, i, r["Timestamp"], lastTS)
					}
					lastTS = ts
					seenTS[ts] = true
					maxTS = max(maxTS, ts)
					key, _ := r[es.Key].(string)
					if key == "" || keys[key] {
						t.Fatalf("%s[%d] key %v empty or duplicate", path, i, r[es.Key])
					}
					keys[key] = true
				}
			}
			if maxTS != d.MaxTimestamp {
				t.Errorf("MaxTimestamp = %d, highest record Timestamp %d", d.MaxTimestamp, maxTS)
			}
			for _, es := range schemas {
				if b, ok := SyncBase(es.Path); ok {
					if _, ok := d.Sets[b]; !ok {
						t.Errorf("sync set %s: no records for base %s", es.Path, b)
					}
				} else if _, ok := d.Sets[es.Path]; !ok {
					t.Errorf("no records for %s", es.Path)
				}
			}
		})
	}
}

// index gives tests lookups over a Dataset.
type index struct {
	d     *Dataset
	byID  map[string]map[string]odata.Record // path -> key -> record
	today time.Time
}

func newIndex(d *Dataset) *index {
	x := &index{d: d, byID: map[string]map[string]odata.Record{}, today: testToday.Truncate(24 * time.Hour)}
	s := Schemas()
	for p, recs := range d.Sets {
		m := map[string]odata.Record{}
		for _, r := range recs {
			m[r[s[p].Key].(string)] = r
		}
		x.byID[p] = m
	}
	return x
}

func (x *index) valid(r odata.Record) bool {
	if s, ok := r["StartDate"].(time.Time); ok && s.After(x.today) {
		return false
	}
	if e, ok := r["EndDate"].(time.Time); ok && e.Before(x.today) {
		return false
	}
	return true
}

func (x *index) expired(r odata.Record) bool {
	e, ok := r["EndDate"].(time.Time)
	return ok && e.Before(x.today)
}

func (x *index) future(r odata.Record) bool {
	s, ok := r["StartDate"].(time.Time)
	return ok && s.After(x.today)
}

func TestReferentialIntegrity(t *testing.T) {
	refs := []struct {
		path, field, target string
		required            bool
	}{
		{PathItems, "ItemGroup", PathItemGroups, true},
		{PathSalesItemPrices, "Item", PathItems, true},
		{PathSalesItemPrices, "Account", PathAccounts, false},
		{PathPriceListPeriods, "PriceList", PathPriceLists, true},
		{PathVolumeDiscounts, "PriceListPeriod", PathPriceListPeriods, true},
		{PathVolumeDiscounts, "Item", PathItems, false},
		{PathVolumeDiscounts, "ItemGroup", PathItemGroups, false},
		{PathItemWarehouses, "Item", PathItems, true},
		{PathItemWarehouses, "Warehouse", PathWarehouses, true},
		{PathAccounts, "PriceList", PathPriceLists, false},
		{PathAccounts, "ShippingMethod", PathShippingMethods, false},
		{PathAccounts, "InvoiceAccount", PathAccounts, false},
		{PathAccounts, "MainContact", PathContacts, true},
		{PathContacts, "Account", PathAccounts, true},
		{PathAddresses, "Account", PathAccounts, true},
		{PathAddresses, "Contact", PathContacts, false},
		{PathSalesOrders, "OrderedBy", PathAccounts, true},
		{PathSalesOrders, "DeliverTo", PathAccounts, true},
		{PathSalesOrders, "InvoiceTo", PathAccounts, true},
		{PathSalesOrders, "OrderedByContactPerson", PathContacts, true},
		{PathSalesOrders, "DeliveryAddress", PathAddresses, true},
		{PathSalesOrders, "WarehouseID", PathWarehouses, true},
		{PathSalesOrders, "ShippingMethod", PathShippingMethods, false},
		{PathSalesOrderLines, "OrderID", PathSalesOrders, true},
		{PathSalesOrderLines, "Item", PathItems, true},
	}
	for _, n := range sizes {
		x := newIndex(dataset(t, n))
		for _, rf := range refs {
			for i, r := range x.d.Sets[rf.path] {
				v, _ := r[rf.field].(string)
				if v == "" {
					if rf.required {
						t.Errorf("%d items: %s[%d].%s is null", n, rf.path, i, rf.field)
					}
					continue
				}
				if _, ok := x.byID[rf.target][v]; !ok {
					t.Errorf("%d items: %s[%d].%s = %s: no such %s", n, rf.path, i, rf.field, v, rf.target)
				}
			}
		}
		// Denormalised codes agree with their targets.
		for i, r := range x.d.Sets[PathVolumeDiscounts] {
			if (r["Item"] == nil) == (r["ItemGroup"] == nil) {
				t.Errorf("%d items: volume discount %d has both or neither Item and ItemGroup", n, i)
			}
			if id, ok := r["Item"].(string); ok && x.byID[PathItems][id]["Code"] != r["ItemCode"] {
				t.Errorf("%d items: volume discount %d ItemCode %v mismatch", n, i, r["ItemCode"])
			}
		}
		for i, r := range x.d.Sets[PathSalesItemPrices] {
			if x.byID[PathItems][r["Item"].(string)]["Code"] != r["ItemCode"] {
				t.Errorf("%d items: price %d ItemCode %v mismatch", n, i, r["ItemCode"])
			}
		}
		for i, r := range x.d.Sets[PathAccounts] {
			if c := x.byID[PathContacts][r["MainContact"].(string)]; c["Account"] != r["ID"] || c["IsMainContact"] != true {
				t.Errorf("%d items: account %d main contact belongs to %v (main %v)", n, i, c["Account"], c["IsMainContact"])
			}
			if r["InvoiceAccount"] == r["ID"] {
				t.Errorf("%d items: account %d invoices to itself", n, i)
			}
		}
	}
}

func TestValueFormats(t *testing.T) {
	x := newIndex(dataset(t, 2000))
	d := x.d
	for i, r := range d.Sets[PathAccounts] {
		code := r["Code"].(string)
		if len(code) != 18 || strings.TrimSpace(code) == code || strings.HasSuffix(code, " ") {
			t.Errorf("account %d Code %q not left-padded to 18", i, code)
		}
		if r["Country"] != "NL " || r["Status"] != "C" || r["IsSales"] != true {
			t.Errorf("account %d: Country %q Status %q IsSales %v", i, r["Country"], r["Status"], r["IsSales"])
		}
		if p := r["PaymentConditionSales"]; p != "14" && p != "30" {
			t.Errorf("account %d PaymentConditionSales %v", i, p)
		}
	}
	for i, r := range d.Sets[PathContacts] {
		if r["FullName"] != r["FirstName"].(string)+" "+r["LastName"].(string) {
			t.Errorf("contact %d FullName %q", i, r["FullName"])
		}
	}
	pics := 0
	ean := 0
	for i, r := range d.Sets[PathItems] {
		u := r["Unit"].(string)
		if len(u) != 8 {
			t.Errorf("item %d Unit %q not padded to 8", i, u)
		}
		frac := strings.TrimSpace(u) == "kg" || strings.TrimSpace(u) == "m"
		if r["IsFractionAllowedItem"] != frac {
			t.Errorf("item %d unit %q IsFractionAllowedItem %v", i, u, r["IsFractionAllowedItem"])
		}
		if len(r["SalesVatCode"].(string)) != 3 {
			t.Errorf("item %d SalesVatCode %q", i, r["SalesVatCode"])
		}
		if b, ok := r["Barcode"].(string); ok {
			ean++
			if len(b) != 13 || ean13(b[:12]) != b {
				t.Errorf("item %d Barcode %q is not a valid EAN-13", i, b)
			}
		}
		if p, ok := r["PictureUrl"].(string); ok {
			pics++
			want := fmt.Sprintf("/docs/SysImage.aspx?Table=Items&ID=%s&ThumbSize=500&NoCache=1&_Division_=3100001", r["ID"])
			if p != want {
				t.Errorf("item %d PictureUrl %q, want %q", i, p, want)
			}
			if th, _ := r["PictureThumbnailUrl"].(string); !strings.HasPrefix(th, "/docs/SysImage.aspx?") {
				t.Errorf("item %d PictureThumbnailUrl %q", i, th)
			}
		} else if r["PictureThumbnailUrl"] != nil {
			t.Errorf("item %d has a thumbnail but no picture", i)
		}
		if r["IsSalesItem"] == true && !(r["StandardSalesPrice"].(float64) > 0) {
			t.Errorf("item %d: sales item without StandardSalesPrice", i)
		}
	}
	n := len(d.Sets[PathItems])
	if f := float64(pics) / float64(n); f < 0.6 || f > 0.8 {
		t.Errorf("%.0f %% of items have a picture, want about 70 %%", f*100)
	}
	if f := float64(ean) / float64(n); f < 0.75 {
		t.Errorf("%.0f %% of items have a barcode, want most", f*100)
	}
	// Exactly one main warehouse, first.
	for i, r := range d.Sets[PathWarehouses] {
		if want := int64(0); i == 0 {
			if r["Main"] != int64(1) {
				t.Errorf("first warehouse Main = %v", r["Main"])
			}
		} else if r["Main"] != want {
			t.Errorf("warehouse %d Main = %v", i, r["Main"])
		}
	}
	// Stock arithmetic and item totals.
	totals := map[string]float64{}
	for i, r := range d.Sets[PathItemWarehouses] {
		cur, in, out := r["CurrentStock"].(float64), r["PlannedStockIn"].(float64), r["PlannedStockOut"].(float64)
		if p := r["ProjectedStock"].(float64); math.Abs(p-(cur+in-out)) > 1e-9 {
			t.Errorf("item warehouse %d ProjectedStock %v != %v+%v-%v", i, p, cur, in, out)
		}
		totals[r["Item"].(string)] += cur
	}
	for i, r := range d.Sets[PathItems] {
		if s := r["Stock"].(float64); math.Abs(s-totals[r["ID"].(string)]) > 1e-6 {
			t.Errorf("item %d Stock %v, warehouses sum to %v", i, s, totals[r["ID"].(string)])
		}
	}
	// Orders: amounts are the sum of rounded line amounts.
	sum := map[string]float64{}
	for _, l := range d.Sets[PathSalesOrderLines] {
		a := l["AmountFC"].(float64)
		if want := round2(l["UnitPrice"].(float64) * l["Quantity"].(float64)); a != want {
			t.Errorf("line %v AmountFC %v, want %v", l["ID"], a, want)
		}
		sum[l["OrderID"].(string)] += a
	}
	var lastNo int64
	for _, o := range d.Sets[PathSalesOrders] {
		if got, want := o["AmountFCExclVat"].(float64), round2(sum[o["OrderID"].(string)]); got != want {
			t.Errorf("order %v AmountFCExclVat %v, lines sum to %v", o["OrderNumber"], got, want)
		}
		if incl := o["AmountFC"].(float64); incl <= o["AmountFCExclVat"].(float64) {
			t.Errorf("order %v AmountFC %v does not include VAT (excl. %v)", o["OrderNumber"], incl, o["AmountFCExclVat"])
		}
		no := o["OrderNumber"].(int64)
		if no <= lastNo {
			t.Errorf("OrderNumber %d after %d", no, lastNo)
		}
		lastNo = no
		if r, ok := o["Remarks"].(string); ok && strings.Contains(r, "exactql-ref:") {
			t.Errorf("order %d Remarks contains an exactql-ref line", no)
		}
	}
	if lastNo != d.MaxOrderNumber {
		t.Errorf("MaxOrderNumber = %d, highest OrderNumber %d", d.MaxOrderNumber, lastNo)
	}
}

// count returns how many records of path satisfy f.
func count(x *index, path string, f func(odata.Record) bool) int {
	n := 0
	for _, r := range x.d.Sets[path] {
		if f(r) {
			n++
		}
	}
	return n
}

func TestCoverage(t *testing.T) {
	for _, n := range sizes {
		x := newIndex(dataset(t, n))
		items := x.byID[PathItems]
		isItem := func(id any, f func(odata.Record) bool) bool { s, _ := id.(string); return f(items[s]) }
		generalPrice := func(r odata.Record) bool { return r["Account"] == nil }
		agreement := func(r odata.Record) bool { return r["Account"] != nil }
		otherUnitRow := func(r odata.Record) bool {
			u, ok := r["Unit"].(string)
			return ok && isItem(r["Item"], func(it odata.Record) bool { return it["Unit"] != u })
		}
		withGeneral := map[string]bool{}
		for _, r := range x.d.Sets[PathSalesItemPrices] {
			if generalPrice(r) {
				withGeneral[r["Item"].(string)] = true
			}
		}
		// Ties: equal Item, Account, Quantity, Currency among valid rows.
		tie := func(agreements bool) bool {
			seen := map[string]bool{}
			for _, r := range x.d.Sets[PathSalesItemPrices] {
				if agreement(r) != agreements || !x.valid(r) {
					continue
				}
				k := fmt.Sprint(r["Item"], r["Account"], r["Quantity"], r["Currency"], r["Unit"])
				if seen[k] {
					return true
				}
				seen[k] = true
			}
			return false
		}
		periodOf := func(r odata.Record) odata.Record { return x.byID[PathPriceListPeriods][r["PriceListPeriod"].(string)] }
		specialWithSomeItems := func() bool {
			for _, p := range x.d.Sets[PathPriceListPeriods] {
				if p["Type"] != int64(2) || !x.valid(p) {
					continue
				}
				items := count(x, PathVolumeDiscounts, func(r odata.Record) bool { return r["PriceListPeriod"] == p["ID"] && r["Item"] != nil })
				if items > 0 && items < len(x.d.Sets[PathItems]) {
					return true
				}
			}
			return false
		}
		checks := []struct {
			name string
			ok   bool
		}{
			{"non-sales item", count(x, PathItems, func(r odata.Record) bool { return r["IsSalesItem"] == false }) > 0},
			{"ended item", count(x, PathItems, x.expired) > 0},
			{"item ending in the future", count(x, PathItems, func(r odata.Record) bool { return r["EndDate"] != nil && !x.expired(r) }) > 0},
			{"non-webshop item", count(x, PathItems, func(r odata.Record) bool { return r["IsWebshopItem"] == int64(0) }) > 0},
			{"kg item", count(x, PathItems, func(r odata.Record) bool { return r["Unit"] == "kg      " }) > 0},
			{"unicode description", count(x, PathItems, func(r odata.Record) bool { return strings.ContainsAny(r["Description"].(string), "üøé–中") }) > 0},
			{"quote in code", count(x, PathItems, func(r odata.Record) bool { return r["Code"] == "BOX 'A' or 1 eq 1" }) == 1},
			{"item without general price", count(x, PathItems, func(r odata.Record) bool { return r["IsSalesItem"] == true && !withGeneral[r["ID"].(string)] }) > 0},
			{"general tiers", count(x, PathSalesItemPrices, func(r odata.Record) bool { return generalPrice(r) && r["Quantity"] == 100.0 }) > 0},
			{"expired general row", count(x, PathSalesItemPrices, func(r odata.Record) bool { return generalPrice(r) && x.expired(r) }) > 0},
			{"future general row", count(x, PathSalesItemPrices, func(r odata.Record) bool { return generalPrice(r) && x.future(r) }) > 0},
			{"general row in another unit", count(x, PathSalesItemPrices, func(r odata.Record) bool { return generalPrice(r) && otherUnitRow(r) }) > 0},
			{"general row in USD", count(x, PathSalesItemPrices, func(r odata.Record) bool { return generalPrice(r) && r["Currency"] == "USD" }) > 0},
			{"general row without unit", count(x, PathSalesItemPrices, func(r odata.Record) bool { return generalPrice(r) && r["Unit"] == nil }) > 0},
			{"general tie", tie(false)},
			{"agreement", count(x, PathSalesItemPrices, func(r odata.Record) bool { return agreement(r) && x.valid(r) }) > 0},
			{"agreement tiers", count(x, PathSalesItemPrices, func(r odata.Record) bool { return agreement(r) && r["Quantity"].(float64) > 1 }) > 0},
			{"expired agreement", count(x, PathSalesItemPrices, func(r odata.Record) bool { return agreement(r) && x.expired(r) }) > 0},
			{"future agreement", count(x, PathSalesItemPrices, func(r odata.Record) bool { return agreement(r) && x.future(r) }) > 0},
			{"agreement tie", tie(true)},
			{"USD customer", count(x, PathAccounts, func(r odata.Record) bool { return r["SalesCurrency"] == "USD" }) > 0},
			{"blocked customer", count(x, PathAccounts, func(r odata.Record) bool { return r["Blocked"] == true }) > 0},
			{"invoice account", count(x, PathAccounts, func(r odata.Record) bool { return r["InvoiceAccount"] != nil }) > 0},
			{"USD price list", count(x, PathPriceLists, func(r odata.Record) bool { return r["Currency"] == "USD" }) == 1},
			{"item-group price list", count(x, PathPriceLists, func(r odata.Record) bool { return r["Entity"] == int64(2) }) > 0},
			{"expired period", count(x, PathPriceListPeriods, x.expired) > 0},
			{"future period", count(x, PathPriceListPeriods, x.future) > 0},
			{"item-group volume discount", count(x, PathVolumeDiscounts, func(r odata.Record) bool { return r["ItemGroup"] != nil && x.valid(periodOf(r)) }) > 0},
			{"new-price volume discount", count(x, PathVolumeDiscounts, func(r odata.Record) bool { return r["EntryMethod"] == int64(2) }) > 0},
			{"discount with base amount", count(x, PathVolumeDiscounts, func(r odata.Record) bool {
				b, _ := r["BasePriceAmount"].(float64)
				return r["EntryMethod"] == int64(1) && b > 0
			}) > 0},
			{"discount on a set base price (GUID)", count(x, PathVolumeDiscounts, func(r odata.Record) bool {
				id, _ := r["BasePrice"].(string)
				return r["EntryMethod"] == int64(1) && len(id) == 36
			}) > 0},
			{"standard price with an amount differing from the item's price", count(x, PathVolumeDiscounts, func(r odata.Record) bool {
				amt, ok := r["BasePriceAmount"].(float64)
				it := x.byID[PathItems][str(r["Item"])]
				return r["EntryMethod"] == int64(1) && r["BasePrice"] == nil && ok && it != nil && amt != it["StandardSalesPrice"]
			}) > 0},
			{"group row with BasePrice and amount null", count(x, PathVolumeDiscounts, func(r odata.Record) bool {
				return r["Item"] == nil && r["BasePrice"] == nil && r["BasePriceAmount"] == nil
			}) > 0},
			{"BasePrice is never a number", count(x, PathVolumeDiscounts, func(r odata.Record) bool {
				switch r["BasePrice"].(type) {
				case nil, string:
					return false
				}
				return true
			}) == 0},
			{"volume discount in another SalesUnit only", count(x, PathVolumeDiscounts, func(r odata.Record) bool { return r["Unit"] == nil && r["SalesUnit"] != nil }) > 0},
			{"volume discount for a pack", count(x, PathVolumeDiscounts, func(r odata.Record) bool { return r["NumberOfItemsPerUnit"] != 1.0 }) > 0},
			{"price agreement for a pack", count(x, PathSalesItemPrices, func(r odata.Record) bool { return agreement(r) && r["NumberOfItemsPerUnit"] != 1.0 }) > 0},
			{"sales item not started yet", count(x, PathItems, func(r odata.Record) bool { return r["IsSalesItem"] == true && x.future(r) }) > 0},
			{"volume discount in another unit", count(x, PathVolumeDiscounts, func(r odata.Record) bool { return r["Item"] != nil && otherUnitRow(r) }) > 0},
			{"special offer for only some items", specialWithSomeItems()},
			{"oversold stock", count(x, PathItemWarehouses, func(r odata.Record) bool { return r["PlannedStockOut"].(float64) > r["CurrentStock"].(float64) }) > 0},
			{"fractional stock", count(x, PathItemWarehouses, func(r odata.Record) bool { c := r["CurrentStock"].(float64); return c != math.Trunc(c) }) > 0},
			{"inactive shipping method", count(x, PathShippingMethods, func(r odata.Record) bool { return r["Active"] == false }) == 1},
			{"cancelled order", count(x, PathSalesOrders, func(r odata.Record) bool { return r["Status"] == int64(45) }) == 1},
			{"complete order", count(x, PathSalesOrders, func(r odata.Record) bool { return r["Status"] == int64(21) }) > 0},
			{"open order", count(x, PathSalesOrders, func(r odata.Record) bool { return r["Status"] == int64(12) }) > 0},
		}
		for _, c := range checks {
			if !c.ok {
				t.Errorf("%d items: no %s", n, c.name)
			}
		}
		// A warehouse without a row for some stock item.
		rows := map[string]int{}
		for _, r := range x.d.Sets[PathItemWarehouses] {
			rows[r["Item"].(string)]++
		}
		partial := false
		for _, c := range rows {
			if c < len(x.d.Sets[PathWarehouses]) {
				partial = true
			}
		}
		if !partial {
			t.Errorf("%d items: every stocked item is in every warehouse", n)
		}
	}
}

// catalogFirstPage returns the first k sellable webshop items ordered by Code.
func catalogFirstPage(x *index, k int) []odata.Record {
	var cat []odata.Record
	for _, r := range x.d.Sets[PathItems] {
		if r["IsSalesItem"] == true && r["IsWebshopItem"] == int64(1) && !x.expired(r) {
			cat = append(cat, r)
		}
	}
	sort.Slice(cat, func(i, j int) bool { return cat[i]["Code"].(string) < cat[j]["Code"].(string) })
	return cat[:k]
}

func TestDemoBuyers(t *testing.T) {
	for _, n := range sizes {
		x := newIndex(dataset(t, n))
		d := x.d
		var rules []string
		for i, b := range d.DemoBuyers {
			rules = append(rules, b.Rule)
			if acc := d.Sets[PathAccounts][i]; acc["ID"] != b.AccountID || acc["Code"] != b.AccountCode || acc["Name"] != b.Name {
				t.Errorf("demo buyer %d %+v is not account %d (%v %q)", i, b, i, acc["ID"], acc["Name"])
			}
		}
		if diff := cmp.Diff([]string{RuleCustomerPrice, RulePriceList, RuleAccountDiscount, RuleDefaultPrice, RuleBlocked, RuleOtherCurrency}, rules); diff != "" {
			t.Fatalf("demo rules (-want +got):\n%s", diff)
		}
		if d.DemoBuyers[0].Name != "Bakkerij De Vries" {
			t.Errorf("first demo buyer %q", d.DemoBuyers[0].Name)
		}
		page := catalogFirstPage(x, 20)
		agreementsOf := func(acc string) []odata.Record {
			var out []odata.Record
			for _, r := range d.Sets[PathSalesItemPrices] {
				if r["Account"] == acc {
					out = append(out, r)
				}
			}
			return out
		}
		for _, b := range d.DemoBuyers {
			acc := x.byID[PathAccounts][b.AccountID]
			if c := x.byID[PathContacts][b.ContactID]; c["Account"] != b.AccountID {
				t.Errorf("%s: contact %s not of the account", b.Rule, b.ContactID)
			}
			deliveries := count(x, PathAddresses, func(r odata.Record) bool { return r["Account"] == b.AccountID && r["Type"] == int64(4) })
			mainDeliveries := count(x, PathAddresses, func(r odata.Record) bool {
				return r["Account"] == b.AccountID && r["Type"] == int64(4) && r["Main"] == true
			})
			if deliveries < 2 || mainDeliveries != 1 {
				t.Errorf("%s: %d delivery addresses (%d main), want >= 2 with one main", b.Rule, deliveries, mainDeliveries)
			}
			if count(x, PathSalesOrders, func(r odata.Record) bool { return r["OrderedBy"] == b.AccountID }) == 0 {
				t.Errorf("%s: no existing orders", b.Rule)
			}
			agr := agreementsOf(b.AccountID)
			switch b.Rule {
			case RuleCustomerPrice:
				got := map[string]bool{}
				for _, r := range agr {
					if x.valid(r) && r["Currency"] == acc["SalesCurrency"] {
						got[r["Item"].(string)] = true
					}
				}
				if !got[page[0]["ID"].(string)] || !got[page[1]["ID"].(string)] {
					t.Errorf("CUSTOMER_PRICE: no valid agreement on the first catalog items")
				}
				if acc["PriceList"] != nil || acc["DiscountSales"] != 0.0 {
					t.Errorf("CUSTOMER_PRICE: PriceList %v DiscountSales %v", acc["PriceList"], acc["DiscountSales"])
				}
			case RulePriceList:
				pl, _ := acc["PriceList"].(string)
				if pl == "" || len(agr) > 0 {
					t.Fatalf("PRICE_LIST: PriceList %q, %d agreements", pl, len(agr))
				}
				byItem, byGroup := map[string]bool{}, map[string]bool{}
				for _, r := range d.Sets[PathVolumeDiscounts] {
					p := periodOf(x, r)
					if p["PriceList"] != pl || !x.valid(p) {
						continue
					}
					if id, ok := r["Item"].(string); ok {
						byItem[id] = true
					} else {
						byGroup[r["ItemGroup"].(string)] = true
					}
				}
				if !byItem[page[0]["ID"].(string)] {
					t.Errorf("PRICE_LIST: first catalog item has no item row in a valid period")
				}
				groupOnly := 0
				for _, it := range page {
					if !byItem[it["ID"].(string)] && byGroup[it["ItemGroup"].(string)] {
						groupOnly++
					}
				}
				if groupOnly == 0 {
					t.Errorf("PRICE_LIST: no first-page item priced by its group only")
				}
			case RuleAccountDiscount:
				if acc["DiscountSales"] != 0.1 || acc["PriceList"] != nil || len(agr) > 0 {
					t.Errorf("ACCOUNT_DISCOUNT: DiscountSales %v PriceList %v agreements %d", acc["DiscountSales"], acc["PriceList"], len(agr))
				}
			case RuleDefaultPrice:
				if acc["DiscountSales"] != 0.0 || acc["PriceList"] != nil || len(agr) > 0 || acc["Blocked"] != false {
					t.Errorf("DEFAULT_PRICE: DiscountSales %v PriceList %v agreements %d", acc["DiscountSales"], acc["PriceList"], len(agr))
				}
			case RuleBlocked:
				if acc["Blocked"] != true {
					t.Errorf("BLOCKED: account not blocked")
				}
			case RuleOtherCurrency:
				cur := acc["SalesCurrency"]
				if cur == "EUR" {
					t.Fatalf("OTHER_CURRENCY: SalesCurrency EUR")
				}
				if count(x, PathSalesItemPrices, func(r odata.Record) bool {
					return r["Item"] == page[0]["ID"] && r["Account"] == nil && r["Currency"] == cur && x.valid(r)
				}) == 0 {
					t.Errorf("OTHER_CURRENCY: first catalog item has no general %v price", cur)
				}
			}
		}
	}
}

func periodOf(x *index, r odata.Record) odata.Record {
	return x.byID[PathPriceListPeriods][r["PriceListPeriod"].(string)]
}

func BenchmarkGenerate50k(b *testing.B) {
	o := testOptions()
	o.Items = 50000
	for b.Loop() {
		Generate(o)
	}
}

func BenchmarkGenerateDefault(b *testing.B) {
	o := testOptions()
	for b.Loop() {
		Generate(o)
	}
}

// TestDeterministicAcrossClockJitter: the same seed gives the same GUIDs
// whatever the sub-millisecond part of Today (a real clock's jitter).
func TestDeterministicAcrossClockJitter(t *testing.T) {
	base := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	want := Generate(Options{Seed: 7, Items: 120, Customers: 25, Today: base}).DemoBuyers
	for i := 1; i < 25; i++ {
		got := Generate(Options{Seed: 7, Items: 120, Customers: 25, Today: base.Add(time.Duration(i) * 37 * time.Microsecond)}).DemoBuyers
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("jitter %d×37µs changed the demo buyers (-want +got):\n%s", i, diff)
		}
	}
}

// str returns v as a string ("" when it is not one).
func str(v any) string { s, _ := v.(string); return s }
