package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// RunView is a run as the visualizer draws it at one commit: its folded
// status, state and steps, each step's attempts with their input, output,
// state before and after, effects with their outcomes, and errors.
type RunView struct {
	Run journal.Run `json:"run"`
	// At is the last commit folded in; Last is the run's last commit.
	At   int64 `json:"at"`
	Last int64 `json:"last"`
	// Status is the run's status at At (Run.Status is the current one).
	Status     journal.Status  `json:"status"`
	Reason     string          `json:"reason,omitempty"`
	Key        string          `json:"key"`
	Trigger    string          `json:"trigger,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	State      json.RawMessage `json:"state"`
	Parent     string          `json:"parent,omitempty"`
	ParentStep string          `json:"parentStep,omitempty"`
	Definition DefinitionView  `json:"definition"`
	Steps      []*StepView     `json:"steps"`
	Effects    []*EffectView   `json:"effects"`
	// Events are the run's events without their payloads (with ?events=1,
	// or those after commit ?after=N); the steps' attempts carry the
	// payloads.
	Events []EventRow `json:"events,omitempty"`
}

// EventRow is an event in a run's timeline: what happened, to which step,
// attempt, item, effect or child run, but not its input, output or state.
type EventRow struct {
	Seq          int64          `json:"seq"`
	Kind         journal.Kind   `json:"kind"`
	At           time.Time      `json:"at"`
	Step         string         `json:"step,omitempty"`
	Attempt      int            `json:"attempt,omitempty"`
	Index        int            `json:"index,omitempty"`
	Error        *journal.Error `json:"error,omitempty"`
	Due          time.Time      `json:"due,omitzero"`
	Reason       string         `json:"reason,omitempty"`
	By           string         `json:"by,omitempty"`
	EffectID     string         `json:"effectId,omitempty"`
	Effects      int            `json:"effects,omitempty"`
	Name         string         `json:"name,omitempty"`
	Parent       string         `json:"parent,omitempty"`
	Child        string         `json:"child,omitempty"`
	Compensation bool           `json:"compensation,omitempty"`
}

func eventRow(e *journal.Event) EventRow {
	return EventRow{Seq: e.Seq, Kind: e.Kind, At: e.At, Step: e.Step, Attempt: e.Attempt, Index: e.Index, Error: e.Error,
		Due: e.Due, Reason: e.Reason, By: e.By, EffectID: e.EffectID, Effects: len(e.Effects), Name: e.Name,
		Parent: e.Parent, Child: e.Child, Compensation: e.Compensation}
}

// DefinitionView is a definition's graph: what the UI lays out.
type DefinitionView struct {
	Hash    string     `json:"hash"`
	Name    string     `json:"name"`
	Version string     `json:"version"`
	Nodes   []NodeView `json:"nodes"`
}

// NodeView is one step of a definition's graph.
type NodeView struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Label    string   `json:"label"`
	After    []string `json:"after,omitempty"`
	When     string   `json:"when,omitempty"`
	Workflow string   `json:"workflow,omitempty"`
}

// StepView is one step of a run. Status is what the graph shows: the
// step's phase, or "review" (failed, run in review), "deferred" (pending,
// run deferred), "compensating" or "compensated".
type StepView struct {
	Name     string          `json:"name"`
	Status   string          `json:"status"`
	Attempt  int             `json:"attempt,omitempty"`
	Due      time.Time       `json:"due,omitzero"`
	Input    json.RawMessage `json:"input,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"`
	Error    *journal.Error  `json:"error,omitempty"`
	Children []string        `json:"children,omitempty"`
	Attempts []*AttemptView  `json:"attempts"`
	Items    *ItemsView      `json:"items,omitempty"`
	// Compensation is the last attempt of the step's compensation.
	Compensation *AttemptView `json:"compensation,omitempty"`
}

// AttemptView is one attempt of a step.
type AttemptView struct {
	Attempt     int             `json:"attempt"`
	Scheduled   time.Time       `json:"scheduled"`
	Finished    time.Time       `json:"finished,omitzero"`
	DurationMS  int64           `json:"durationMs,omitempty"`
	Result      string          `json:"result"` // running, succeeded, failed
	Seq         int64           `json:"seq"`
	EndSeq      int64           `json:"endSeq,omitempty"`
	Input       json.RawMessage `json:"input,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	StatePatch  json.RawMessage `json:"statePatch,omitempty"`
	StateBefore json.RawMessage `json:"stateBefore,omitempty"`
	StateAfter  json.RawMessage `json:"stateAfter,omitempty"`
	Effects     []*EffectView   `json:"effects,omitempty"`
	Error       *journal.Error  `json:"error,omitempty"`
	RetryDue    time.Time       `json:"retryDue,omitzero"`
}

