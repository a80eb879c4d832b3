package orchestrator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Invocation is work the engine must start after the decision's commit: a
// task attempt (sync or async), a map item, a compensation, or a child run.
type Invocation struct {
	Step     string
	Function string
	Attempt  int
	Input    json.RawMessage
	// Timeout bounds the attempt (its step's timeout, or DefaultStepTimeout;
	// 0 for async steps and child runs, which finish by other means).
	Timeout time.Duration
	// Lease is when the attempt's result is due (its StepScheduled.Due):
	// until then no driver invokes it again (zero: no lease).
	Lease time.Time
	// Index is the 1-based map item (0: the step itself).
	Index int
	// Async steps finish by callback: the engine gives the function a
	// signed token and the run waits for Engine.Complete.
	Async bool
	// Compensation marks the undoing of a completed step.
	Compensation bool
	// Invoke is the step's invoke mode (workflow.InvokeSync or
	// workflow.InvokeAsync; empty: the engine's default, WithStepInvoke).
	Invoke string
	// Workflow, when set, asks for the child run Child of that workflow to
	// be started with Input (a sub step); Function is then empty.
	Workflow string
	Child    string
}

// Decision is what Decide wants done next.
type Decision struct {
	// Events to append, in order, as one commit.
	Events []journal.Event
	// Status is the run's new head status, or "" when it does not change.
	Status journal.Status
	// Start lists work scheduled by this decision: start it after the
	// commit succeeds.
	Start []Invocation
	// InFlight lists work scheduled by earlier decisions that has no result
	// yet. An engine never invokes it again: a live lease means another
	// driver (or an earlier one) owns it, and Decide fails an attempt whose
	// lease expired. Child runs are the exception: starting one again is a
	// no-op, so an engine resuming a run makes sure they exist.
	InFlight []Invocation
	// Dispatch lists journaled effects not yet dispatched (the outbox): the
	// engine sends them and journals EffectDispatched for each one sent.
	// While any remains, WakeAt asks for a decision that sends them again.
	Dispatch []journal.Effect
	// WakeAt is when a retry, timer, timeout or lease falls due, or when
	// undispatched effects are to be sent again (zero: none).
	WakeAt time.Time
	// Done is true once the run will make no more progress on its own:
	// completed, failed or cancelled (with its compensations done), waiting
	// in review for an operator, or deferred behind another run.
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

// Settled reports whether the run will make no more progress on its own.
func (rs *RunState) Settled() bool {
	switch {
	case rs.status == journal.StatusReview, rs.status == journal.StatusDeferred:
		return true
	case rs.compensating:
		return false
	}
	return rs.status.Terminal()
}

// Decide decides what happens next at time now and applies the decision's
// events to rs (so rs reflects the journal once they are appended). Its cost
// is proportional to what changed since the last decision, not to the
// length of the run or the size of the definition.
func (rs *RunState) Decide(now time.Time) (d Decision) {
	if !rs.started {
		return Decision{Done: true}
	}
	emit := func(e journal.Event) {
		e.At = now
		d.Events = append(d.Events, e)
		_ = rs.Apply(&d.Events[len(d.Events)-1]) // decider events are always valid
	}
	startStatus := rs.status
	defer func() {
		if rs.status != startStatus {
			d.Status = rs.status
		}
		d.Done = rs.Settled()
		if !d.Done {
			rs.collect(&d)
		}
		rs.collectDispatch(now, &d)
	}()
	if rs.status == journal.StatusReview || rs.status == journal.StatusDeferred {
		return d
	}
	if rs.compensating {
		rs.decideCompensation(now, emit, &d)
		return d
	}
	if rs.status.Terminal() {
		return d
	}
	if t := rs.def.Timeout.D(); t > 0 {
		if deadline := rs.clockFrom().Add(t); !now.Before(deadline) {
			emit(journal.Event{Kind: journal.NeedsReview, Reason: fmt.Sprintf("run timed out after %s", t)})
			return d
		}
	}
	for f, due := range rs.timers {
		if f.step >= 0 && !now.Before(due) {
			rs.dirty[f.step] = true
		}
	}
	for f, due := range rs.leases {
		if f.step >= 0 && !now.Before(due) {
			rs.dirty[f.step] = true
		}
	}
	// Passes in definition order, like a scan of every step, but visiting
	// only dirty ones: a step dirtied by an earlier step of the same pass
	// joins it, one dirtied by a later step waits for the next pass. Steps
	// dirty but not ready are no-ops, so the decision is the same whatever
	// extra steps a fold left dirty: incremental and from-scratch agree.
	for len(rs.dirty) > 0 && rs.status == journal.StatusRunning {
		pass := rs.sortedDirty()
		for k := 0; k < len(pass) && rs.status == journal.StatusRunning; k++ {
			i := pass[k]
			rs.decideStep(i, now, emit, &d)
			for j := range rs.dirty {
				if j > i {
					delete(rs.dirty, j)
					if at, found := slices.BinarySearch(pass[k+1:], j); !found {
						pass = slices.Insert(pass, k+1+at, j)
					}
				}
			}
		}
	}
	if rs.compensating {
		rs.decideCompensation(now, emit, &d)
		return d
	}
	if rs.status == journal.StatusRunning && rs.remaining == 0 {
		out, err := rs.runOutput()
		if err != nil {
			emit(journal.Event{Kind: journal.NeedsReview, Reason: "run output: " + err.Error()})
			return d
		}
		emit(journal.Event{Kind: journal.RunCompleted, Output: out})
	}
	return d
}

// collect fills the decision's InFlight and WakeAt from the state.
func (rs *RunState) collect(d *Decision) {
	started := make(map[flight]bool, len(d.Start))
	for _, inv := range d.Start {
		started[rs.flightOf(inv)] = true
	}
	running := rs.status == journal.StatusRunning
	var flights []flight
	for f := range rs.inflight {
		if running && !started[f] {
			flights = append(flights, f)
		}
	}
	slices.SortFunc(flights, func(a, b flight) int {
		if a.step != b.step {
			return a.step - b.step
		}
		return a.item - b.item
	})
	for _, f := range flights {
		if inv, ok := rs.inflightInvocation(f); ok {
			d.InFlight = append(d.InFlight, inv)
		}
	}
	if c := rs.comp; rs.compensating && c != nil && c.phase == PhaseRunning {
		if inv := rs.compInvocation(c); !slices.ContainsFunc(d.Start, func(x Invocation) bool { return x.Compensation }) {
			d.InFlight = append(d.InFlight, inv)
		}
	}
	if w := rs.wakeAt(); !w.IsZero() && (d.WakeAt.IsZero() || w.Before(d.WakeAt)) {
		d.WakeAt = w
	}
}

// wakeAt is when the run next needs a decision for something time-based:
// a retry or timer, a lease or the run's timeout (zero: nothing).
func (rs *RunState) wakeAt() time.Time {
	var at time.Time
	running := rs.status == journal.StatusRunning
	for f, due := range rs.timers {
		if (running || f.step < 0) && (at.IsZero() || due.Before(at)) {
			at = due
		}
	}
	for f, due := range rs.leases {
		if (running || f == compFlight && rs.compensating) && (at.IsZero() || due.Before(at)) {
			at = due
		}
	}
	if t := rs.def.Timeout.D(); t > 0 && running {
		if deadline := rs.clockFrom().Add(t); at.IsZero() || deadline.Before(at) {
			at = deadline
		}
	}
	return at
}

func (rs *RunState) flightOf(inv Invocation) flight {
	if inv.Compensation {
		return flight{-1, -1}
	}
	return flight{rs.byName[inv.Step].idx, inv.Index}
}

// inflightInvocation rebuilds the invocation of an attempt in flight.
func (rs *RunState) inflightInvocation(f flight) (Invocation, bool) {
	s, n := rs.steps[f.step], &rs.def.Steps[f.step]
	if f.item > 0 {
		it := s.items[f.item-1]
		return rs.itemInvocation(n, f.item, it.attempt, it.input, rs.leases[f]), true
	}
	switch n.StepType() {
	case workflow.TypeTask:
		return rs.invocation(n, s), true
	case workflow.TypeSub:
		return Invocation{Step: n.Name, Attempt: s.attempt, Input: rs.stepInput(s), Workflow: n.Workflow, Child: s.child}, true
	}
	return Invocation{}, false
}

// decideStep advances step i if it can.
func (rs *RunState) decideStep(i int, now time.Time, emit func(journal.Event), d *Decision) {
	s, n := rs.steps[i], &rs.def.Steps[i]
	switch s.phase {
	case PhasePending:
		for _, a := range n.After {
			if p := rs.byName[a].phase; p != PhaseSucceeded && p != PhaseSkipped {
				return
			}
		}
		if n.When != "" {
			ok, err := rs.def.Eval(n.Name, "when", rs.vars(s.attempt+1))
			if err != nil {
				rs.failDefinition(n, s.attempt+1, err, emit)
				return
			}
			if b, _ := ok.(bool); !b {
				emit(journal.Event{Kind: journal.StepSkipped, Step: n.Name, Reason: "when: " + n.When})
				return
			}
		}
		rs.schedule(n, s.attempt+1, now, emit, d)
	case PhaseRetrying:
		if !now.Before(s.due) {
			rs.schedule(n, s.attempt, now, emit, d)
		}
	case PhaseWaiting:
		if !now.Before(s.due) {
			emit(journal.Event{Kind: journal.TimerFired, Step: n.Name, Attempt: s.attempt})
			emit(journal.Event{Kind: journal.StepSucceeded, Step: n.Name, Attempt: s.attempt, Output: json.RawMessage(`null`)})
		}
	case PhaseRunning:
		switch n.StepType() {
		case workflow.TypeMap:
			rs.advanceMap(n, s, now, emit, d)
			return
		case workflow.TypeEvent:
			if payload, ok := rs.pendingSignal(n.Event); ok {
				if len(payload) == 0 {
					payload = json.RawMessage(`null`)
				}
				emit(journal.Event{Kind: journal.StepSucceeded, Step: n.Name, Attempt: s.attempt, Output: payload, Name: n.Event})
				return
			}
		}
		if due, ok := rs.leases[flight{i, 0}]; ok && !now.Before(due) {
			msg := leaseExpired(n.Name, rs.timeoutOf(n, n.Function), due)
			if n.Async {
				msg = fmt.Sprintf("step %s timed out: its start (the invocation that hands out its callback token) "+
					"did not come back within %s (its lease expired at %s)", n.Name, rs.timeoutOf(n, n.Function), due.UTC().Format(time.RFC3339))
			}
			emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: s.attempt,
				Error: &journal.Error{Message: msg, Kind: step.KindTimeout}})
			return
		}
		if due, ok := rs.timers[flight{i, 0}]; ok && !now.Before(due) {
			msg := fmt.Sprintf("step %s timed out after %s", n.Name, n.Timeout.D())
			if n.StepType() == workflow.TypeEvent {
				msg = fmt.Sprintf("step %s: event %q did not arrive within %s", n.Name, n.Event, n.Timeout.D())
			}
			emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: s.attempt,
				Error: &journal.Error{Message: msg, Kind: step.KindTimeout}})
		}
	case PhaseFailed:
		if s.failedPending {
			rs.afterFailure(n, s, now, emit)
		}
	}
}

