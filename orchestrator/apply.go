package orchestrator

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Leases. An attempt the engine invokes (a task attempt, a map item, a
// compensation) is journaled with the time by which its result is due: its
// timeout (DefaultStepTimeout when the step has none) plus LeaseMargin. A
// driver that finds an attempt in flight with a live lease never invokes it
// again; once the lease has expired with no result journaled, Decide fails
// the attempt by timeout and the retry policy takes over.
const (
	// DefaultStepTimeout bounds an attempt of a step without a Timeout.
	DefaultStepTimeout = 15 * time.Minute
	// LeaseMargin is how long after an attempt's timeout its result may
	// still arrive and be journaled before the lease expires.
	LeaseMargin = 15 * time.Second
)

// MaxReclaims bounds the attempts of one step (or map item, or
// compensation) that may fail by reclaim (step.KindLease: the process that
// invoked them stopped) between two resubmissions. A reclaimed attempt
// does not count against the retry policy's MaxAttempts and its retry is
// due at once; one reclaim more than MaxReclaims sends the run to review
// (the step's process keeps dying while it runs: look at it before
// resubmitting). An attempt reclaimed may still have run to its end: the
// step receives the same Request.IdempotencyKey on every attempt to
// de-duplicate on, and Request.Attempt to tell them apart.
const MaxReclaims = 5

// reclaimed reports whether a failure is a reclaim (step.KindLease).
func reclaimed(e *journal.Error) bool { return e != nil && e.Kind == step.KindLease }

// stepTimeout is how long an attempt of a step with timeout t may run.
func stepTimeout(t time.Duration) time.Duration {
	if t <= 0 {
		return DefaultStepTimeout
	}
	return t
}

// leaseOf is the lease a StepScheduled event carries, or (journals written
// before leases) the one it would have carried.
func leaseOf(e *journal.Event, timeout time.Duration) time.Time {
	if !e.Due.IsZero() {
		return e.Due
	}
	return e.At.Add(stepTimeout(timeout) + LeaseMargin)
}

// timeoutOf bounds an attempt of step n that invokes function fn (n's
// function, or its compensation): the step's timeout when it has one (an
// async step's timeout bounds the wait for its callback instead, not the
// invocation that starts it), else fn's configured timeout when the
// deployment knows it (SetFunctionTimeouts), else DefaultStepTimeout.
func (rs *RunState) timeoutOf(n *workflow.Node, fn string) time.Duration {
	if n.Timeout > 0 && !n.Async {
		return n.Timeout.D()
	}
	if d := rs.limits[fn]; d > 0 {
		return d
	}
	return DefaultStepTimeout
}

// SetFunctionTimeouts gives the state the configured timeouts of step
// functions (by function name, as definitions name them), which bound the
// attempts of steps without a timeout of their own and their leases. They
// are an input of Decide like its clock: the leases decided are journaled,
// so a fold never needs them.
func (rs *RunState) SetFunctionTimeouts(timeouts map[string]time.Duration) { rs.limits = timeouts }

// compFlight is the flight of the compensation in progress.
var compFlight = flight{-1, -1}

// applyFuncs folds each kind of event; kinds not listed change nothing.
var applyFuncs map[journal.Kind]func(*RunState, *journal.Event) error

func init() {
	applyFuncs = map[journal.Kind]func(*RunState, *journal.Event) error{
		journal.RunStarted:       (*RunState).applyRunStarted,
		journal.StepScheduled:    (*RunState).applyScheduled,
		journal.SubRunStarted:    (*RunState).applySubRunStarted,
		journal.StepSucceeded:    (*RunState).applySucceeded,
		journal.SubRunCompleted:  (*RunState).applySucceeded,
		journal.StepFailed:       (*RunState).applyFailed,
		journal.StepSkipped:      (*RunState).applySkipped,
		journal.ItemFailed:       (*RunState).applyItemFailed,
		journal.RetryScheduled:   (*RunState).applyRetry,
		journal.StepStarted:      (*RunState).applyStepStarted,
		journal.TimerStarted:     (*RunState).applyTimerStarted,
		journal.TimerFired:       (*RunState).applyTimerFired,
		journal.EventReceived:    (*RunState).applyEventReceived,
		journal.EffectDispatched: (*RunState).applyEffectDispatched,
		journal.EffectSucceeded:  (*RunState).applyEffectOutcome,
		journal.EffectFailed:     (*RunState).applyEffectOutcome,
		journal.NeedsReview:      (*RunState).applyNeedsReview,
		journal.Resubmitted:      (*RunState).applyResubmitted,
		journal.Deferred:         (*RunState).applyDeferred,
		journal.Released:         (*RunState).applyReleased,
		journal.Cancelled:        (*RunState).applyCancelled,
		journal.RunCompleted:     (*RunState).applyRunCompleted,
		journal.RunFailed:        (*RunState).applyRunFailed,
	}
}

// Apply folds one event into the state.
func (rs *RunState) Apply(e *journal.Event) error {
	if e.Seq > rs.seq {
		rs.seq = e.Seq
	}
	if !rs.started && e.Kind != journal.RunStarted {
		return fmt.Errorf("%w: first event is %s, want RunStarted", ErrCorruptJournal, e.Kind)
	}
	if e.Compensation {
		return rs.applyCompensation(e)
	}
	if f, ok := applyFuncs[e.Kind]; ok {
		return f(rs, e)
	}
	return nil
}

func (rs *RunState) applyRunStarted(e *journal.Event) error {
	if rs.started {
		return fmt.Errorf("%w: second RunStarted", ErrCorruptJournal)
	}
	rs.started = true
	rs.wfName, rs.defHash, rs.key, rs.trigger = e.Workflow, e.DefHash, e.Key, e.Trigger
	rs.startedAt, rs.inputJSON, rs.status = e.At, e.Input, journal.StatusRunning
	rs.parent, rs.parentStep, rs.parentAttempt = e.Parent, e.Step, e.Attempt
	if len(e.Input) > 0 && !json.Valid(e.Input) {
		return fmt.Errorf("%w: run input is not JSON", ErrCorruptJournal)
	}
	rs.input, rs.inputDecoded = nil, false // decoded on first use
	if len(e.State) > 0 {
		if err := rs.patch(e.State); err != nil {
			return err
		}
	}
	for i, n := range rs.def.Steps {
		if len(n.After) == 0 {
			rs.dirty[i] = true
		}
	}
	return nil
}

func (rs *RunState) applyScheduled(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	n := rs.node(s)
	if e.Index > 0 {
		it, err := rs.item(s, e)
		if err != nil {
			return err
		}
		if it.phase == PhasePending {
			s.busy++
			s.next = max(s.next, e.Index)
		}
		it.phase, it.attempt, it.input = PhaseRunning, e.Attempt, e.Input
		f := flight{s.idx, e.Index}
		delete(rs.timers, f)
		rs.inflight[f] = true
		rs.leases[f] = leaseOf(e, n.Timeout.D())
		return nil
	}
	s.phase, s.attempt, s.input, s.failedPending, s.failure = PhaseRunning, e.Attempt, e.Input, false, nil
	s.inputRun = false
	s.scheduledAt, s.finishedAt = e.At, time.Time{}
	f := flight{s.idx, 0}
	delete(rs.timers, f)
	delete(rs.leases, f)
	rs.dirty[s.idx] = true
	switch n.StepType() {
	case workflow.TypeTask:
		rs.inflight[f] = true
		switch {
		case !n.Async:
			rs.leases[f] = leaseOf(e, n.Timeout.D())
		case !e.Due.IsZero():
			// Its start's lease (journals from before start leases have
			// none: their async steps wait for their callback only).
			rs.leases[f] = e.Due
		}
	case workflow.TypeMap:
		if err := rs.startItems(s, e); err != nil {
			return err
		}
	}
	return nil
}

func (rs *RunState) applySubRunStarted(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	s.child = e.Child
	rs.inflight[flight{s.idx, 0}] = true
	return nil
}

// applySucceeded folds StepSucceeded and SubRunCompleted.
func (rs *RunState) applySucceeded(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	if e.Index > 0 {
		return rs.itemDone(s, e)
	}
	if e.Kind == journal.SubRunCompleted && e.Child != s.child {
		return nil // a stale child's completion
	}
	if s.phase != PhaseRunning && s.phase != PhaseWaiting || e.Attempt != s.attempt {
		return nil // a late duplicate of an attempt already decided
	}
	rs.endAttempt(s)
	if e.Kind == journal.SubRunCompleted && e.Error != nil {
		s.phase, s.failure, s.failedPending = PhaseFailed, e.Error, true
		rs.dirty[s.idx] = true
		return nil
	}
	out := e.Output
	n := rs.node(s)
	if n.StepType() == workflow.TypeMap {
		var v any
		v, out = rs.mapOutput(s)
		rs.outputs[e.Step] = map[string]any{"output": v, "skipped": false}
		delete(rs.undecoded, e.Step)
	} else {
		if len(e.Output) > 0 && !json.Valid(e.Output) {
			return fmt.Errorf("%w: step %q output is not JSON", ErrCorruptJournal, e.Step)
		}
		rs.undecoded[e.Step] = e.Output // decoded on first use
	}
	if n.StepType() == workflow.TypeEvent {
		rs.consume(n.Event)
	}
	s.output, s.failure, s.failedPending, s.finishedAt = out, nil, false, e.At
	rs.setPhase(s, PhaseSucceeded)
	if len(e.State) > 0 {
		if err := rs.patch(e.State); err != nil {
			return fmt.Errorf("step %q: %w", e.Step, err)
		}
	}
	rs.journaled(e)
	if n.Compensate != "" {
		rs.compStack = append(rs.compStack, s.idx)
	}
	return nil
}

// endAttempt forgets what an attempt in flight of s held.
func (rs *RunState) endAttempt(s *stepState) {
	f := flight{s.idx, 0}
	delete(rs.inflight, f)
	delete(rs.timers, f)
	delete(rs.leases, f)
}

// journaled records the effects of a result event: outstanding until their
// outcome is journaled, undispatched until they are sent.
func (rs *RunState) journaled(e *journal.Event) {
	rs.outstanding = append(rs.outstanding, e.Effects...)
	for _, ef := range e.Effects {
		rs.undispatched = append(rs.undispatched, pendingEffect{effect: ef, at: e.At})
	}
}

func (rs *RunState) applyFailed(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	if e.Index > 0 {
		return rs.itemFailed(s, e)
	}
	if s.phase != PhaseRunning || e.Attempt != s.attempt {
		return nil
	}
	rs.endAttempt(s)
	rs.dropItems(s)
	s.phase, s.failure, s.failedPending, s.finishedAt = PhaseFailed, e.Error, true, e.At
	if reclaimed(e.Error) {
		s.reclaims++
	}
	rs.dirty[s.idx] = true
	return nil
}

func (rs *RunState) applySkipped(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	rs.setPhase(s, PhaseSkipped)
	s.finishedAt = e.At
	// Expressions may test a skipped step: steps.x.skipped, and its
	// output reads as null.
	rs.outputs[e.Step] = map[string]any{"output": nil, "skipped": true}
	delete(rs.undecoded, e.Step)
	return nil
}

func (rs *RunState) applyItemFailed(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	it, err := rs.item(s, e)
	if err != nil {
		return err
	}
	if it.phase == PhaseFailed && rs.unmarkItem(s, e.Index) {
		s.busy--
		s.done++
		s.failed++
		rs.dirty[s.idx] = true
	}
	return nil
}

func (rs *RunState) applyRetry(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	if e.Index > 0 {
		it, err := rs.item(s, e)
		if err != nil {
			return err
		}
		rs.unmarkItem(s, e.Index)
		it.phase, it.attempt, it.due = PhaseRetrying, e.Attempt, e.Due
		rs.timers[flight{s.idx, e.Index}] = e.Due
		rs.dirty[s.idx] = true // a retry due at once runs in this decision
		return nil
	}
	s.phase, s.attempt, s.due, s.failedPending = PhaseRetrying, e.Attempt, e.Due, false
	rs.timers[flight{s.idx, 0}] = e.Due
	rs.dirty[s.idx] = true
	return nil
}

// applyStepStarted ends an async attempt's start lease: its callback token
// is out, and it waits for its callback (or its timeout).
func (rs *RunState) applyStepStarted(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	if s.phase == PhaseRunning && s.attempt == e.Attempt {
		delete(rs.leases, flight{s.idx, 0})
		rs.dirty[s.idx] = true
	}
	return nil
}

func (rs *RunState) applyTimerStarted(e *journal.Event) error {
	s, err := rs.step(e)
	if err != nil {
		return err
	}
	s.due = e.Due
	if rs.node(s).StepType() == workflow.TypeWait {
		s.phase = PhaseWaiting
	}
	rs.timers[flight{s.idx, 0}] = e.Due
	rs.dirty[s.idx] = true
	return nil
}

// applyTimerFired checks the step: the wait step's StepSucceeded follows in
// the same commit.
func (rs *RunState) applyTimerFired(e *journal.Event) error {
	_, err := rs.step(e)
	return err
}

func (rs *RunState) applyEventReceived(e *journal.Event) error {
	rs.signals[e.Name] = append(rs.signals[e.Name], signalRec{payload: e.Input})
	for i := range rs.def.Steps {
		if n := &rs.def.Steps[i]; n.StepType() == workflow.TypeEvent && n.Event == e.Name && rs.steps[i].phase == PhaseRunning {
			rs.dirty[i] = true
		}
	}
	return nil
}

func (rs *RunState) applyEffectDispatched(e *journal.Event) error {
	rs.dispatched(e.EffectID)
	return nil
}

// applyEffectOutcome folds EffectSucceeded and EffectFailed: an effect with
// an outcome is neither outstanding nor to be dispatched.
func (rs *RunState) applyEffectOutcome(e *journal.Event) error {
	for i, ef := range rs.outstanding {
		if ef.ID == e.EffectID {
			rs.outstanding = append(rs.outstanding[:i:i], rs.outstanding[i+1:]...)
			break
		}
	}
	rs.dispatched(e.EffectID)
	return nil
}

func (rs *RunState) dispatched(id string) {
	for i, p := range rs.undispatched {
		if p.effect.ID == id {
			rs.undispatched = append(rs.undispatched[:i:i], rs.undispatched[i+1:]...)
			return
		}
	}
}

func (rs *RunState) applyNeedsReview(e *journal.Event) error {
	rs.status, rs.reason = journal.StatusReview, e.Reason
	if e.Step != "" {
		if s, ok := rs.byName[e.Step]; ok {
			s.failedPending = false
		}
	}
	return nil
}

func (rs *RunState) applyResubmitted(e *journal.Event) error {
	if e.Step != "" {
		if _, err := rs.step(e); err != nil {
			return err
		}
	}
	rs.status, rs.reason, rs.resubmitted = journal.StatusRunning, "", e.At
	if rs.compensating {
		// Resubmitting a failed compensation resumes undoing; the run
		// keeps the status it ended with.
		rs.status = rs.endStatus
		if rs.comp != nil && rs.comp.phase == PhaseFailed {
			rs.comp.phase, rs.comp.base, rs.comp.reclaims = PhasePending, rs.comp.attempt, 0
		}
		return nil
	}
	if len(e.State) > 0 {
		if err := rs.patch(e.State); err != nil {
			return err
		}
	}
	for i, s := range rs.steps {
		name := rs.def.Steps[i].Name
		if s.phase == PhaseFailed || name == e.Step {
			rs.setPhase(s, PhasePending)
			s.failure, s.due, s.failedPending, s.base, s.reclaims = nil, time.Time{}, false, s.attempt, 0
			rs.endAttempt(s)
			if len(e.Input) > 0 && name == e.Step {
				s.input, s.override, s.inputRun = e.Input, e.Input, false
			}
		}
	}
	return nil
}

func (rs *RunState) applyDeferred(*journal.Event) error {
	rs.status = journal.StatusDeferred
	return nil
}

func (rs *RunState) applyReleased(*journal.Event) error {
	if rs.status == journal.StatusDeferred {
		rs.status = journal.StatusRunning
	}
	return nil
}

func (rs *RunState) applyCancelled(e *journal.Event) error {
	rs.status, rs.reason, rs.endStatus = journal.StatusCancelled, e.Reason, journal.StatusCancelled
	rs.compensating = len(rs.compStack) > 0
	return nil
}

func (rs *RunState) applyRunCompleted(e *journal.Event) error {
	rs.status, rs.output = journal.StatusCompleted, e.Output
	return nil
}

func (rs *RunState) applyRunFailed(e *journal.Event) error {
	rs.status, rs.endStatus = journal.StatusFailed, journal.StatusFailed
	if e.Error != nil {
		rs.reason = e.Error.Message
	}
	rs.compensating = len(rs.compStack) > 0
	return nil
}
