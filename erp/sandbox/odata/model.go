// Package odata is the sandbox's implementation of the part of OData v2 that
// Exact Online speaks: the entity model, $filter parsing and evaluation,
// $orderby, $select and the verbose-JSON encoding of records.
//
// It is written independently of the erp client's query builder on purpose:
// the sandbox parses what the client writes, so a mistake on either side
// shows up in tests.
package odata

import "time"

// Type is the EDM type of a field.
type Type int

// The EDM types the sandbox's entities use. Go value kinds in a Record:
//
//	Guid     string (lower-case with dashes) or nil
//	String   string or nil
//	Int32    int64 or nil
//	Int64    int64 or nil (encoded as a JSON string, as Exact does)
//	Byte     int64 or nil (0..255)
//	Double   float64 or nil (Edm.Double and Edm.Decimal)
//	Boolean  bool or nil
//	DateTime time.Time (UTC) or nil (encoded as "/Date(ms)/")
const (
	Guid Type = iota + 1
	String
	Int32
	Int64
	Byte
	Double
	Boolean
	DateTime
)

// Field is one property of an entity set.
type Field struct {
	Name string
	Type Type
}

// EntitySet describes one endpoint's records, e.g. logistics/Items.
type EntitySet struct {
	// Path is the endpoint below /api/v1/{division}/, e.g. "logistics/Items".
	Path string
	// Key is the key property, e.g. "ID" or "OrderID".
	Key string
	// TypeName is the __metadata type, e.g. "Exact.Web.Api.Models.Logistics.Item".
	TypeName string
	// Fields lists every property in Exact's order.
	Fields []Field
}

// Field returns the field named name (case-sensitive, as Exact is) and
// whether it exists.
func (s EntitySet) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Record is one entity: property name to value, with the Go kinds listed at Type.
type Record map[string]any

// Clock-free helpers used by tests and the generator.

// MS returns t as milliseconds since the epoch, the unit of "/Date(ms)/".
func MS(t time.Time) int64 { return t.UnixMilli() }