// schedule starts attempt of step n.
func (rs *RunState) schedule(n *workflow.Node, attempt int, now time.Time, emit func(journal.Event), d *Decision) {
	// The expressions' variables, built only when one is evaluated: the
	// run's input and outputs are decoded on first use (rs.vars).
	var override any
	overridden := false
	varsOf := func() workflow.Vars {
		v := rs.vars(attempt)
		if overridden {
			v.Input = override
		}
		return v
	}
	input := rs.runInput()
	if o := rs.byName[n.Name].override; len(o) > 0 {
		input = o // an operator's edit wins over the mapping
		// and is the input the step's own expressions read.
		if v, err := workflow.DecodeJSON(o); err == nil {
			override, overridden = v, true
		}
	} else if n.Input != "" && n.StepType() != workflow.TypeMap {
		v, err := rs.def.Eval(n.Name, "input", varsOf())
		if err == nil {
			input, err = json.Marshal(v)
		}
		if err != nil {
			rs.failDefinition(n, attempt, err, emit)
			return
		}
	}
	switch n.StepType() {
	case workflow.TypeTask:
		// An async step's lease covers its start: the invocation that hands
		// out its callback token must come back (StepStarted) in time.
		ev := journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input,
			Due: now.Add(rs.timeoutOf(n, n.Function) + LeaseMargin)}
		emit(ev)
		s := rs.byName[n.Name]
		inv := rs.invocation(n, s)
		d.Start = append(d.Start, inv)
		if n.Async && n.Timeout > 0 {
			emit(journal.Event{Kind: journal.TimerStarted, Step: n.Name, Attempt: attempt, Due: now.Add(n.Timeout.D())})
		}
	case workflow.TypeMap:
		v, err := rs.def.Eval(n.Name, "items", varsOf())
		var list []any
		if err == nil {
			var ok bool
			if list, ok = v.([]any); !ok && v != nil {
				err = fmt.Errorf("items is %T, want a list", v)
			}
		}
		if err != nil {
			rs.failDefinition(n, attempt, err, emit)
			return
		}
		items, _ := json.Marshal(orEmpty(list))
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: items})
		rs.advanceMap(n, rs.byName[n.Name], now, emit, d)
	case workflow.TypeSub:
		child := RunID(n.Workflow, RunID(rs.wfName, rs.key)+"/"+n.Name+"/"+strconv.Itoa(attempt))
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input})
		emit(journal.Event{Kind: journal.SubRunStarted, Step: n.Name, Attempt: attempt, Child: child, Name: n.Workflow})
		d.Start = append(d.Start, Invocation{Step: n.Name, Attempt: attempt, Input: input, Workflow: n.Workflow, Child: child})
	case workflow.TypeEvent:
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input, Name: n.Event})
		if n.Timeout > 0 {
			emit(journal.Event{Kind: journal.TimerStarted, Step: n.Name, Attempt: attempt, Due: now.Add(n.Timeout.D())})
		}
		rs.decideStep(rs.byName[n.Name].idx, now, emit, d) // an event that arrived early
	case workflow.TypePass:
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input})
		if n.Error != "" {
			v, err := rs.def.Eval(n.Name, "error", varsOf())
			if err != nil {
				rs.failDefinition(n, attempt, err, emit)
				return
			}
			if msg, _ := v.(string); msg != "" {
				emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: attempt,
					Error: &journal.Error{Message: msg, Kind: step.KindPass, Terminal: n.Terminal}})
				return
			}
		}
		out := json.RawMessage(`null`)
		if n.Output != "" {
			v, err := rs.def.Eval(n.Name, "output", varsOf())
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
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input})
		emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: attempt,
			Error: &journal.Error{Message: n.Message, Kind: step.KindFail, Terminal: true}})
	case workflow.TypeWait:
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input})
		due := now.Add(n.Duration.D())
		if n.Until != "" {
			v, err := rs.def.Eval(n.Name, "until", varsOf())
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

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

// advanceMap decides a running map step: retries or gives up failed items,
// fails the step past its tolerance, starts items up to the concurrency
// bound, and completes the step when every item is done.
func (rs *RunState) advanceMap(n *workflow.Node, s *stepState, now time.Time, emit func(journal.Event), d *Decision) {
	var expired []int
	for f, due := range rs.leases {
		if f.step == s.idx && f.item > 0 && !now.Before(due) {
			expired = append(expired, f.item)
		}
	}
	slices.Sort(expired)
	for _, idx := range expired {
		emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Index: idx, Attempt: s.items[idx-1].attempt,
			Error: &journal.Error{Message: leaseExpired(fmt.Sprintf("%s item %d", n.Name, idx), rs.timeoutOf(n, n.Function),
				rs.leases[flight{s.idx, idx}]), Kind: step.KindTimeout}})
	}
	p := rs.def.RetryPolicy(n)
	for _, idx := range slices.Clone(s.itemFailed) {
		it := &s.items[idx-1]
		retryable := it.failure != nil && !it.failure.Terminal && !slices.Contains(p.NonRetryable, it.failure.Kind)
		tries := it.attempt - it.reclaims
		switch {
		case retryable && reclaimed(it.failure) && it.reclaims <= MaxReclaims:
			emit(journal.Event{Kind: journal.RetryScheduled, Step: n.Name, Index: idx, Attempt: it.attempt + 1,
				Due: now, Error: it.failure})
		case retryable && reclaimed(it.failure):
			fail := *it.failure
			fail.Message = reclaimLimit(fmt.Sprintf("%s item %d", n.Name, idx), it.reclaims, it.failure)
			emit(journal.Event{Kind: journal.ItemFailed, Step: n.Name, Index: idx, Attempt: it.attempt, Error: &fail})
		case retryable && tries < p.MaxAttempts:
			emit(journal.Event{Kind: journal.RetryScheduled, Step: n.Name, Index: idx, Attempt: it.attempt + 1,
				Due: now.Add(rs.backoff(n.Name+"#"+strconv.Itoa(idx), p, tries)), Error: it.failure})
		default:
			emit(journal.Event{Kind: journal.ItemFailed, Step: n.Name, Index: idx, Attempt: it.attempt, Error: it.failure})
		}
	}
	if total := len(s.items); s.failed > max(n.ToleratedFailures, int(n.ToleratedFailurePercent*float64(total)/100)) {
		last := ""
		for i := range s.items {
			if it := s.items[i]; it.phase == PhaseFailed && it.failure != nil {
				last = fmt.Sprintf("; item %d: %s", i+1, it.failure.Message)
			}
		}
		emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: s.attempt, Error: &journal.Error{
			Message: fmt.Sprintf("step %s: %d of %d items failed%s", n.Name, s.failed, total, last), Kind: step.KindMap, Terminal: true}})
		return
	}
	// Items whose retry is due.
	var due []int
	for f, t := range rs.timers {
		if f.step == s.idx && f.item > 0 && !now.Before(t) {
			due = append(due, f.item)
		}
	}
	slices.Sort(due)
	for _, idx := range due {
		it := s.items[idx-1]
		lease := now.Add(rs.timeoutOf(n, n.Function) + LeaseMargin)
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Index: idx, Attempt: it.attempt, Input: it.input, Due: lease})
		d.Start = append(d.Start, rs.itemInvocation(n, idx, it.attempt, it.input, lease))
	}
	limit := n.MaxConcurrency
	if limit <= 0 {
		limit = workflow.DefaultMaxConcurrency
	}
	for s.busy < limit && s.next < len(s.items) {
		idx := s.next + 1
		input := s.items[s.next].input
		if n.Input != "" {
			item, _ := workflow.DecodeJSON(input)
			vars := rs.vars(1)
			vars.Item, vars.Index = item, s.next
			v, err := rs.def.Eval(n.Name, "input", vars)
			if err == nil {
				input, err = json.Marshal(v)
			}
			if err != nil {
				emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: s.attempt,
					Error: &journal.Error{Message: fmt.Sprintf("item %d: %v", idx, err), Kind: step.KindExpression, Terminal: true}})
				return
			}
		}
		lease := now.Add(rs.timeoutOf(n, n.Function) + LeaseMargin)
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Index: idx, Attempt: 1, Input: input, Due: lease})
		d.Start = append(d.Start, rs.itemInvocation(n, idx, 1, input, lease))
	}
	if s.done == len(s.items) {
		emit(journal.Event{Kind: journal.StepSucceeded, Step: n.Name, Attempt: s.attempt})
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
	if rs.byName[n.Name].phase != PhaseRunning {
		emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt})
	}
	emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: attempt,
		Error: &journal.Error{Message: err.Error(), Kind: step.KindExpression, Terminal: true}})
}

