package orchestrator

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Sentinel errors; see the package documentation.
var (
	ErrUnknownWorkflow   = errors.New("orchestrator: unknown workflow")
	ErrUnknownDefinition = errors.New("orchestrator: unknown definition")
	ErrCorruptJournal    = errors.New("orchestrator: corrupt journal")
	ErrBadInput          = errors.New("orchestrator: bad input")
)

// Phase is where one step stands.
type Phase string

// Step phases.
const (
	PhasePending   Phase = "pending"   // not yet started
	PhaseRunning   Phase = "running"   // scheduled, no result yet
	PhaseRetrying  Phase = "retrying"  // failed, next attempt due later
	PhaseWaiting   Phase = "waiting"   // a wait step's timer is running
	PhaseFailed    Phase = "failed"    // failed, not retried (run in review)
	PhaseSucceeded Phase = "succeeded" // done
	PhaseSkipped   Phase = "skipped"   // its condition was false
)

// StepState is one step's folded view.
type StepState struct {
	Phase   Phase
	Attempt int // last attempt scheduled (or due, when retrying)
	Due     time.Time
	Input   json.RawMessage
	Output  json.RawMessage
	Error   *journal.Error
	// failedPending is set when a failure awaits a retry/review decision.
	failedPending bool
	// base is the last attempt before the step was resubmitted: attempts
	// after it get a fresh retry budget.
	base int
	// override is an operator's replacement input (Resubmitted.Input).
	override json.RawMessage
}

// RunState is a run folded from its journal: what Decide decides from. The
// engine keeps one per active run and applies new events to it, so deciding
// costs O(new events), not O(history).
type RunState struct {
	Def      *workflow.Definition
	Workflow string
	DefHash  string
	Key      string
	Trigger  string
	Started  time.Time
	Input    json.RawMessage
	Status   journal.Status
	Output   json.RawMessage
	Reason   string // why the run is in review, failed or cancelled
	Steps    map[string]*StepState
	// Effects journaled without an outcome, in journal order.
	Outstanding []journal.Effect
	Seq         int64 // last applied commit

	input   any
	state   map[string]any
	outputs map[string]any // name -> {"output": v}
	started bool
}

// NewRunState returns the empty state of a run of def.
func NewRunState(def *workflow.Definition) *RunState {
	rs := &RunState{Def: def, Steps: make(map[string]*StepState, len(def.Steps)),
		state: map[string]any{}, outputs: map[string]any{}}
	for _, s := range def.Steps {
		rs.Steps[s.Name] = &StepState{Phase: PhasePending}
	}
	return rs
}

// Fold applies events to a new RunState of def.
func Fold(def *workflow.Definition, events []journal.Event) (*RunState, error) {
	rs := NewRunState(def)
	for i := range events {
		if err := rs.Apply(&events[i]); err != nil {
			return nil, err
		}
	}
	return rs, nil
}

// State returns the run's state document (do not modify it).
func (rs *RunState) State() map[string]any { return rs.state }

