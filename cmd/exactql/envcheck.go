package main

import (
	"fmt"
	"strings"
)

// otherKnownVariables are EXACT_* variables read by other commands of this
// repository; they are not unknown when set beside the gateway's.
var otherKnownVariables = []string{"EXACT_SANDBOX_ADDR"}

// unknownVariables reports each EXACTQL_* or EXACT_* variable in environ
// ("NAME=value" entries, as os.Environ gives) that no setting reads, with
// the closest known name, so a typo is not silently ignored
// (ARCHITECTURE §9). Values are never part of a message: they may be
// secrets.
func unknownVariables(environ []string) []string {
	known := make(map[string]bool, len(settings)+len(otherKnownVariables))
	for _, s := range settings {
		known[s.Name] = true
	}
	for _, n := range otherKnownVariables {
		known[n] = true
	}
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "EXACTQL_") && !strings.HasPrefix(name, "EXACT_") {
			continue
		}
		if known[name] {
			continue
		}
		msg := fmt.Sprintf("%s is not a setting of exactql and is ignored", name)
		if best := closestSetting(name); best != "" {
			msg += fmt.Sprintf("; did you mean %s?", best)
		}
		out = append(out, msg)
	}
	return out
}

// closestSetting is the setting name at the smallest edit distance from
// name, when that distance is small enough to be a plausible typo (at most
// a third of the name); ties go to the first in README order.
func closestSetting(name string) string {
	best, bestDist := "", len(name)/3+1
	for _, s := range settings {
		if d := editDistance(name, s.Name); d < bestDist {
			best, bestDist = s.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b in bytes
// (variable names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