// afterFailure retries a failed attempt, or ends the step: the run goes to
// review, or (OnFailureCompensate) fails and undoes its completed steps.
func (rs *RunState) afterFailure(n *workflow.Node, s *stepState, now time.Time, emit func(journal.Event)) {
	p := rs.def.RetryPolicy(n)
	retryable := s.failure != nil && !s.failure.Terminal && !slices.Contains(p.NonRetryable, s.failure.Kind)
	// Attempts since the step was (re)submitted, reclaims aside.
	tries := s.attempt - s.base - s.reclaims
	var reason string
	switch {
	case retryable && reclaimed(s.failure) && s.reclaims <= MaxReclaims:
		// Its process stopped: not the step's failure, retried at once.
		emit(journal.Event{Kind: journal.RetryScheduled, Step: n.Name, Attempt: s.attempt + 1, Due: now, Error: s.failure})
		return
	case retryable && reclaimed(s.failure):
		reason = reclaimLimit(n.Name, s.reclaims, s.failure)
	case retryable && tries < p.MaxAttempts:
		emit(journal.Event{Kind: journal.RetryScheduled, Step: n.Name, Attempt: s.attempt + 1,
			Due: now.Add(rs.backoff(n.Name, p, tries)), Error: s.failure})
		return
	case retryable:
		reason = fmt.Sprintf("step %s failed after %d attempts: %s", n.Name, tries, s.failure.Message)
	default:
		reason = fmt.Sprintf("step %s failed", n.Name)
		if s.failure != nil {
			reason += ": " + s.failure.Message
		}
	}
	if rs.def.OnFailure == workflow.OnFailureCompensate {
		s.failedPending = false
		emit(journal.Event{Kind: journal.RunFailed, Step: n.Name, Attempt: s.attempt, Reason: reason,
			Error: &journal.Error{Message: reason, Kind: errKind(s.failure), Terminal: true}})
		return
	}
	emit(journal.Event{Kind: journal.NeedsReview, Step: n.Name, Attempt: s.attempt, Reason: reason, Error: s.failure})
}

