package params

import "fmt"

// suggest returns ` (did you mean "x"?)` for the known key closest to an
// unknown one, or "" when none is close enough to be a likely typo.
func suggest(unknown string) string {
	best, bestDist := "", -1
	for _, k := range keys {
		d := editDistance(unknown, k.name)
		if bestDist < 0 || d < bestDist {
			best, bestDist = k.name, d
		}
	}
	// A typo changes a few characters; beyond a third of the word it is a
	// different word.
	limit := len(unknown) / 3
	if limit < 2 {
		limit = 2
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b.
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
