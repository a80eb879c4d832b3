package orchestrator_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// chain returns a workflow of n no-op steps s1 → s2 → … → sn.
func chain(tb testing.TB, n int) *workflow.Definition {
	tb.Helper()
	opts := []workflow.Option{workflow.Version("1")}
	for i := 1; i <= n; i++ {
		var so []workflow.StepOption
		if i > 1 {
			so = append(so, workflow.After(fmt.Sprintf("s%d", i-1)))
		}
		opts = append(opts, workflow.Step(fmt.Sprintf("s%d", i), "noop", so...))
	}
	def, err := workflow.New(fmt.Sprintf("chain%d", n), opts...).Build()
	if err != nil {
		tb.Fatal(err)
	}
	return def
}

var benchOutput = json.RawMessage(`{"orderId":"ord_8f14e45fceea167a","amount":4200,"currency":"EUR"}`)

// chainJournal returns the events of a run of def, decided by the decider,
// in which every step succeeded: all of them (the run complete), and the
// result of each step in order.
func chainJournal(tb testing.TB, def *workflow.Definition) (events, results []journal.Event) {
	tb.Helper()
	rs := orchestrator.NewRunState(def)
	first := journal.Event{Kind: journal.RunStarted, At: t0, Workflow: def.Name, DefHash: def.Hash(), Key: "k", Input: benchOutput}
	if err := rs.Apply(&first); err != nil {
		tb.Fatal(err)
	}
	d := rs.Decide(t0)
	events = append([]journal.Event{first}, d.Events...)
	for seq := int64(2); !d.Done; seq++ {
		for _, inv := range d.Start {
			ev := journal.Event{Kind: journal.StepSucceeded, At: t0, Step: inv.Step, Attempt: inv.Attempt, Output: benchOutput}
			if err := rs.Apply(&ev); err != nil {
				tb.Fatal(err)
			}
			events = append(events, ev)
			results = append(results, ev)
		}
		d = rs.Decide(t0)
		events = append(events, d.Events...)
	}
	return events, results
}

// runLengths go up to the longest definition allowed (workflow.MaxSteps).
var runLengths = []int{5, 100, workflow.MaxSteps}

type benchRun struct {
	def             *workflow.Definition
	events, results []journal.Event
}

var (
	benchRunsMu sync.Mutex
	benchRuns   = map[int]benchRun{}
)

// cachedRun builds a run of n steps once per process: -count repeats every
// benchmark.
func cachedRun(b *testing.B, n int) benchRun {
	benchRunsMu.Lock()
	defer benchRunsMu.Unlock()
	r, ok := benchRuns[n]
	if !ok {
		r.def = chain(b, n)
		r.events, r.results = chainJournal(b, r.def)
		benchRuns[n] = r
	}
	return r
}

// BenchmarkDecide measures Decide over the journal of a run of n steps
// whose last step just succeeded: the cost of a cold engine's first
// decision (fold the whole history, then decide).
func BenchmarkDecide(b *testing.B) {
	for _, n := range runLengths {
		b.Run(fmt.Sprintf("scratch/steps=%d", n), func(b *testing.B) {
			r := cachedRun(b, n)
			def, events := r.def, r.events[:len(r.events)-1] // drop RunCompleted: the decision to make
			b.ReportAllocs()
			for b.Loop() {
				d, err := orchestrator.Decide(def, events, t0)
				if err != nil || !d.Done {
					b.Fatalf("decide: %v (done %v)", err, d.Done)
				}
			}
		})
	}
}

// BenchmarkApplyDecide measures one step transition as the engine makes it
// on its cached RunState: Apply the step's result, Decide the next step.
// Each op is one transition, averaged over whole runs of n steps (the
// state is rebuilt, untimed, when a run completes).
func BenchmarkApplyDecide(b *testing.B) {
	for _, n := range runLengths {
		b.Run(fmt.Sprintf("incremental/steps=%d", n), func(b *testing.B) {
			r := cachedRun(b, n)
			def, events, results := r.def, r.events, r.results
			start := events[:2] // RunStarted, StepScheduled s1
			fresh := func() *orchestrator.RunState {
				rs, err := orchestrator.Fold(def, start)
				if err != nil {
					b.Fatal(err)
				}
				return rs
			}
			rs, i := fresh(), 0
			b.ReportAllocs()
			for b.Loop() {
				if i == len(results) {
					b.StopTimer()
					rs, i = fresh(), 0
					b.StartTimer()
				}
				ev := results[i]
				if err := rs.Apply(&ev); err != nil {
					b.Fatal(err)
				}
				rs.Decide(t0)
				i++
			}
		})
	}
}
