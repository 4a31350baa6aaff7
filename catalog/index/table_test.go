package index

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMergePlanMatchesSort checks the run-copying merge against sorting
// from scratch, on random lists, removals and insertions (duplicates of
// removed keys included).
func TestMergePlanMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for round := 0; round < 2000; round++ {
		n := r.IntN(40)
		old := make([]int, 0, n)
		seen := map[int]bool{}
		for len(old) < n {
			v := r.IntN(100)
			if !seen[v] {
				seen[v] = true
				old = append(old, v)
			}
		}
		slices.Sort(old)
		var removed, fresh []int
		for _, v := range old {
			if r.IntN(4) == 0 {
				removed = append(removed, v)
				if r.IntN(2) == 0 {
					fresh = append(fresh, v) // re-added unchanged
				}
			}
		}
		for k := r.IntN(6); k > 0; k-- {
			v := 100 + r.IntN(100) - r.IntN(200)
			if !seen[v] {
				seen[v] = true
				fresh = append(fresh, v)
			}
		}
		ops, fs := mergePlan(old, removed, fresh, cmp.Compare[int])
		got := applyPlan(ops, old, fs)
		want := slices.DeleteFunc(slices.Clone(old), func(v int) bool { return slices.Contains(removed, v) })
		want = append(want, fresh...)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("old %v removed %v fresh %v: got %v, want %v", old, removed, fresh, got, want)
		}
	}
}