// reclaimLimit explains a step sent to review because its attempts were
// reclaimed more than MaxReclaims times.
func reclaimLimit(what string, reclaims int, last *journal.Error) string {
	return fmt.Sprintf("step %s: %d attempts reclaimed after their process stopped (limit %d); "+
		"the last may have run, check before resubmitting: %s", what, reclaims, MaxReclaims, last.Message)
}

func errKind(e *journal.Error) string {
	if e == nil {
		return ""
	}
	return e.Kind
}

// awaitCompensable reports whether an attempt of a step that has a
// compensation is still in flight under a live lease: its success, coming
// after the compensations began, must be undone before the steps that
// succeeded earlier, so none starts until it ends. An attempt whose lease
// expired fails by timeout (its late result is then no longer awaited).
func (rs *RunState) awaitCompensable(now time.Time, emit func(journal.Event)) (wait bool) {
	for i := range rs.def.Steps {
		n, s := &rs.def.Steps[i], rs.steps[i]
		if n.Compensate == "" || s.phase != PhaseRunning {
			continue
		}
		due, ok := rs.leases[flight{i, 0}]
		switch {
		case !ok:
		case now.Before(due):
			wait = true
		default:
			emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: s.attempt,
				Error: &journal.Error{Message: leaseExpired(n.Name, rs.timeoutOf(n, n.Function), due), Kind: step.KindTimeout}})
		}
	}
	return wait
}

