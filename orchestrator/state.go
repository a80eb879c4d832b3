package orchestrator

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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

// Phase is where one step (or map item) stands.
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

// stepState is one step's folded view.
type stepState struct {
	phase   Phase
	attempt int // last attempt scheduled (or due, when retrying)
	due     time.Time
	input   json.RawMessage
	output  json.RawMessage
	failure *journal.Error
	// items are a map step's elements, in input order.
	items []itemState
	// child is a sub step's current child run.
	child string

	// failedPending is set when a failure awaits a retry/review decision.
	failedPending bool
	// base is the last attempt before the step was resubmitted: attempts
	// after it get a fresh retry budget.
	base int
	// reclaims counts the attempts since base that failed by reclaim
	// (step.KindLease): they do not use up the retry budget, and past
	// MaxReclaims the step goes to review.
	reclaims int
	// override is an operator's replacement input (Resubmitted.Input).
	override json.RawMessage
	// scheduledAt and finishedAt are when the last attempt was scheduled
	// and when the step last succeeded, failed or was skipped.
	scheduledAt, finishedAt time.Time

	// part is the key of the snapshot part that holds the step's payload
	// (input, output, items) as it stands, once one was written or read;
	// lazy is set while the payload is only there (see snapparts.go).
	part string
	lazy bool
	// inputRun is set while the step's input is the run's input, not
	// resolved yet (a snapshot holds it once).
	inputRun bool

	idx        int   // position in def.Steps
	next       int   // map: next item to schedule (0-based)
	busy       int   // map: items running or retrying
	done       int   // map: items finished (succeeded or failed for good)
	failed     int   // map: items failed for good
	itemFailed []int // map: items whose failure awaits a decision
}

// itemState is one element of a map step.
type itemState struct {
	phase    Phase
	attempt  int
	reclaims int // attempts that failed by reclaim (see stepState.reclaims)
	due      time.Time
	input    json.RawMessage
	output   json.RawMessage
	failure  *journal.Error
}

// flight identifies an attempt in flight: a step, or one of its items.
type flight struct{ step, item int }

// RunState is a run folded from its journal: what Decide decides from. The
// engine keeps one per active run and applies new events to it, so deciding
// costs O(what changed), not O(history) or O(steps).
type RunState struct {
	def       *workflow.Definition
	wfName    string
	defHash   string
	key       string
	trigger   string
	startedAt time.Time
	inputJSON json.RawMessage
	status    journal.Status
	output    json.RawMessage
	reason    string // why the run is in review, failed or cancelled
	byName    map[string]*stepState
	// parent and parentStep name the run (and its sub step) that started
	// this one as a child.
	parent        string
	parentStep    string
	parentAttempt int
	// Effects journaled without an outcome, in journal order.
	outstanding []journal.Effect
	seq         int64 // last applied commit

	// input and outputs are the values expressions read, decoded from
	// inputJSON and the steps' outputs on first use (vars): most runs'
	// decisions evaluate no expression.
	input        any
	inputDecoded bool
	// inputPart is the snapshot part holding inputJSON; inputLazy is set
	// while inputJSON is only there. missed says which values not resolved
	// yet a decision needed (see snapparts.go).
	inputPart string
	inputLazy bool
	missed    need
	state     map[string]any
	outputs   map[string]any             // name -> {"output": v, "skipped": bool}
	undecoded map[string]json.RawMessage // outputs not yet in outputs
	started   bool

	steps    []*stepState         // by definition position
	dirty    map[int]bool         // steps to look at in the next decision
	timers   map[flight]time.Time // retries, waits and timeouts that fall due
	inflight map[flight]bool      // attempts scheduled without a result
	leases   map[flight]time.Time // when the result of an attempt in flight is due
	// undispatched are journaled effects not yet handed to the effects
	// executor (no EffectDispatched, nor an outcome), in journal order.
	undispatched []pendingEffect
	remaining    int                    // steps neither succeeded nor skipped
	signals      map[string][]signalRec // external events by name
	// Compensation (sagas): completed steps with a compensation, newest
	// last; compensating is true while they are being undone.
	compStack    []int
	comp         *stepState // the compensation in progress (top of the stack)
	compensating bool
	endStatus    journal.Status // failed or cancelled, once the run ended
	resubmitted  time.Time      // the last resubmission: the run timeout restarts there
	// limits are the step functions' configured timeouts, where the
	// deployment knows them (SetFunctionTimeouts).
	limits map[string]time.Duration
	// snapEvents is how many events the last snapshot (or the one the
	// state was loaded from) folds; unsnapped counts those applied since.
	snapEvents, unsnapped int
}

// clockFrom is when the run's timeout started counting: its start, or its
// last resubmission (an operator who resubmits a timed-out run gives it a
// fresh timeout).
func (rs *RunState) clockFrom() time.Time {
	if rs.resubmitted.After(rs.startedAt) {
		return rs.resubmitted
	}
	return rs.startedAt
}

