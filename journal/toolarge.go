package journal

import (
	"fmt"
	"strings"
)

// TooLargeError reports a commit over a backend's size limit. It matches
// ErrTooLarge with errors.Is; errors.As gives the steps whose events made
// up the commit, so the engine can fail them.
type TooLargeError struct {
	Run   string
	Seq   int64    // the sequence the commit would have had
	Steps []string // the steps the commit's events are about, in order
	// Size and Limit are in bytes; What says what they measure (e.g.
	// "encoded events", "DynamoDB item").
	Size, Limit int
	What        string
}

// NewTooLargeError describes commit c, of size bytes of what, over limit.
func NewTooLargeError(c Commit, what string, size, limit int) *TooLargeError {
	return &TooLargeError{Run: c.Run, Seq: c.After + 1, Steps: stepsOf(c.Events), Size: size, Limit: limit, What: what}
}

func (e *TooLargeError) Error() string {
	steps := "no step"
	if len(e.Steps) > 0 {
		steps = "steps " + strings.Join(e.Steps, ", ")
	}
	return fmt.Sprintf("run %s commit %d (%s) is %d bytes of %s, limit %d: %v",
		e.Run, e.Seq, steps, e.Size, e.What, e.Limit, ErrTooLarge)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// stepsOf names the steps events are about, each once, in order.
func stepsOf(events []Event) []string {
	var names []string
	seen := map[string]bool{}
	for _, e := range events {
		if e.Step != "" && !seen[e.Step] {
			seen[e.Step] = true
			names = append(names, e.Step)
		}
	}
	return names
}