// decideCompensation undoes completed steps, newest first, one at a time.
func (rs *RunState) decideCompensation(now time.Time, emit func(journal.Event), d *Decision) {
	for rs.compensating && rs.status != journal.StatusReview {
		top := rs.compStack[len(rs.compStack)-1]
		n, s := &rs.def.Steps[top], rs.steps[top]
		c := rs.comp
		if c == nil && rs.awaitCompensable(now, emit) {
			return // a late success is undone first: it is the newest
		}
		if c == nil || c.phase == PhasePending || c.phase == PhaseRetrying && !now.Before(c.due) {
			attempt := 1
			if c != nil {
				attempt = c.attempt
				if c.phase == PhasePending {
					attempt++
				}
			}
			if s.lazy {
				rs.missed |= needPayloads
			}
			input, _ := json.Marshal(map[string]json.RawMessage{"input": orNull(rs.stepInput(s)), "output": orNull(s.output)})
			emit(journal.Event{Kind: journal.StepScheduled, Step: n.Name, Attempt: attempt, Input: input, Compensation: true,
				Due: now.Add(rs.timeoutOf(n, n.Compensate) + LeaseMargin)})
			d.Start = append(d.Start, rs.compInvocation(rs.comp))
			return
		}
		if due, ok := rs.leases[compFlight]; ok && c.phase == PhaseRunning && !now.Before(due) {
			emit(journal.Event{Kind: journal.StepFailed, Step: n.Name, Attempt: c.attempt, Compensation: true,
				Error: &journal.Error{Message: leaseExpired("compensation of "+n.Name, rs.timeoutOf(n, n.Compensate), due), Kind: step.KindTimeout}})
			continue
		}
		if c.phase != PhaseFailed || !c.failedPending {
			return // running, or waiting to retry
		}
		p := rs.def.RetryPolicy(n)
		tries := c.attempt - c.base - c.reclaims
		retryable := c.failure != nil && !c.failure.Terminal
		msg := "failed"
		if c.failure != nil {
			msg = c.failure.Message
		}
		switch {
		case retryable && reclaimed(c.failure) && c.reclaims <= MaxReclaims:
			emit(journal.Event{Kind: journal.RetryScheduled, Step: n.Name, Attempt: c.attempt + 1, Compensation: true,
				Due: now, Error: c.failure})
			return
		case retryable && reclaimed(c.failure):
			msg = reclaimLimit("compensation of "+n.Name, c.reclaims, c.failure)
		case retryable && tries < p.MaxAttempts:
			emit(journal.Event{Kind: journal.RetryScheduled, Step: n.Name, Attempt: c.attempt + 1, Compensation: true,
				Due: now.Add(rs.backoff(n.Name+"~", p, tries)), Error: c.failure})
			return
		}
		c.failedPending = false
		emit(journal.Event{Kind: journal.NeedsReview, Step: n.Name, Attempt: c.attempt, Error: c.failure,
			Reason: fmt.Sprintf("compensation of step %s failed: %s", n.Name, msg)})
		return
	}
}

