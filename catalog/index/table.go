package index

import (
	"maps"
	"slices"
)

// table holds the rows of one kind by ID, and optionally grouped by a key
// (an item's price rows, an account's contacts) with each group kept sorted.
// A table is never changed after it was published in a state: apply returns
// a new table that shares every untouched group with the old one, so the
// cost of a batch is the size of the kind's ID map plus the touched groups.
type table[T any] struct {
	rows   map[string]T
	groups map[string]*group[T]
}

// group is the rows sharing one group key, by ID and in sorted order.
type group[T any] struct {
	byID   map[string]T
	sorted []T
}

// spec says how a table of T keys, groups and sorts its rows.
type spec[T any] struct {
	// id returns the row's (normalised) identity.
	id func(T) string
	// group returns the row's group key; nil when the kind is not grouped.
	// An empty key leaves the row out of every group.
	group func(T) string
	// cmp orders the rows of one group.
	cmp func(a, b T) int
}

func newTable[T any]() table[T] {
	return table[T]{rows: map[string]T{}, groups: map[string]*group[T]{}}
}

func (t table[T]) get(id string) (T, bool) {
	v, ok := t.rows[id]
	return v, ok
}

// in returns the sorted rows of one group; the slice must not be changed.
func (t table[T]) in(key string) []T {
	if g := t.groups[key]; g != nil {
		return g.sorted
	}
	return nil
}

// apply returns the table with dels removed and ups upserted, in that order
// (so a batch that deletes and re-adds an ID keeps the row). With replace,
// the result holds exactly ups: the kind was re-read whole.
func (t table[T]) apply(s spec[T], ups []T, dels []string, replace bool) table[T] {
	if replace {
		t = newTable[T]()
		dels = nil
	}
	if len(ups) == 0 && len(dels) == 0 && !replace {
		return t
	}
	out := table[T]{rows: maps.Clone(t.rows), groups: t.groups}
	if s.group != nil {
		out.groups = maps.Clone(t.groups)
	}
	touched := map[string]*group[T]{}
	mut := func(key string) *group[T] {
		if g, ok := touched[key]; ok {
			return g
		}
		g := &group[T]{byID: map[string]T{}}
		if old := out.groups[key]; old != nil {
			g.byID = maps.Clone(old.byID)
		}
		touched[key] = g
		out.groups[key] = g
		return g
	}
	remove := func(id string) {
		old, ok := out.rows[id]
		if !ok {
			return
		}
		delete(out.rows, id)
		if s.group != nil {
			if k := s.group(old); k != "" {
				delete(mut(k).byID, id)
			}
		}
	}
	for _, id := range dels {
		remove(id)
	}
	for _, row := range ups {
		id := s.id(row)
		remove(id)
		out.rows[id] = row
		if s.group != nil {
			if k := s.group(row); k != "" {
				mut(k).byID[id] = row
			}
		}
	}
	for k, g := range touched {
		if len(g.byID) == 0 {
			delete(out.groups, k)
			continue
		}
		g.sorted = slices.SortedFunc(maps.Values(g.byID), s.cmp)
	}
	return out
}
