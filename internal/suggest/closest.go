package suggest

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Closest returns up to n names from known that are close to name, closest
// first, for "did you mean" messages. Names are compared case-insensitively.
// A known name is close when its edit distance to name is at most
// max(2, len(name)/3) (less than the whole name for very short names), or
// when one of the two starts with the other and the shorter has at least 3
// characters ("route" → "route53"). It returns nil when nothing is close.
func Closest(name string, known []string, n int) []string {
	if n <= 0 {
		return nil
	}
	want := strings.ToLower(name)
	size := utf8.RuneCountInString(want)
	limit := max(2, size/3)
	if limit >= size {
		limit = size - 1
	}
	type candidate struct {
		name string
		dist int
	}
	var found []candidate
	seen := map[string]bool{}
	for _, k := range known {
		if seen[k] {
			continue
		}
		seen[k] = true
		lk := strings.ToLower(k)
		d := editDistance(want, lk)
		prefix := min(size, utf8.RuneCountInString(lk)) >= 3 &&
			(strings.HasPrefix(lk, want) || strings.HasPrefix(want, lk))
		if d <= limit || prefix {
			found = append(found, candidate{k, d})
		}
	}
	slices.SortFunc(found, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.name, b.name))
	})
	if len(found) > n {
		found = found[:n]
	}
	var out []string
	for _, c := range found {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, counted in
// runes.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(y)]
}