func (rs *RunState) compInvocation(c *stepState) Invocation {
	n := &rs.def.Steps[c.idx]
	return Invocation{Step: n.Name, Function: n.Compensate, Attempt: c.attempt, Input: c.input,
		Timeout: rs.timeoutOf(n, n.Compensate), Lease: rs.leases[compFlight], Compensation: true, Invoke: n.Invoke}
}

func (rs *RunState) itemInvocation(n *workflow.Node, idx, attempt int, input json.RawMessage, lease time.Time) Invocation {
	return Invocation{Step: n.Name, Function: n.Function, Attempt: attempt, Input: input,
		Timeout: rs.timeoutOf(n, n.Function), Lease: lease, Index: idx, Invoke: n.Invoke}
}

// leaseExpired explains the failure of an attempt whose lease ran out.
func leaseExpired(what string, timeout time.Duration, lease time.Time) string {
	// timeout is the attempt's: its step's, its function's or the default.
	return fmt.Sprintf("step %s timed out: no result within %s (its lease expired at %s)",
		what, timeout, lease.UTC().Format(time.RFC3339))
}

// Outbox. An effect journaled and not yet dispatched is sent again by the
// next decision; the wake-up that brings that decision backs off with the
// effect's age: one second, then the age itself, at most a minute.
const (
	redispatchMin = time.Second
	redispatchMax = time.Minute
)

