package bench

import (
	"fmt"
	"slices"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// DecidePoint is the decider's cost at one point of a long run.
type DecidePoint struct {
	Steps int // steps completed so far
	// Incremental is the mean cost of one step transition as the engine
	// does it (RunState.Apply of the result + RunState.Decide) around Steps.
	Incremental time.Duration
	// FromScratch is orchestrator.Decide over the whole journal so far (what
	// a cold engine or a replay pays), the median of a few calls.
	FromScratch time.Duration
}

// DecideScaling measures the decider over one run of a chain of max steps,
// at points evenly spaced steps apart.
func DecideScaling(max, points int) ([]DecidePoint, error) {
	if max > workflow.MaxSteps {
		return nil, fmt.Errorf("decide scaling: a chain of %d steps is longer than a definition may be (workflow.MaxSteps = %d)", max, workflow.MaxSteps)
	}
	def := Chain(max)
	// Incremental: the journal is built the way the engine drives a run,
	// one transition (result applied, next step decided) at a time; each
	// point averages the transitions of the window of steps ending at it.
	per := make([]time.Duration, 0, max)
	commits, err := buildJournal(def, Input, Input, func(d time.Duration) { per = append(per, d) })
	if err != nil {
		return nil, err
	}
	now := commits[0][0].At
	var out []DecidePoint
	step := max / points
	for n := step; n <= max; n += step {
		lo, hi := n-step, min(n, len(per))
		var sum time.Duration
		for _, d := range per[lo:hi] {
			sum += d
		}
		var events []journal.Event
		for _, c := range commits[:n] {
			events = append(events, c...)
		}
		var runs []time.Duration
		for range 5 {
			t := time.Now()
			if _, err := orchestrator.Decide(def, events, now); err != nil {
				return nil, err
			}
			runs = append(runs, time.Since(t))
		}
		slices.Sort(runs)
		out = append(out, DecidePoint{Steps: n, Incremental: sum / time.Duration(hi-lo), FromScratch: runs[len(runs)/2]})
	}
	return out, nil
}
