package odata

import (
	"cmp"
	"slices"
	"strings"
)

// OrderKey is one $orderby term.
type OrderKey struct {
	// Field is the property name.
	Field string
	// Desc is true for "desc".
	Desc bool
}

// OrderBy is a parsed $orderby, most significant key first.
type OrderBy []OrderKey

// ParseOrderBy parses a $orderby value such as "Code" or
// "Code desc, Description asc" against set. The empty string yields nil.
// Property names are case-sensitive, the directions lower-case; anything
// else is a 400 *Error.
func ParseOrderBy(s string, set EntitySet) (OrderBy, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > MaxFilterLength {
		return nil, badRequest("The $orderby expression is too long (%d characters; at most %d are allowed).", len(s), MaxFilterLength)
	}
	var out OrderBy
	off := 0
	for _, part := range strings.Split(s, ",") {
		words := strings.Fields(part)
		lead := strings.IndexFunc(part, func(r rune) bool { return r != ' ' && r != '\t' })
		pos := runePos(s, off+max(lead, 0))
		off += len(part) + 1
		if len(words) == 0 || len(words) > 2 {
			return nil, badRequest("Syntax error in $orderby at position %d.", pos)
		}
		f, ok := set.Field(words[0])
		if !ok {
			return nil, badRequest("No property '%s' exists in type '%s' at position %d.", words[0], set.TypeName, pos)
		}
		k := OrderKey{Field: f.Name}
		if len(words) == 2 {
			switch words[1] {
			case "asc":
			case "desc":
				k.Desc = true
			default:
				return nil, badRequest("Syntax error in $orderby at position %d: 'asc' or 'desc' expected.", pos)
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// Sort sorts rs in place by o, stably. Ascending order puts nil values
// first (SQL Server's NULL ordering) and desc reverses that; strings
// compare case-insensitively, GUIDs as lower-case text (not SQL Server's
// uniqueidentifier byte order). Values of a kind that does not fit the
// field sort as nil. Sort does not know the field types, so it orders by
// the Go kinds of the values.
func (o OrderBy) Sort(rs []Record) {
	if len(o) == 0 {
		return
	}
	// The sort values are read (and normalised) once per record, not once
	// per comparison; ties are broken by position, which keeps the sort
	// stable while using the faster unstable algorithm.
	type row struct {
		vals []any
		pos  int
		r    Record
	}
	rows := make([]row, len(rs))
	for i, r := range rs {
		vals := make([]any, len(o))
		for j, k := range o {
			vals[j] = sortable(r[k.Field])
		}
		rows[i] = row{vals, i, r}
	}
	slices.SortFunc(rows, func(a, b row) int {
		for n, k := range o {
			c := compareSortable(a.vals[n], b.vals[n])
			if c == 0 {
				continue
			}
			if k.Desc {
				return -c
			}
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	for i := range rows {
		rs[i] = rows[i].r
	}
}

// compareSortable orders two record values sortable has mapped; nil (or an
// unsortable kind) sorts before anything else.
func compareSortable(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	c, ok := compareValues(a, b)
	if !ok {
		return 0
	}
	return c
}

// sortable maps a raw record value onto the evaluation kinds.
func sortable(v any) any {
	switch v.(type) {
	case string:
		return normalize(String, v)
	case bool:
		return v
	case float64, float32:
		return normalize(Double, v)
	}
	if n := normalize(Int64, v); n != nil {
		return n
	}
	return normalize(DateTime, v)
}

// ParseSelect parses a $select value against set: "" yields nil, "*" every
// field in set order, otherwise a comma-separated list of property names
// (spaces around names tolerated, duplicates dropped). An unknown or empty
// name is a 400 *Error.
func ParseSelect(s string, set EntitySet) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if strings.TrimSpace(s) == "*" {
		out := make([]string, len(set.Fields))
		for i, f := range set.Fields {
			out[i] = f.Name
		}
		return out, nil
	}
	if len(s) > MaxFilterLength {
		return nil, badRequest("The $select expression is too long (%d characters; at most %d are allowed).", len(s), MaxFilterLength)
	}
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name := strings.TrimSpace(part)
		if name == "" {
			return nil, badRequest("Invalid request: empty property name in $select.")
		}
		// Exact answers a misspelled $select with 400 "Invalid request"
		// (exact-online-api.md §3.4); the WCF detail is added for humans.
		f, ok := set.Field(name)
		if !ok {
			return nil, badRequest("Invalid request: No property '%s' exists in type '%s'.", name, set.TypeName)
		}
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f.Name)
		}
	}
	return out, nil
}