// collectDispatch fills the decision's Dispatch list and its wake-up for
// undispatched effects.
func (rs *RunState) collectDispatch(now time.Time, d *Decision) {
	if len(rs.undispatched) == 0 {
		return
	}
	oldest := rs.undispatched[0].at
	for _, p := range rs.undispatched {
		d.Dispatch = append(d.Dispatch, p.effect)
		if p.at.Before(oldest) {
			oldest = p.at
		}
	}
	due := now.Add(min(max(now.Sub(oldest), redispatchMin), redispatchMax))
	if d.WakeAt.IsZero() || due.Before(d.WakeAt) {
		d.WakeAt = due
	}
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage(`null`)
	}
	return b
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
		fmt.Fprintf(h, "%s/%s/%s/%d", rs.defHash, rs.key, step, attempt)
		d *= float64(h.Sum64()%10000) / 10000
	}
	if d >= math.MaxInt64 {
		// Without a max interval the exponential outgrows time.Duration;
		// converting would wrap to a negative delay (an immediate retry).
		return math.MaxInt64
	}
	return time.Duration(d)
}

func (rs *RunState) invocation(n *workflow.Node, s *stepState) Invocation {
	inv := Invocation{Step: n.Name, Function: n.Function, Attempt: s.attempt, Input: rs.stepInput(s),
		Timeout: rs.timeoutOf(n, n.Function), Lease: rs.leases[flight{s.idx, 0}], Invoke: n.Invoke}
	if n.Async {
		inv.Async = true
	}
	return inv
}

func (rs *RunState) runOutput() (json.RawMessage, error) {
	if rs.def.Output == "" {
		return rs.StateJSON(), nil
	}
	v, err := rs.def.Eval("", "output", rs.vars(0))
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}