// pendingEffect is an effect journaled at At and not yet dispatched.
type pendingEffect struct {
	effect journal.Effect
	at     time.Time
}

type signalRec struct {
	payload  json.RawMessage
	consumed bool
}

// NewRunState returns the empty state of a run of def.
func NewRunState(def *workflow.Definition) *RunState {
	rs := &RunState{def: def, byName: make(map[string]*stepState, len(def.Steps)),
		state: map[string]any{}, outputs: map[string]any{}, undecoded: map[string]json.RawMessage{}, dirty: map[int]bool{},
		timers: map[flight]time.Time{}, inflight: map[flight]bool{}, leases: map[flight]time.Time{}, signals: map[string][]signalRec{},
		steps: make([]*stepState, len(def.Steps)), remaining: len(def.Steps)}
	for i, s := range def.Steps {
		st := &stepState{phase: PhasePending, idx: i}
		rs.byName[s.Name] = st
		rs.steps[i] = st
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

// Compensating reports whether the run is undoing completed steps.
func (rs *RunState) Compensating() bool { return rs.compensating }

func (rs *RunState) step(e *journal.Event) (*stepState, error) {
	s, ok := rs.byName[e.Step]
	if !ok {
		return nil, fmt.Errorf("%w: %s event for step %q, which definition %s does not have",
			ErrCorruptJournal, e.Kind, e.Step, rs.defHash)
	}
	if s.lazy {
		rs.missed |= needPayloads // its payload is needed first (touchesLazy)
	}
	s.part = "" // its payload may change
	return s, nil
}

func (rs *RunState) node(s *stepState) *workflow.Node { return &rs.def.Steps[s.idx] }

// item returns map item e.Index of s (1-based), or an error.
func (rs *RunState) item(s *stepState, e *journal.Event) (*itemState, error) {
	if e.Index < 1 || e.Index > len(s.items) {
		return nil, fmt.Errorf("%w: %s event for item %d of step %q, which has %d items",
			ErrCorruptJournal, e.Kind, e.Index, e.Step, len(s.items))
	}
	return &s.items[e.Index-1], nil
}

// setPhase moves a step to p, keeping the completion count and waking its
// dependents when it becomes done.
func (rs *RunState) setPhase(s *stepState, p Phase) {
	wasDone := s.phase == PhaseSucceeded || s.phase == PhaseSkipped
	isDone := p == PhaseSucceeded || p == PhaseSkipped
	s.phase = p
	switch {
	case isDone && !wasDone:
		rs.remaining--
		for _, succ := range rs.def.Successors(rs.def.Steps[s.idx].Name) {
			rs.dirty[rs.byName[succ].idx] = true
		}
	case wasDone && !isDone:
		rs.remaining++
	}
	rs.dirty[s.idx] = true
}

// unmarkItem removes item index from the failures awaiting a decision.
func (rs *RunState) unmarkItem(s *stepState, index int) bool {
	for i, x := range s.itemFailed {
		if x == index {
			s.itemFailed = append(s.itemFailed[:i:i], s.itemFailed[i+1:]...)
			return true
		}
	}
	return false
}

// dropItems forgets a map step's items in flight or waiting to retry: the
// step itself failed, so their results no longer matter.
func (rs *RunState) dropItems(s *stepState) {
	for i := range s.items {
		delete(rs.inflight, flight{s.idx, i + 1})
		delete(rs.timers, flight{s.idx, i + 1})
		delete(rs.leases, flight{s.idx, i + 1})
	}
}

// startItems records a map step's item list (its StepScheduled input).
func (rs *RunState) startItems(s *stepState, e *journal.Event) error {
	var items []json.RawMessage
	if err := json.Unmarshal(e.Input, &items); err != nil {
		return fmt.Errorf("%w: map step %q: items are not a JSON list: %v", ErrCorruptJournal, e.Step, err)
	}
	s.items = make([]itemState, len(items))
	for i := range s.items {
		s.items[i] = itemState{phase: PhasePending, input: items[i]}
	}
	s.next, s.busy, s.done, s.failed, s.itemFailed = 0, 0, 0, 0, nil
	return nil
}

func (rs *RunState) itemDone(s *stepState, e *journal.Event) error {
	it, err := rs.item(s, e)
	if err != nil {
		return err
	}
	if it.phase != PhaseRunning || it.attempt != e.Attempt || s.phase != PhaseRunning {
		return nil
	}
	it.phase, it.output, it.failure = PhaseSucceeded, e.Output, nil
	s.busy--
	s.done++
	delete(rs.inflight, flight{s.idx, e.Index})
	delete(rs.leases, flight{s.idx, e.Index})
	rs.journaled(e)
	rs.dirty[s.idx] = true
	return nil
}

func (rs *RunState) itemFailed(s *stepState, e *journal.Event) error {
	it, err := rs.item(s, e)
	if err != nil {
		return err
	}
	if it.phase != PhaseRunning || it.attempt != e.Attempt || s.phase != PhaseRunning {
		return nil
	}
	it.phase, it.failure = PhaseFailed, e.Error
	if reclaimed(e.Error) {
		it.reclaims++
	}
	delete(rs.inflight, flight{s.idx, e.Index})
	delete(rs.leases, flight{s.idx, e.Index})
	s.itemFailed = append(s.itemFailed, e.Index)
	rs.dirty[s.idx] = true
	return nil
}

// mapOutput is a map step's output: its items' outputs in input order
// (null for items that failed within the tolerance).
func (rs *RunState) mapOutput(s *stepState) (any, json.RawMessage) {
	vals := make([]any, len(s.items))
	raws := make([]json.RawMessage, len(s.items))
	for i, it := range s.items {
		raws[i] = json.RawMessage(`null`)
		if it.phase == PhaseSucceeded && len(it.output) > 0 {
			raws[i] = it.output
			vals[i], _ = workflow.DecodeJSON(it.output)
		}
	}
	b, _ := json.Marshal(raws)
	return vals, b
}

// consume marks the earliest unconsumed event named name as consumed.
func (rs *RunState) consume(name string) {
	for i := range rs.signals[name] {
		if !rs.signals[name][i].consumed {
			rs.signals[name][i].consumed = true
			return
		}
	}
}

// pendingSignal returns the earliest unconsumed event named name.
func (rs *RunState) pendingSignal(name string) (json.RawMessage, bool) {
	for _, s := range rs.signals[name] {
		if !s.consumed {
			return s.payload, true
		}
	}
	return nil, false
}

// applyCompensation folds an event about the compensation of a step.
func (rs *RunState) applyCompensation(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	if len(rs.compStack) == 0 || rs.compStack[len(rs.compStack)-1] != s.idx {
		return fmt.Errorf("%w: %s compensation of step %q, which is not next to compensate", ErrCorruptJournal, e.Kind, e.Step)
	}
	if rs.comp == nil || rs.comp.idx != s.idx {
		rs.comp = &stepState{phase: PhasePending, idx: s.idx}
	}
	c := rs.comp
	switch e.Kind {
	case journal.StepScheduled:
		c.phase, c.attempt, c.input, c.failure = PhaseRunning, e.Attempt, e.Input, nil
		delete(rs.timers, flight{-1, s.idx})
		rs.leases[compFlight] = leaseOf(e, rs.node(s).Timeout.D())
	case journal.StepSucceeded:
		if c.phase != PhaseRunning || c.attempt != e.Attempt {
			return nil
		}
		delete(rs.leases, compFlight)
		rs.compStack = rs.compStack[:len(rs.compStack)-1]
		rs.comp = nil
		rs.journaled(e)
		if len(rs.compStack) == 0 {
			rs.compensating = false
		}
	case journal.StepFailed:
		if c.phase != PhaseRunning || c.attempt != e.Attempt {
			return nil
		}
		delete(rs.leases, compFlight)
		c.phase, c.failure, c.failedPending = PhaseFailed, e.Error, true
		if reclaimed(e.Error) {
			c.reclaims++
		}
	case journal.RetryScheduled:
		c.phase, c.attempt, c.due, c.failedPending = PhaseRetrying, e.Attempt, e.Due, false
		rs.timers[flight{-1, s.idx}] = e.Due
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
	if rs.hasLazy() {
		rs.missed |= needAll // expressions may read the input and any step's output
	}
	rs.decodeValues()
	return workflow.Vars{Input: rs.input, State: rs.state, Steps: rs.outputs, Attempt: attempt}
}

// decodeValues decodes the run's input and the step outputs not decoded
// yet. Apply checked they are JSON, so decoding does not fail.
func (rs *RunState) decodeValues() {
	if rs.inputLazy {
		rs.missed |= needInput
	}
	if !rs.inputDecoded {
		rs.input, _ = workflow.DecodeJSON(rs.inputJSON)
		rs.inputDecoded = true
	}
	for name, raw := range rs.undecoded {
		v, _ := workflow.DecodeJSON(raw)
		rs.outputs[name] = map[string]any{"output": v, "skipped": false}
	}
	clear(rs.undecoded)
}

// inputValue is the run's input as expressions read it.
func (rs *RunState) inputValue() any {
	rs.decodeValues()
	return rs.input
}

// sortedDirty returns and clears the dirty steps, in definition order.
func (rs *RunState) sortedDirty() []int {
	out := make([]int, 0, len(rs.dirty))
	for i := range rs.dirty {
		out = append(out, i)
	}
	clear(rs.dirty)
	sort.Ints(out)
	return out
}
