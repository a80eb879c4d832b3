package orchestrator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Invocation is a task step attempt the engine must run.
type Invocation struct {
	Step     string
	Function string
	Attempt  int
	Input    json.RawMessage
	// Timeout bounds the attempt (0: none beyond the engine's own).
	Timeout time.Duration
}

// Decision is what Decide wants done next.
type Decision struct {
	// Events to append, in order, as one commit.
	Events []journal.Event
	// Status is the run's new head status, or "" when it does not change.
	Status journal.Status
	// Start lists attempts scheduled by this decision: invoke them after the
	// commit succeeds.
	Start []Invocation
	// InFlight lists attempts scheduled by earlier decisions that have no
	// result yet. An engine resuming a run (after a crash, a redelivery or a
	// continuation) invokes them again; their idempotency keys are stable.
	InFlight []Invocation
	// WakeAt is when a retry or timer falls due (zero: none).
	WakeAt time.Time
	// Done is true once the run will make no more progress: completed,
	// failed, cancelled, or waiting in review for an operator.
	Done bool
}

// Decide folds events into the run's state and decides what happens next at
// time now. It is pure: the same arguments always give the same decision.
func Decide(def *workflow.Definition, events []journal.Event, now time.Time) (Decision, error) {
	rs, err := Fold(def, events)
	if err != nil {
		return Decision{}, err
	}
	return rs.Decide(now), nil
}

// Decide decides what happens next at time now and applies the decision's
// events to rs (so rs reflects the journal once they are appended).
func (rs *RunState) Decide(now time.Time) (d Decision) {
	if !rs.started {
		return Decision{Done: true}
	}
	emit := func(e journal.Event) {
		e.At = now
		d.Events = append(d.Events, e)
		_ = rs.Apply(&d.Events[len(d.Events)-1]) // decider events are always valid
	}
	startStatus := rs.Status
	defer func() {
		if rs.Status != startStatus {
			d.Status = rs.Status
		}
		d.Done = rs.Status.Terminal() || rs.Status == journal.StatusReview
	}()
	if rs.Status.Terminal() || rs.Status == journal.StatusReview {
		return d
	}
	if t := rs.Def.Timeout.D(); t > 0 {
		if deadline := rs.Started.Add(t); !now.Before(deadline) {
			emit(journal.Event{Kind: journal.NeedsReview, Reason: fmt.Sprintf("run timed out after %s", t)})
			return d
		}
	}
	// Iterate to a fixed point: built-in steps finish inside the decision
	// and may make their successors ready.
	for progress := true; progress && rs.Status == journal.StatusRunning; {
		progress = false
		for i := range rs.Def.Steps {
			n := &rs.Def.Steps[i]
			if rs.decideStep(n, now, emit, &d) {
				progress = true
			}
			if rs.Status != journal.StatusRunning {
				return d
			}
		}
	}
	done := true
	for i := range rs.Def.Steps {
		s := rs.Steps[rs.Def.Steps[i].Name]
		switch s.Phase {
		case PhaseSucceeded, PhaseSkipped:
		case PhaseRunning:
			done = false
			if !slices.ContainsFunc(d.Start, func(inv Invocation) bool { return inv.Step == rs.Def.Steps[i].Name }) {
				d.InFlight = append(d.InFlight, rs.invocation(&rs.Def.Steps[i], s))
			}
		case PhaseRetrying, PhaseWaiting:
			done = false
			if d.WakeAt.IsZero() || s.Due.Before(d.WakeAt) {
				d.WakeAt = s.Due
			}
		default:
			done = false
		}
	}
	if t := rs.Def.Timeout.D(); t > 0 && !done {
		if deadline := rs.Started.Add(t); d.WakeAt.IsZero() || deadline.Before(d.WakeAt) {
			d.WakeAt = deadline
		}
	}
	if done {
		out, err := rs.runOutput()
		if err != nil {
			emit(journal.Event{Kind: journal.NeedsReview, Reason: "run output: " + err.Error()})
			return d
		}
		emit(journal.Event{Kind: journal.RunCompleted, Output: out})
	}
	return d
}

// decideStep advances one step if it can; it reports whether it did.
func (rs *RunState) decideStep(n *workflow.Node, now time.Time, emit func(journal.Event), d *Decision) bool {
	s := rs.Steps[n.Name]
	switch s.Phase {
	case PhasePending:
		for _, a := range n.After {
			if p := rs.Steps[a].Phase; p != PhaseSucceeded && p != PhaseSkipped {
				return false
			}
		}
		if n.When != "" {
			ok, err := rs.Def.Eval(n.Name, "when", rs.vars(s.Attempt+1))
			if err != nil {
				rs.failDefinition(n, s.Attempt+1, err, emit)
				return true
			}
			if b, _ := ok.(bool); !b {
				emit(journal.Event{Kind: journal.StepSkipped, Step: n.Name, Reason: "when: " + n.When})
				return true
			}
		}
		rs.schedule(n, s.Attempt+1, now, emit, d)
		return true
	case PhaseRetrying:
		if now.Before(s.Due) {
			return false
		}
		rs.schedule(n, s.Attempt, now, emit, d)
		return true
	case PhaseWaiting:
		if now.Before(s.Due) {
			return false
		}
		emit(journal.Event{Kind: journal.TimerFired, Step: n.Name, Attempt: s.Attempt})
		emit(journal.Event{Kind: journal.StepSucceeded, Step: n.Name, Attempt: s.Attempt, Output: json.RawMessage(`null`)})
		return true
	case PhaseFailed:
		if !s.failedPending {
			return false
		}
		rs.afterFailure(n, s, now, emit)
		return true
	}
	return false
}

