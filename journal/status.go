package journal

import (
	"fmt"
	"strings"
)

// Statuses lists every run status, in a run's usual order.
var Statuses = []Status{StatusRunning, StatusWaiting, StatusDeferred, StatusReview,
	StatusCompleted, StatusFailed, StatusCancelled}

// ParseStatus returns the status named s, or an error listing the valid
// ones (for command-line flags and query parameters).
func ParseStatus(s string) (Status, error) {
	names := make([]string, len(Statuses))
	for i, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
		names[i] = string(st)
	}
	return "", fmt.Errorf("status %q: want one of %s", s, strings.Join(names, ", "))
}