// EffectView is an effect a step asked for and what became of it:
// "journaled", "dispatched", "succeeded" or "failed".
type EffectView struct {
	journal.Effect
	Step     string         `json:"step"`
	Status   string         `json:"status"`
	Outcomes int            `json:"outcomes,omitempty"`
	At       time.Time      `json:"at,omitzero"`
	Error    *journal.Error `json:"error,omitempty"`
}

// ItemsView is a page of a map step's items and the count per phase.
type ItemsView struct {
	Total  int            `json:"total"`
	Counts map[string]int `json:"counts"`
	Offset int            `json:"offset"`
	List   []ItemView     `json:"list"`
}

// ItemView is one item of a map step.
type ItemView struct {
	Index   int             `json:"index"`
	Phase   string          `json:"phase"`
	Attempt int             `json:"attempt,omitempty"`
	Input   json.RawMessage `json:"input,omitempty"`
	Output  json.RawMessage `json:"output,omitempty"`
	Error   *journal.Error  `json:"error,omitempty"`
}

// itemsPage is how many items of a map step one view lists.
const itemsPage = 100

// viewOptions select what buildRunView folds and returns.
type viewOptions struct {
	at         int64 // 0: the last commit
	events     bool  // list the events (all, or those after eventsAfter)
	after      int64
	itemOffset int
}

// buildRunView folds the run's events up to opts.at into a RunView. It
// folds with orchestrator's RunState (the engine's own fold), so what it
// shows is what the decider saw.
func buildRunView(def *workflow.Definition, head journal.Run, events []journal.Event, opts viewOptions) (*RunView, error) {
	v := &RunView{Run: head, Last: head.Seq, Definition: definitionView(def)}
	if n := len(events); n > 0 {
		v.Last = events[n-1].Seq
	}
	f := newFolder(def, v)
	for i := range events {
		e := &events[i]
		if opts.at > 0 && e.Seq > opts.at {
			break
		}
		if err := f.apply(e); err != nil {
			return nil, fmt.Errorf("run %s, event %d (%s): %w", head.ID, i, e.Kind, err)
		}
	}
	f.finish(opts.itemOffset)
	if opts.events {
		v.Events = make([]EventRow, 0, len(events))
		for i := range events {
			if events[i].Seq > opts.after {
				v.Events = append(v.Events, eventRow(&events[i]))
			}
		}
	}
	return v, nil
}

func definitionView(def *workflow.Definition) DefinitionView {
	d := DefinitionView{Hash: def.Hash(), Name: def.Name, Version: def.Version, Nodes: make([]NodeView, len(def.Steps))}
	for i := range def.Steps {
		n := &def.Steps[i]
		d.Nodes[i] = NodeView{Name: n.Name, Type: n.StepType(), Label: nodeLabel(n), After: n.After, When: n.When, Workflow: n.Workflow}
	}
	return d
}

// nodeLabel is the second line of a node: its function, or what it does.
func nodeLabel(n *workflow.Node) string {
	switch t := n.StepType(); t {
	case workflow.TypeTask:
		return n.Function
	case workflow.TypeWait:
		if n.Until != "" {
			return "wait until"
		}
		return "wait " + n.Duration.D().String()
	case workflow.TypeMap:
		return "map " + n.Function
	case workflow.TypeSub:
		return "sub " + n.Workflow
	case workflow.TypeEvent:
		return "event " + n.Event
	default:
		return t
	}
}

// displayStatus is what the graph shows for a step in a run of status run.
func displayStatus(p orchestrator.Phase, run journal.Status) string {
	switch {
	case p == orchestrator.PhaseFailed && run == journal.StatusReview:
		return "review"
	case p == orchestrator.PhasePending && run == journal.StatusDeferred:
		return "deferred"
	}
	return string(p)
}
