package index

import (
	"iter"
	"maps"
	"slices"
	"sort"
)

// table holds the rows of one kind by ID, and optionally grouped by a key
// (an item's price rows, an account's contacts) with each group kept sorted.
// A table is never changed after it was published in a state: apply returns
// a new table that shares every untouched group with the old one, so the
// cost of a batch is the size of the kind's ID map plus the touched groups.
//
// Rows are held by pointer so that the per-batch copy of a kind's ID map
// copies a word per row, not the row.
type table[T any] struct {
	rows   map[string]*T
	groups map[string]*group[T]
}

// group is the rows sharing one group key, by ID and in sorted order.
type group[T any] struct {
	byID   map[string]*T
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
	return table[T]{rows: map[string]*T{}, groups: map[string]*group[T]{}}
}

func (t table[T]) get(id string) (T, bool) {
	v, ok := t.rows[id]
	if !ok {
		var zero T
		return zero, false
	}
	return *v, true
}

func (t table[T]) has(id string) bool {
	_, ok := t.rows[id]
	return ok
}

// values yields every row, in no particular order.
func (t table[T]) values() iter.Seq[T] {
	return func(yield func(T) bool) {
		for _, v := range t.rows {
			if !yield(*v) {
				return
			}
		}
	}
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
	// touched holds, per changed group, the new group and the IDs whose
	// rows left or entered it; only those are re-sorted, then merged with
	// the group's untouched rows in one pass.
	type change struct {
		g   *group[T]
		old []T
		ids map[string]bool
	}
	touched := map[string]*change{}
	mut := func(key, id string) *group[T] {
		c, ok := touched[key]
		if !ok {
			c = &change{g: &group[T]{byID: map[string]*T{}}, ids: map[string]bool{}}
			if old := out.groups[key]; old != nil {
				c.g.byID, c.old = maps.Clone(old.byID), old.sorted
			}
			touched[key] = c
			out.groups[key] = c.g
		}
		c.ids[id] = true
		return c.g
	}
	remove := func(id string) {
		old, ok := out.rows[id]
		if !ok {
			return
		}
		delete(out.rows, id)
		if s.group != nil {
			if k := s.group(*old); k != "" {
				delete(mut(k, id).byID, id)
			}
		}
	}
	for _, id := range dels {
		remove(id)
	}
	for _, row := range ups {
		id := s.id(row)
		remove(id)
		p := &row
		out.rows[id] = p
		if s.group != nil {
			if k := s.group(row); k != "" {
				mut(k, id).byID[id] = p
			}
		}
	}
	for k, c := range touched {
		if len(c.g.byID) == 0 {
			delete(out.groups, k)
			continue
		}
		// The rows that left this group are the pre-batch versions of the
		// changed IDs that were in it; the rows that entered are the
		// changed IDs it holds now.
		var removed, fresh []T
		for id := range c.ids {
			if old, ok := t.rows[id]; ok && s.group(*old) == k {
				removed = append(removed, *old)
			}
			if row, ok := c.g.byID[id]; ok {
				fresh = append(fresh, *row)
			}
		}
		ops, fresh := mergePlan(c.old, removed, fresh, s.cmp)
		c.g.sorted = applyPlan(ops, c.old, fresh)
	}
	return out
}

// mergeOp is one step of merging a sorted slice with changes: copy the
// old elements [from, to), or (fresh >= 0) insert one fresh element.
type mergeOp struct {
	from, to, fresh int
}

// mergePlan plans old minus removed plus fresh, all in cmp order, which must
// be total. Removed elements are found and fresh ones placed by binary
// search, so a plan costs O(k log n) compares for k changes, and applying
// it copies runs of old. It returns fresh sorted, as the plan indexes it.
func mergePlan[T any](old, removed, fresh []T, c func(a, b T) int) ([]mergeOp, []T) {
	fresh = slices.Clone(fresh)
	slices.SortFunc(fresh, c)
	var skip []int
	for _, r := range removed {
		if i, found := slices.BinarySearchFunc(old, r, c); found {
			skip = append(skip, i)
		}
	}
	slices.Sort(skip)
	ins := make([]int, len(fresh))
	for j, f := range fresh {
		ins[j] = sort.Search(len(old), func(i int) bool { return c(old[i], f) > 0 })
	}
	var ops []mergeOp
	i, si, j := 0, 0, 0
	for {
		next := len(old)
		if si < len(skip) {
			next = min(next, skip[si])
		}
		if j < len(fresh) {
			next = min(next, ins[j])
		}
		if next > i {
			ops = append(ops, mergeOp{from: i, to: next, fresh: -1})
		}
		i = next
		for j < len(fresh) && ins[j] == i {
			ops = append(ops, mergeOp{fresh: j})
			j++
		}
		if si < len(skip) && skip[si] == i {
			i++
			si++
			continue
		}
		if i >= len(old) && j >= len(fresh) {
			return ops, fresh
		}
	}
}

// applyPlan carries out a mergePlan on old and fresh (or on slices kept in
// step with them).
func applyPlan[E any](ops []mergeOp, old, fresh []E) []E {
	n := len(fresh)
	for _, op := range ops {
		n += op.to - op.from
	}
	out := make([]E, 0, n)
	for _, op := range ops {
		if op.fresh >= 0 {
			out = append(out, fresh[op.fresh])
		} else {
			out = append(out, old[op.from:op.to]...)
		}
	}
	return out
}
