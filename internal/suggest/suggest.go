// Package suggest finds the names closest to a misspelt one, for "did you
// mean" hints in error messages.
package suggest

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// FunctionHints adds to a definition's validation error, for each function
// it names that cannot be invoked, the closest of names (the functions that
// can be); other errors are returned as they are.
func FunctionHints(err error, names []string) error {
	var inv *workflow.InvalidError
	if !errors.As(err, &inv) {
		return err
	}
	var hints []string
	for _, p := range inv.Problems {
		var fn string
		if _, e := fmt.Sscanf(p.Msg, "function %q is not registered", &fn); e != nil {
			continue
		}
		if c := Closest(fn, names); len(c) > 0 {
			hints = append(hints, fmt.Sprintf("function %q: did you mean %s?", fn, strings.Join(c, ", ")))
		} else {
			hints = append(hints, fmt.Sprintf("function %q: no function of that name or a close one among the %d that can be invoked", fn, len(names)))
		}
	}
	if len(hints) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%s", err, strings.Join(hints, "\n"))
}

// Closest returns up to three of names nearest to name (edit distance, a
// shared prefix counting as near), for "did you mean" hints.
func Closest(name string, names []string) []string {
	type scored struct {
		n string
		d int
	}
	var s []scored
	for _, n := range names {
		d := editDistance(name, n)
		if strings.HasPrefix(n, name) || strings.HasPrefix(name, n) {
			d = min(d, 2)
		}
		if d <= max(2, len(name)/4) {
			s = append(s, scored{n, d})
		}
	}
	sort.SliceStable(s, func(i, j int) bool { return s[i].d < s[j].d })
	var out []string
	for i := 0; i < len(s) && i < 3; i++ {
		out = append(out, s[i].n)
	}
	return out
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
