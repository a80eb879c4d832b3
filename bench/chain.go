package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// NoopFunction is the step function every chain step calls: it returns its
// input unchanged.
const NoopFunction = "noop"

// Noop is the no-op step handler.
var Noop = step.Func(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })

// Registry returns a registry holding the no-op step.
func Registry() *step.Registry {
	reg := step.NewRegistry()
	reg.Register(NoopFunction, Noop)
	return reg
}

// Chain returns the workflow "chain<k>": k no-op steps s1 → s2 → … → sk.
func Chain(k int) *workflow.Definition {
	opts := []workflow.Option{workflow.Version("1")}
	for i := 1; i <= k; i++ {
		var so []workflow.StepOption
		if i > 1 {
			so = append(so, workflow.After(fmt.Sprintf("s%d", i-1)))
		}
		opts = append(opts, workflow.Step(fmt.Sprintf("s%d", i), NoopFunction, so...))
	}
	return workflow.New(fmt.Sprintf("chain%d", k), opts...).MustBuild()
}

// Journal returns the journal of a completed run of def in which every
// step succeeded at once with output, decided by the real decider, commit by
// commit (each commit's events stamped with its sequence number).
func Journal(def *workflow.Definition, input, output json.RawMessage) ([][]journal.Event, error) {
	return buildJournal(def, input, output, nil)
}

// buildJournal is Journal, reporting how long each transition after the
// first (Apply of the step's result + Decide) took to timed, if not nil.
func buildJournal(def *workflow.Definition, input, output json.RawMessage, timed func(time.Duration)) ([][]journal.Event, error) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	rs := orchestrator.NewRunState(def)
	first := journal.Event{Kind: journal.RunStarted, At: now, Workflow: def.Name, DefHash: def.Hash(), Key: "k", Input: input}
	if err := rs.Apply(&first); err != nil {
		return nil, err
	}
	d := rs.Decide(now)
	commits := [][]journal.Event{append([]journal.Event{first}, d.Events...)}
	for !d.Done {
		if len(d.Start) == 0 {
			return nil, fmt.Errorf("run of %s stalled after %d commits", def.Name, len(commits))
		}
		t := time.Now()
		var commit []journal.Event
		for _, inv := range d.Start {
			ev := journal.Event{Kind: journal.StepSucceeded, At: now, Step: inv.Step, Attempt: inv.Attempt, Output: output}
			if err := rs.Apply(&ev); err != nil {
				return nil, err
			}
			commit = append(commit, ev)
		}
		d = rs.Decide(now)
		if timed != nil {
			timed(time.Since(t))
		}
		commits = append(commits, append(commit, d.Events...))
	}
	for i := range commits {
		for j := range commits[i] {
			commits[i][j].Seq = int64(i + 1)
		}
	}
	return commits, nil
}
