package orchestrator

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Snapshot is a run as its journal folds to, at one point: what the
// visualizer draws and verification tools check. It is a copy: nothing in
// it changes when the run goes on, and changing it changes nothing.
type Snapshot struct {
	Workflow string
	DefHash  string
	Key      string
	Trigger  string
	Started  time.Time
	Input    json.RawMessage
	Status   journal.Status
	// Output is the run's output once it completed.
	Output json.RawMessage
	// Reason says why the run is in review, failed or cancelled.
	Reason string
	// State is the run's state document.
	State json.RawMessage
	// Parent and ParentStep name the run (and its sub step) that started
	// this one as a child.
	Parent       string
	ParentStep   string
	Compensating bool
	// Steps are the definition's steps, in its order.
	Steps []StepSnapshot
	// Outstanding are the effects journaled without an outcome;
	// Undispatched those of them not yet sent to the effects executor.
	Outstanding  []journal.Effect
	Undispatched []journal.Effect
	// Seq is the last commit folded; Events how many events were.
	Seq    int64
	Events int
}

// StepSnapshot is one step of a Snapshot.
type StepSnapshot struct {
	Name  string
	Type  string
	Phase Phase
	// Attempt is the last attempt scheduled (or due, when retrying).
	Attempt int
	// Due is when a retry or the step's timer falls due.
	Due time.Time
	// Lease is when the result of the attempt in flight is due.
	Lease  time.Time
	Input  json.RawMessage
	Output json.RawMessage
	Error  *journal.Error
	// Child is a sub step's current child run.
	Child string
	// Items are a map step's elements, in input order.
	Items []ItemSnapshot
	// Scheduled is when the last attempt was scheduled; Finished when the
	// step last succeeded, failed or was skipped (zero: not yet).
	Scheduled time.Time
	Finished  time.Time
}

// ItemSnapshot is one element of a map step.
type ItemSnapshot struct {
	Phase   Phase
	Attempt int
	Due     time.Time
	Lease   time.Time
	Input   json.RawMessage
	Output  json.RawMessage
	Error   *journal.Error
}

// View folds a run's events and returns its snapshot.
func View(def *workflow.Definition, events []journal.Event) (Snapshot, error) {
	return FoldAt(def, events, len(events))
}

// FoldAt returns the snapshot of a run after its first n events: the run as
// it stood at any point of its history.
func FoldAt(def *workflow.Definition, events []journal.Event, n int) (Snapshot, error) {
	if n < 0 || n > len(events) {
		return Snapshot{}, fmt.Errorf("%w: fold at event %d of %d", ErrBadInput, n, len(events))
	}
	rs, err := Fold(def, events[:n])
	if err != nil {
		return Snapshot{}, err
	}
	s := rs.Snapshot()
	s.Events = n
	return s, nil
}

// Snapshot returns a copy of the run as folded so far.
func (rs *RunState) Snapshot() Snapshot {
	s := Snapshot{Workflow: rs.wfName, DefHash: rs.defHash, Key: rs.key, Trigger: rs.trigger, Started: rs.startedAt,
		Input: slices.Clone(rs.inputJSON), Status: rs.status, Output: slices.Clone(rs.output), Reason: rs.reason,
		State: rs.StateJSON(), Parent: rs.parent, ParentStep: rs.parentStep, Compensating: rs.compensating,
		Outstanding: slices.Clone(rs.outstanding), Seq: rs.seq}
	for _, p := range rs.undispatched {
		s.Undispatched = append(s.Undispatched, p.effect)
	}
	for i, st := range rs.steps {
		n := &rs.def.Steps[i]
		ss := StepSnapshot{Name: n.Name, Type: n.StepType(), Phase: st.phase, Attempt: st.attempt, Due: st.due,
			Lease: rs.leases[flight{i, 0}], Input: slices.Clone(st.input), Output: slices.Clone(st.output),
			Error: cloneError(st.failure), Child: st.child, Scheduled: st.scheduledAt, Finished: st.finishedAt}
		for j, it := range st.items {
			ss.Items = append(ss.Items, ItemSnapshot{Phase: it.phase, Attempt: it.attempt, Due: it.due,
				Lease: rs.leases[flight{i, j + 1}], Input: slices.Clone(it.input), Output: slices.Clone(it.output),
				Error: cloneError(it.failure)})
		}
		s.Steps = append(s.Steps, ss)
	}
	return s
}

// Step returns the snapshot of the step named name.
func (s Snapshot) Step(name string) (StepSnapshot, bool) {
	i := slices.IndexFunc(s.Steps, func(st StepSnapshot) bool { return st.Name == name })
	if i < 0 {
		return StepSnapshot{}, false
	}
	return s.Steps[i], true
}

func cloneError(e *journal.Error) *journal.Error {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}