// StateJSON encodes the run's state document.
func (rs *RunState) StateJSON() json.RawMessage {
	b, err := json.Marshal(rs.state)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

func (rs *RunState) step(e *journal.Event) (*StepState, error) {
	s, ok := rs.Steps[e.Step]
	if !ok {
		return nil, fmt.Errorf("%w: %s event for step %q, which definition %s does not have",
			ErrCorruptJournal, e.Kind, e.Step, rs.DefHash)
	}
	return s, nil
}

// Apply folds one event into the state.
func (rs *RunState) Apply(e *journal.Event) error {
	if e.Seq > rs.Seq {
		rs.Seq = e.Seq
	}
	if !rs.started && e.Kind != journal.RunStarted {
		return fmt.Errorf("%w: first event is %s, want RunStarted", ErrCorruptJournal, e.Kind)
	}
	switch e.Kind {
	case journal.RunStarted:
		if rs.started {
			return fmt.Errorf("%w: second RunStarted", ErrCorruptJournal)
		}
		rs.started = true
		rs.Workflow, rs.DefHash, rs.Key, rs.Trigger = e.Workflow, e.DefHash, e.Key, e.Trigger
		rs.Started, rs.Input, rs.Status = e.At, e.Input, journal.StatusRunning
		in, err := workflow.DecodeJSON(e.Input)
		if err != nil {
			return fmt.Errorf("%w: run input: %v", ErrCorruptJournal, err)
		}
		rs.input = in
		if len(e.State) > 0 {
			if err := rs.patch(e.State); err != nil {
				return err
			}
		}
	case journal.StepScheduled:
		s, err := rs.step(e)
		if err != nil {
			return err
		}
		s.Phase, s.Attempt, s.Input, s.failedPending = PhaseRunning, e.Attempt, e.Input, false
	case journal.StepSucceeded:
		s, err := rs.step(e)
		if err != nil {
			return err
		}
		if s.Phase != PhaseRunning && s.Phase != PhaseWaiting || e.Attempt != s.Attempt {
			return nil // a late duplicate of an attempt already decided
		}
		s.Phase, s.Output, s.Error, s.failedPending = PhaseSucceeded, e.Output, nil, false
		out, err := workflow.DecodeJSON(e.Output)
		if err != nil {
			return fmt.Errorf("%w: step %q output: %v", ErrCorruptJournal, e.Step, err)
		}
		rs.outputs[e.Step] = map[string]any{"output": out, "skipped": false}
		if len(e.State) > 0 {
			if err := rs.patch(e.State); err != nil {
				return fmt.Errorf("step %q: %w", e.Step, err)
			}
		}
		rs.Outstanding = append(rs.Outstanding, e.Effects...)
	case journal.StepFailed:
		s, err := rs.step(e)
		if err != nil {
			return err
		}
		if s.Phase != PhaseRunning || e.Attempt != s.Attempt {
			return nil
		}
		s.Phase, s.Error, s.failedPending = PhaseFailed, e.Error, true
	case journal.StepSkipped:
		s, err := rs.step(e)
		if err != nil {
			return err
		}
		s.Phase = PhaseSkipped
		// Expressions may test a skipped step: steps.x.skipped, and its
		// output reads as null.
		rs.outputs[e.Step] = map[string]any{"output": nil, "skipped": true}
	case journal.RetryScheduled:
		s, err := rs.step(e)
		if err != nil {
			return err
		}
		s.Phase, s.Attempt, s.Due, s.failedPending = PhaseRetrying, e.Attempt, e.Due, false
	case journal.TimerStarted:
		s, err := rs.step(e)
		if err != nil {
			return err
		}
		s.Phase, s.Due = PhaseWaiting, e.Due
	case journal.TimerFired:
		// The wait step's StepSucceeded follows in the same commit.
		if _, err := rs.step(e); err != nil {
			return err
		}
	case journal.EffectSucceeded, journal.EffectFailed:
		for i, ef := range rs.Outstanding {
			if ef.ID == e.EffectID {
				rs.Outstanding = append(rs.Outstanding[:i:i], rs.Outstanding[i+1:]...)
				break
			}
		}
	case journal.NeedsReview:
		rs.Status, rs.Reason = journal.StatusReview, e.Reason
		if e.Step != "" {
			if s, ok := rs.Steps[e.Step]; ok {
				s.failedPending = false
			}
		}
	case journal.Resubmitted:
		rs.Status, rs.Reason = journal.StatusRunning, ""
		if len(e.State) > 0 {
			if err := rs.patch(e.State); err != nil {
				return err
			}
		}
		for name, s := range rs.Steps {
			if s.Phase == PhaseFailed || name == e.Step && e.Step != "" {
				s.Phase, s.Error, s.Due, s.failedPending, s.base = PhasePending, nil, time.Time{}, false, s.Attempt
				if len(e.Input) > 0 && name == e.Step {
					s.Input, s.override = e.Input, e.Input
				}
			}
		}
	case journal.Cancelled:
		rs.Status, rs.Reason = journal.StatusCancelled, e.Reason
	case journal.RunCompleted:
		rs.Status, rs.Output = journal.StatusCompleted, e.Output
	case journal.RunFailed:
		rs.Status = journal.StatusFailed
		if e.Error != nil {
			rs.Reason = e.Error.Message
		}
	}
	return nil
}

// patch applies a JSON merge patch (RFC 7386) to the state document.
func (rs *RunState) patch(raw json.RawMessage) error {
	v, err := workflow.DecodeJSON(raw)
	if err != nil {
		return fmt.Errorf("%w: state patch: %v", ErrCorruptJournal, err)
	}
	p, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil
		}
		return fmt.Errorf("%w: state patch is %T, want an object", ErrCorruptJournal, v)
	}
	mergePatch(rs.state, p)
	return nil
}

func mergePatch(target, patch map[string]any) {
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			t, ok := target[k].(map[string]any)
			if !ok {
				t = map[string]any{}
				target[k] = t
			}
			mergePatch(t, pv)
		default:
			target[k] = v
		}
	}
}

func (rs *RunState) vars(attempt int) workflow.Vars {
	return workflow.Vars{Input: rs.input, State: rs.state, Steps: rs.outputs, Attempt: attempt}
}