// schedule starts attempt of step n.
func (rs *RunState) schedule(n *workflow.Node, attempt int, now time.Time, emit func(journal.Event), d *Decision) {
	vars := rs.vars(attempt)
	input := rs.Input
	if o := rs.Steps[n.Name].override; len(o) > 0 {
		input = o // an operator's edit wins over the mapping
	} else if n.Input != "" {
		v, err := rs.Def.Eval(n.Name, "input", vars)
		if err == nil {
			input, err = json.Marshal(v)
		}
		if err != nil {
			rs.failDefinition(n, attempt, err, emit)
			return
		}
	}
	emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input})
	switch n.StepType() {
	case workflow.TypeTask:
		s := rs.Steps[n.Name]
		d.Start = append(d.Start, rs.invocation(n, s))
	case workflow.TypePass:
		if n.Error != "" {
			v, err := rs.Def.Eval(n.Name, "error", vars)
			if err != nil {
				rs.failDefinition(n, attempt, err, emit)
				return
			}
			if msg, _ := v.(string); msg != "" {
				emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: attempt,
					Error: &journal.Error{Message: msg, Kind: "pass", Terminal: n.Terminal}})
				return
			}
		}
		out := json.RawMessage(`null`)
		if n.Output != "" {
			v, err := rs.Def.Eval(n.Name, "output", vars)
			if err == nil {
				out, err = json.Marshal(v)
			}
			if err != nil {
				rs.failDefinition(n, attempt, err, emit)
				return
			}
		}
		emit(journal.Event{Kind: journal.StepSucceeded, Step: n.Name, Attempt: attempt, Output: out})
	case workflow.TypeFail:
		emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: attempt,
			Error: &journal.Error{Message: n.Message, Kind: "fail", Terminal: true}})
	case workflow.TypeWait:
		due := now.Add(n.Duration.D())
		if n.Until != "" {
			v, err := rs.Def.Eval(n.Name, "until", vars)
			var t time.Time
			if err == nil {
				t, err = asTime(v)
			}
			if err != nil {
				rs.failDefinition(n, attempt, err, emit)
				return
			}
			due = t
		}
		emit(journal.Event{Kind: journal.TimerStarted, Step: n.Name, Attempt: attempt, Due: due})
	}
}

func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case string:
		return time.Parse(time.RFC3339Nano, x)
	case time.Time:
		return x, nil
	}
	return time.Time{}, fmt.Errorf("until: %v is not an RFC 3339 timestamp", v)
}

// failDefinition records an expression that failed to evaluate: retrying
// cannot fix it, so the step fails terminally.
func (rs *RunState) failDefinition(n *workflow.Node, attempt int, err error, emit func(journal.Event)) {
	if rs.Steps[n.Name].Phase != PhaseRunning {
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt})
	}
	emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: attempt,
		Error: &journal.Error{Message: err.Error(), Kind: "expression", Terminal: true}})
}

// afterFailure retries a failed attempt or sends the run to review.
func (rs *RunState) afterFailure(n *workflow.Node, s *StepState, now time.Time, emit func(journal.Event)) {
	p := rs.Def.RetryPolicy(n)
	retryable := s.Error != nil && !s.Error.Terminal && !slices.Contains(p.NonRetryable, s.Error.Kind)
	tries := s.Attempt - s.base // attempts since the step was (re)submitted
	if retryable && tries < p.MaxAttempts {
		next := s.Attempt + 1
		emit(journal.Event{Kind: journal.RetryScheduled, Step: n.Name, Attempt: next,
			Due: now.Add(rs.backoff(n.Name, p, tries)), Error: s.Error})
		return
	}
	reason := fmt.Sprintf("step %s failed", n.Name)
	if s.Error != nil {
		reason += ": " + s.Error.Message
	}
	if retryable {
		reason = fmt.Sprintf("step %s failed after %d attempts: %s", n.Name, tries, s.Error.Message)
	}
	emit(journal.Event{Kind: journal.NeedsReview, Step: n.Name, Attempt: s.Attempt, Reason: reason, Error: s.Error})
}

// backoff is the delay after failed attempt n: the policy's exponential
// interval, with full jitter derived from the run, step and attempt.
func (rs *RunState) backoff(step string, p workflow.RetryPolicy, attempt int) time.Duration {
	d := float64(p.InitialInterval.D()) * math.Pow(p.BackoffCoefficient, float64(attempt-1))
	if max := float64(p.MaxInterval.D()); max > 0 && d > max {
		d = max
	}
	if p.Jitter {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%s/%s/%d", rs.DefHash, rs.Key, step, attempt)
		d *= float64(h.Sum64()%10000) / 10000
	}
	if d >= math.MaxInt64 {
		// Without a max interval the exponential outgrows time.Duration;
		// converting would wrap to a negative delay (an immediate retry).
		return math.MaxInt64
	}
	return time.Duration(d)
}

func (rs *RunState) invocation(n *workflow.Node, s *StepState) Invocation {
	return Invocation{Step: n.Name, Function: n.Function, Attempt: s.Attempt, Input: s.Input, Timeout: n.Timeout.D()}
}

func (rs *RunState) runOutput() (json.RawMessage, error) {
	if rs.Def.Output == "" {
		return rs.StateJSON(), nil
	}
	v, err := rs.Def.Eval("", "output", rs.vars(0))
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
