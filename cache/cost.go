package cache

import (
	"reflect"
	"time"
)

// costMaxDepth bounds how deep DefaultCost follows pointers, slices and
// maps, so cyclic or very deep values cost a bounded walk.
const costMaxDepth = 6

// costMaxElems bounds how many elements of a slice or map DefaultCost
// visits; the rest are assumed to be the size of the average visited one.
const costMaxElems = 64

// locationType is skipped: a time.Time points at a shared *time.Location
// whose zone tables no entry owns.
var locationType = reflect.TypeFor[time.Location]()

// DefaultCost is a rough estimate of the bytes v holds: the size of its
// type plus what its strings, slices, maps and pointers refer to, walked to
// a bounded depth and sampling long collections. It is the cost used when
// a Get or GetMany caller passes a nil cost function.
func DefaultCost(v any) int64 {
	if v == nil {
		return 0
	}
	rv := reflect.ValueOf(v)
	return int64(rv.Type().Size()) + indirectSize(rv, 0)
}

// indirectSize is the size of what v refers to, beyond v's own type size.
func indirectSize(v reflect.Value, depth int) int64 {
	if depth > costMaxDepth {
		return 0
	}
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		if e.Type() == locationType {
			return 0
		}
		return int64(e.Type().Size()) + indirectSize(e, depth+1)
	case reflect.Slice:
		n := v.Len()
		if n == 0 {
			return 0
		}
		elem := int64(v.Type().Elem().Size())
		total := int64(v.Cap()) * elem
		var sample int64
		m := min(n, costMaxElems)
		for i := range m {
			sample += indirectSize(v.Index(i), depth+1)
		}
		return total + sample*int64(n)/int64(m)
	case reflect.Array:
		var total int64
		for i := range min(v.Len(), costMaxElems) {
			total += indirectSize(v.Index(i), depth+1)
		}
		return total
	case reflect.Map:
		n := v.Len()
		if n == 0 {
			return 48
		}
		kv := int64(v.Type().Key().Size() + v.Type().Elem().Size())
		var sample int64
		m := 0
		it := v.MapRange()
		for it.Next() && m < costMaxElems {
			sample += indirectSize(it.Key(), depth+1) + indirectSize(it.Value(), depth+1)
			m++
		}
		return 48 + int64(n)*(kv+8) + sample*int64(n)/int64(m)
	case reflect.Struct:
		var total int64
		for i := range v.NumField() {
			total += indirectSize(v.Field(i), depth+1)
		}
		return total
	default:
		return 0
	}
}
