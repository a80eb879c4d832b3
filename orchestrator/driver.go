package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Outcome is where Drive left a run.
type Outcome struct {
	Status journal.Status
	// WakeAt is when the run next needs driving (a retry, timer or lease
	// falls due, or undispatched effects are to be sent again); zero when
	// it waits for nothing time-based.
	WakeAt time.Time
	// Continue is true when Drive stopped because its deadline was near:
	// the run must be driven again at once (a continuation).
	Continue bool
	// Done is true when the run will make no more progress on its own
	// (see Decision.Done). WakeAt may still be set: its effects are not
	// all dispatched yet.
	Done bool
	// Effects lists the run's journaled effects without an outcome when
	// Drive returned (dispatched, or to be executed by a caller that runs
	// effects itself, like the embedded runtime).
	Effects []journal.Effect
	// Wake lists other runs this Drive left needing a drive: a child run
	// it started, a parent it reported to, the next run of a deferred key,
	// the children of a cancelled run. The runtime schedules them.
	Wake []string
}

// Drive advances run until it is done or in review, waits for something
// time-based (Outcome.WakeAt) or external, or ctx's deadline is near
// (Outcome.Continue). Every state change is journaled before the work it
// causes is sent. Drive invokes only the attempts its own decisions
// schedule: an attempt in flight belongs to the driver that scheduled it
// until its lease expires. Drive is safe to call concurrently for the same
// run, in one process or many: the journal's conditional appends arbitrate.
func (e *Engine) Drive(ctx context.Context, run string) (Outcome, error) {
	rs, cold, err := e.loadLazy(ctx, run)
	if err != nil {
		return Outcome{}, err
	}
	d := e.newDriver(ctx, run, rs, cold)
	defer d.close()
	_, ended, err := d.startOrInline(d.owed(), d.rs.wakeAt())
	switch {
	case err != nil:
		return Outcome{}, err
	case ended:
		return d.ended(), nil
	}
	return d.loop()
}

// owed returns the attempts Start scheduled in the run's first commit for
// this Drive to invoke (WithStartDecision), those still awaited: an event
// appended since (a reclaim) may have ended them. If the run stopped
// running meanwhile (a cancel), they are not invoked: each is recorded as
// failed, to be journaled with the next commit, as the driver that holds
// an attempt's lease may do for one it never invoked.
func (d *driver) owed() []Invocation {
	var invs []Invocation
	for _, inv := range d.e.cache.takeOwed(d.run) {
		ev := journal.Event{Step: inv.Step, Attempt: inv.Attempt, Index: inv.Index, Compensation: inv.Compensation}
		switch {
		case !d.rs.awaits(&ev):
		case d.rs.status != journal.StatusRunning:
			ev.Kind, ev.At = journal.StepFailed, d.e.now()
			ev.Error = &journal.Error{Kind: step.KindLease,
				Message: fmt.Sprintf("step %s attempt %d: not invoked: the run was %s before its first drive", inv.Step, inv.Attempt, d.rs.status)}
			_ = d.rs.Apply(&ev)
			d.pending = append(d.pending, ev)
		default:
			invs = append(invs, inv)
		}
	}
	return invs
}

// driver is one Drive of one run: the loop of decide, journal, dispatch,
// invoke and wait for results.
type driver struct {
	e   *Engine
	ctx context.Context
	run string
	rs  *RunState
	// cold is true while the state comes from the journal rather than this
	// engine's cache: child runs in flight are then made sure of once.
	cold bool

	results     chan attemptResult // made by the first start
	running     map[string]bool    // attempts this Drive invoked, by attemptKey
	steps       sync.WaitGroup
	stepCtx     context.Context
	cancelSteps context.CancelFunc
	stopInline  func() bool // see invokeInline

	pending []journal.Event // results and dispatch records not yet journaled
	// Effects are sent when Drive returns, or at least every effectsEvery
	// while it runs.
	queued  []journal.Effect
	sent    map[string]bool // effects sent (or being sent) by this Drive
	flushed time.Time

	// handOn fires when the deadline comes within the margin while Drive
	// waits for steps, so the caller still has time to continue the run.
	handOn     <-chan time.Time
	handOnStop func() bool
	late       bool // handOn fired

	wake []string

	// committed is a copy of the run's state as last journaled, kept by
	// DriveResults: when its commit conflicts (another process journaled
	// results of the same run first, as asynchronous results arriving in
	// several containers at once do), reload catches the copy up with the
	// commits since instead of loading the run again, which for a large
	// map running costs a decode of its whole snapshot per conflict.
	committed *RunState
}

// resultsBuffer bounds the results a Drive buffers before their goroutines
// wait to hand them over.
const resultsBuffer = 8

type attemptResult struct {
	inv  Invocation
	resp step.Response
	// started is true when the attempt was started without waiting (an
	// event invoke): its result comes later, through DriveResults.
	started bool
}

func (e *Engine) newDriver(ctx context.Context, run string, rs *RunState, cold bool) *driver {
	d := &driver{e: e, ctx: ctx, run: run, rs: rs, cold: cold, flushed: time.Now()}
	d.stepCtx, d.cancelSteps = context.WithCancel(context.WithoutCancel(ctx))
	if dl, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(dl) - e.margin)
		d.handOn, d.handOnStop = t.C, t.Stop
	}
	return d
}

// close stops the attempts still running (their results are lost with this
// Drive; their leases expire) and waits for their goroutines.
func (d *driver) close() {
	if d.handOnStop != nil {
		d.handOnStop()
	}
	if d.stopInline != nil {
		d.stopInline()
	}
	d.cancelSteps()
	d.steps.Wait()
}

func (d *driver) loop() (Outcome, error) {
	for {
		if d.late || d.e.nearDeadline(d.ctx) {
			// No new decision: what it scheduled could not be invoked in
			// time, and would wait for its lease to expire.
			return d.handOff()
		}
		now := d.e.now()
		dec, err := d.decide(now)
		if err != nil {
			return Outcome{}, err
		}
		retry, err := d.commit(now, dec)
		if err != nil {
			return Outcome{}, err
		}
		if retry {
			continue
		}
		d.queue(dec.Dispatch)
		if d.cold {
			d.cold = false
			if err := d.ensureChildren(dec.InFlight); err != nil {
				return Outcome{}, err
			}
		}
		if stop, out := d.stopping(dec); stop {
			if d.flush() {
				continue // journal the dispatch records, then stop
			}
			if dec.Done {
				if err := d.settle(); err != nil {
					return Outcome{}, err
				}
			}
			return d.outcome(out), nil
		}
		inlined, ended, err := d.startOrInline(dec.Start, dec.WakeAt)
		switch {
		case err != nil:
			return Outcome{}, err
		case ended:
			return d.ended(), nil
		case inlined:
			continue
		}
		if idle, out := d.idle(now, dec); idle {
			if d.flush() {
				continue
			}
			return d.outcome(out), nil
		}
		if d.waitFor(now, dec) {
			return d.ended(), nil
		}
	}
}

// ended is the outcome of a Drive whose ctx ended: results of attempts
// still running are lost with this Drive (their leases expire); rs may
// hold results not journaled, so it reports no effects from it.
func (d *driver) ended() Outcome {
	return Outcome{Status: d.rs.status, Continue: true, Wake: d.wake}
}

// commit journals the results gathered and the decision's events in one
// commit. retry is true when the commit conflicted (or had to shed an
// oversized result) and the loop must decide again.
func (d *driver) commit(now time.Time, dec Decision) (retry bool, err error) {
	events := append(d.pending, dec.Events...)
	if len(events) == 0 {
		return false, nil
	}
	seq, err := d.append(journal.Commit{Run: d.run, After: d.rs.seq, Events: events, Status: dec.Status, At: now})
	switch {
	case errors.Is(err, journal.ErrConflict):
		return true, d.reload()
	case errors.Is(err, journal.ErrTooLarge):
		return true, d.tooLarge(now, dec, err)
	case err != nil:
		return false, fmt.Errorf("drive %s: %w", d.run, err)
	}
	d.rs.seq = seq
	d.pending = nil
	d.e.snapshotAfter(d.ctx, d.run, d.rs, len(events))
	return false, nil
}

// commitRetries are the pauses before a Drive tries a failed commit again.
var commitRetries = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 250 * time.Millisecond}

// append appends c, trying again a few times when the journal fails it
// (not a conflict, not a size refusal). Trying again is safe: a failed
// append wrote nothing, so the retry writes it once, or it wrote it and
// lost the answer, so the retry conflicts and the reload finds it. Giving
// up would lose the results this Drive gathered, and their attempts would
// wait for their leases to expire to be invoked again.
func (d *driver) append(c journal.Commit) (int64, error) {
	for i := 0; ; i++ {
		seq, err := d.e.store.Append(d.ctx, c)
		if err == nil || errors.Is(err, journal.ErrConflict) || errors.Is(err, journal.ErrTooLarge) || i == len(commitRetries) {
			return seq, err
		}
		d.e.log.Warn("commit failed; trying again", "run", d.run, "after", c.After, "err", err)
		t := time.NewTimer(commitRetries[i])
		select {
		case <-t.C:
		case <-d.ctx.Done():
			t.Stop()
			return seq, err
		}
	}
}

// decide decides at now. A state with values still in snapshot parts
// decides on a copy first; when the decision needs them, they are loaded
// (or the run folded, when they cannot be) and it decides again.
func (d *driver) decide(now time.Time) (Decision, error) {
	for d.rs.hasLazy() {
		dec, n := d.rs.decideLazy(now)
		if n == 0 {
			return dec, nil
		}
		rs, err := d.e.resolveNeed(d.ctx, d.run, d.rs, n)
		if err != nil {
			return Decision{}, err
		}
		if rs != d.rs {
			d.rs = rs
			d.pending = rs.absorb(d.pending)
		}
		if n == needAll {
			break
		}
	}
	return d.rs.Decide(now), nil
}

// reload replaces the state with the journal's after another writer
// appended, keeping the results and dispatch records it still needs.
func (d *driver) reload() error {
	if base := d.committed; base != nil {
		d.committed = nil
		if d.e.catchUp(d.ctx, d.run, base) {
			d.committed = base.clone()
			d.rs = base
			d.pending = base.absorb(d.pending)
			return nil
		}
	}
	d.e.cache.drop(d.run)
	rs, _, err := d.e.load(d.ctx, d.run)
	if err != nil {
		return err
	}
	d.rs = rs
	d.pending = rs.absorb(d.pending)
	return nil
}

// tooLarge handles a commit the journal refused as too large. Results
// gathered and a decision taken on them are journaled apart: first the
// results alone (shedding the largest when they alone are too large), then
// the decision is taken again on its own. A decision too large on its own
// (a map's item list, the run's output, an event's payload passed on, an
// operator's input) cannot be journaled however often it is tried: the run
// goes to review saying what was too large.
func (d *driver) tooLarge(now time.Time, dec Decision, cause error) error {
	switch {
	case len(dec.Events) > 0 && len(d.pending) > 0:
		pending := d.pending
		d.pending = nil
		if err := d.reload(); err != nil {
			return err
		}
		d.pending = d.rs.absorb(pending)
		_, err := d.commit(now, Decision{})
		return err
	case len(dec.Events) > 0:
		return d.reviewTooLarge(now, dec, cause)
	}
	return d.shed(cause)
}

// reviewTooLarge sends the run to review in place of a decision the
// journal refused as too large on its own, naming its largest event.
func (d *driver) reviewTooLarge(now time.Time, dec Decision, cause error) error {
	big, size := 0, -1
	for i, ev := range dec.Events {
		if b, err := json.Marshal(ev); err == nil && len(b) > size {
			big, size = i, len(b)
		}
	}
	if err := d.reload(); err != nil {
		return err
	}
	what := d.rs.describe(&dec.Events[big])
	reason := fmt.Sprintf("%s (%d bytes) is too large for the journal: %v", what, size, cause)
	d.e.log.Warn("decision too large for the journal; the run goes to review", "run", d.run, "what", what, "bytes", size, "err", cause)
	ev := journal.Event{Kind: journal.NeedsReview, At: now, Step: dec.Events[big].Step, Attempt: dec.Events[big].Attempt,
		Reason: reason, Error: &journal.Error{Kind: step.KindTooLarge, Terminal: true, Message: reason}}
	seq, err := d.e.store.Append(d.ctx, journal.Commit{Run: d.run, After: d.rs.seq, Events: []journal.Event{ev},
		Status: journal.StatusReview, At: now})
	switch {
	case errors.Is(err, journal.ErrConflict):
		return d.reload() // decide again on what the other writer journaled
	case err != nil:
		return fmt.Errorf("drive %s: %w", d.run, err)
	}
	_ = d.rs.Apply(&ev)
	d.rs.seq = seq
	return nil
}

// describe names what an event of a decision carries, for a reason.
func (rs *RunState) describe(ev *journal.Event) string {
	s, ok := rs.byName[ev.Step]
	switch {
	case ev.Kind == journal.RunCompleted:
		return "the run's output"
	case !ok:
		return string(ev.Kind) + " event"
	case ev.Kind == journal.StepScheduled && ev.Index == 0 && rs.node(s).StepType() == workflow.TypeMap:
		return fmt.Sprintf("map step %s: its item list", ev.Step)
	case ev.Kind == journal.StepScheduled && ev.Index > 0:
		return fmt.Sprintf("step %s item %d: its input", ev.Step, ev.Index)
	case ev.Kind == journal.StepScheduled:
		return fmt.Sprintf("step %s: its input", ev.Step)
	case ev.Kind == journal.StepSucceeded && rs.node(s).StepType() == workflow.TypeEvent:
		return fmt.Sprintf("step %s: the payload of event %q", ev.Step, rs.node(s).Event)
	}
	return fmt.Sprintf("step %s: its %s event", ev.Step, ev.Kind)
}

// shed handles results the journal refused as too large on their own: the
// largest step result gathered is replaced by a terminal failure that says
// why, so the run goes to review instead of retrying the same commit
// forever.
func (d *driver) shed(cause error) error {
	big, size := -1, 0
	for i, ev := range d.pending {
		if ev.Kind != journal.StepSucceeded {
			continue
		}
		if b, err := json.Marshal(ev); err == nil && len(b) > size {
			big, size = i, len(b)
		}
	}
	if big < 0 {
		return fmt.Errorf("drive %s: %w", d.run, cause)
	}
	ev := d.pending[big]
	what := ev.Step
	if ev.Index > 0 {
		what = fmt.Sprintf("%s item %d", ev.Step, ev.Index)
	}
	d.e.log.Warn("step result too large for the journal; the step fails", "run", d.run, "step", what, "bytes", size, "err", cause)
	failed := journal.Event{Kind: journal.StepFailed, At: ev.At, Step: ev.Step, Attempt: ev.Attempt, Index: ev.Index,
		Compensation: ev.Compensation, Error: &journal.Error{Kind: step.KindTooLarge, Terminal: true,
			Message: fmt.Sprintf("step %s: its result (%d bytes) is too large for the journal: %v", what, size, cause)}}
	pending := slices.Clone(d.pending)
	pending[big] = failed
	// The state has applied the result and decided on it: start again from
	// the journal with the failure in its place.
	d.pending = nil
	if err := d.reload(); err != nil {
		return err
	}
	d.pending = d.rs.absorb(pending)
	return nil
}

// queue adds the effects the decision wants dispatched that this Drive has
// not sent yet.
func (d *driver) queue(effects []journal.Effect) {
	if d.e.dispatch == nil {
		return // the caller executes Outcome.Effects itself
	}
	if d.sent == nil {
		d.sent = map[string]bool{}
	}
	for _, ef := range effects {
		if !d.sent[ef.ID] {
			d.sent[ef.ID] = true
			d.queued = append(d.queued, ef)
		}
	}
	if time.Since(d.flushed) >= d.e.effectsEvery {
		d.flush()
	}
}

// flush sends the queued effects and records each one sent as
// EffectDispatched, to be journaled with the next commit. It reports
// whether it recorded any.
func (d *driver) flush() bool {
	d.flushed = time.Now()
	if len(d.queued) == 0 {
		return false
	}
	effects := d.queued
	d.queued = nil
	if err := d.e.dispatch.Dispatch(d.ctx, d.run, effects); err != nil {
		// They stay undispatched in the journal: the run's next decision
		// (a wake-up Decide asks for) sends them again.
		d.e.log.Warn("effects not dispatched; they are sent again later", "run", d.run, "effects", len(effects), "err", err)
		for _, ef := range effects {
			delete(d.sent, ef.ID)
		}
		return false
	}
	now := d.e.now()
	for _, ef := range effects {
		ev := journal.Event{Kind: journal.EffectDispatched, At: now, EffectID: ef.ID}
		_ = d.rs.Apply(&ev)
		d.pending = append(d.pending, ev)
	}
	return true
}

// ensureChildren starts the child runs of sub steps in flight (a no-op for
// those that exist): a driver may have stopped between journaling a sub
// step and starting its child.
func (d *driver) ensureChildren(inflight []Invocation) error {
	for _, inv := range inflight {
		if inv.Workflow != "" {
			if err := d.startChild(inv); err != nil {
				return err
			}
		}
	}
	return nil
}

// startChild starts the child run of a sub step (a no-op if it exists).
func (d *driver) startChild(inv Invocation) error {
	st, err := d.e.startChild(d.ctx, d.run, inv)
	if err != nil {
		return err
	}
	d.wake = append(d.wake, st.Wake...)
	return nil
}

// stopping reports whether the Drive ends after this decision: the run is
// settled.
func (d *driver) stopping(dec Decision) (bool, Outcome) {
	// Attempts this Drive started finish first, even when the run went to
	// review or ended meanwhile: their results are journaled (and
	// compensated if the run was cancelled). Returning would cancel them and
	// leave their leases live, so a resubmitted run would wait for the
	// leases to expire.
	if dec.Done && len(d.running) == 0 {
		return true, Outcome{Status: d.rs.status, Done: true, WakeAt: dec.WakeAt}
	}
	return false, Outcome{}
}

// handOff journals the results that are in and the effects sent, and hands
// the run on: the caller drives it again at once (a continuation). Attempts
// still running keep their leases; the next Drive waits for them.
func (d *driver) handOff() (Outcome, error) {
	for {
		retry, err := d.commit(d.e.now(), Decision{})
		if err != nil {
			return Outcome{}, err
		}
		if !retry && !d.flush() {
			return d.outcome(Outcome{Status: d.rs.status, Continue: true}), nil
		}
	}
}

// idle reports whether the Drive ends because nothing it started is running
// and the run waits: for something due later than the inline wait, or for
// an event, a callback, a child or another driver's attempt.
func (d *driver) idle(now time.Time, dec Decision) (bool, Outcome) {
	if len(d.running) > 0 {
		return false, Outcome{}
	}
	if !dec.WakeAt.IsZero() && dec.WakeAt.Sub(now) <= d.e.inline {
		return false, Outcome{}
	}
	return true, Outcome{Status: d.rs.status, WakeAt: dec.WakeAt}
}

// outcome completes out with the run's outstanding effects and the runs to
// wake, and keeps the state for the next Drive.
func (d *driver) outcome(out Outcome) Outcome {
	out.Effects = slices.Clone(d.rs.outstanding)
	out.Wake = d.wake
	d.e.cache.put(d.run, d.rs)
	return out
}

// settle does what a settled run owes others (see Engine.settle).
func (d *driver) settle() error {
	wake, err := d.e.settle(d.ctx, d.run, d.rs)
	d.wake = append(d.wake, wake...)
	return err
}

// start invokes the attempts the decision scheduled.
func (d *driver) start(invs []Invocation) error {
	if len(invs) == 0 {
		return nil
	}
	if d.results == nil {
		// A result waits in the buffer, or its goroutine waits to hand it
		// over (take drains what is ready); a buffer as large as the
		// attempts a run may have in flight would cost more to allocate
		// than a short chain's whole decision.
		d.results = make(chan attemptResult, min(len(d.rs.def.Steps), workflow.DefaultMaxConcurrency, resultsBuffer))
		d.running = map[string]bool{}
	}
	// The goroutines get values: rs itself is replaced on a reload.
	state, wf, def := d.rs.StateJSON(), d.rs.wfName, d.rs.def
	for _, inv := range invs {
		if inv.Workflow != "" {
			if err := d.startChild(inv); err != nil {
				return err
			}
			continue
		}
		key := attemptKey(inv)
		if d.running[key] {
			continue
		}
		d.running[key] = true
		d.steps.Add(1)
		go func() {
			defer d.steps.Done()
			var r attemptResult
			if ei, ok := d.e.eventInvoker(inv); ok {
				r = attemptResult{inv: inv, resp: d.e.invokeEvent(d.stepCtx, ei, wf, d.run, inv, state)}
				r.started = r.resp.Error == nil
			} else {
				r = attemptResult{inv: inv, resp: d.e.invoke(d.stepCtx, def, wf, d.run, inv, state)}
			}
			select {
			case d.results <- r:
			case <-d.stepCtx.Done():
			}
		}()
	}
	return nil
}

// waitFor waits for a result, the decision's wake-up or the hand-on time,
// and gathers the results that are in. It reports true when ctx ended.
func (d *driver) waitFor(now time.Time, dec Decision) (ended bool) {
	var wake <-chan time.Time
	if !dec.WakeAt.IsZero() {
		t := time.NewTimer(max(dec.WakeAt.Sub(now), 0))
		defer t.Stop()
		wake = t.C
	}
	select {
	case r := <-d.results:
		d.take(r)
	case <-wake:
	case <-d.handOn:
		// Journal what is in and hand the run on (at the top of the loop);
		// attempts still running keep their leases: the next Drive waits
		// for them to expire.
		d.late = true
		select {
		case r := <-d.results:
			d.take(r)
		default:
		}
	case <-d.ctx.Done():
		return true
	}
	return false
}

// take records the results that are in, r and any others ready.
func (d *driver) take(r attemptResult) {
	for {
		delete(d.running, attemptKey(r.inv))
		// An attempt started without waiting (an event invoke) has no
		// result yet: it comes through DriveResults.
		if !r.started {
			d.journalResult(r)
		}
		select {
		case r = <-d.results:
		default:
			return
		}
	}
}

// journalResult records the result of an attempt this Drive invoked.
func (d *driver) journalResult(r attemptResult) {
	ev := resultEvent(d.run, r, d.e.now())
	if r.inv.Async && r.resp.Error == nil {
		// An async step's invocation only hands it its token: it is
		// acknowledged (its start lease ends) and its result comes
		// later through Complete.
		ev = journal.Event{Kind: journal.StepStarted, At: ev.At, Step: r.inv.Step, Attempt: r.inv.Attempt}
	}
	// Journal a result only while its attempt awaits one: after a
	// reload another driver may have journaled it already, or its
	// lease expired.
	if d.rs.awaits(&ev) {
		_ = d.rs.Apply(&ev)
		d.pending = append(d.pending, ev)
	}
}

// absorb re-applies events gathered before a conflict to a reloaded state
// and returns those still needed: another writer may have recorded a result
// (or the attempt's lease expired), or a dispatch.
func (rs *RunState) absorb(pending []journal.Event) []journal.Event {
	var keep []journal.Event
	for i := range pending {
		ev := &pending[i]
		if ev.Kind == journal.EffectDispatched {
			if !rs.undispatchedHas(ev.EffectID) {
				continue
			}
		} else if !rs.awaits(ev) {
			continue
		}
		_ = rs.Apply(ev)
		keep = append(keep, *ev)
	}
	return keep
}

func (rs *RunState) undispatchedHas(id string) bool {
	return slices.ContainsFunc(rs.undispatched, func(p pendingEffect) bool { return p.effect.ID == id })
}

// awaits reports whether ev is the result an attempt in flight waits for.
func (rs *RunState) awaits(ev *journal.Event) bool {
	s, ok := rs.byName[ev.Step]
	switch {
	case !ok:
		return false
	case ev.Compensation:
		return rs.comp != nil && rs.comp.idx == s.idx && rs.comp.phase == PhaseRunning && rs.comp.attempt == ev.Attempt
	case ev.Index > 0:
		return s.phase == PhaseRunning && ev.Index <= len(s.items) &&
			s.items[ev.Index-1].phase == PhaseRunning && s.items[ev.Index-1].attempt == ev.Attempt
	}
	return s.phase == PhaseRunning && s.attempt == ev.Attempt
}

// attemptKey names an attempt among those a Drive has running.
func attemptKey(inv Invocation) string {
	k := inv.Step + "#" + strconv.Itoa(inv.Index) + "@" + strconv.Itoa(inv.Attempt)
	if inv.Compensation {
		k += "~"
	}
	return k
}

func (e *Engine) nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < e.margin
}

// invoke runs one attempt, bounded by its timeout, and turns a transport
// failure or the timeout into the attempt's failure. The step gets the
// sealed values of its input and state in clear; what it returns is sealed
// again before anyone journals or logs it.
func (e *Engine) invoke(ctx context.Context, def *workflow.Definition, wf, run string, inv Invocation, state json.RawMessage) step.Response {
	req := step.Request{Workflow: wf, Run: run, Step: inv.Step, Function: inv.Function,
		Attempt: inv.Attempt, IdempotencyKey: run + "/" + effectStep(inv), Input: inv.Input, State: state,
		Index: inv.Index, Token: e.callbackToken(run, inv), Compensation: inv.Compensation}
	clears, err := e.openRequest(ctx, &req)
	if err != nil {
		resp := keyFailure(inv.Step, err)
		e.log.Warn("step not invoked: its sensitive values do not open", "run", run, "step", inv.Step, "attempt", inv.Attempt, "err", resp.Error.Message)
		return resp
	}
	resp := e.call(ctx, inv, req)
	if f := resp.Error; f != nil {
		f.Message = sensitive.Scrub(f.Message, clears)
		e.log.Info("step failed", "run", run, "step", inv.Step, "attempt", inv.Attempt,
			"terminal", f.Terminal, "err", f.Message)
		return resp
	}
	if resp.Result, err = e.sealResult(ctx, def, inv, resp.Result, clears); err != nil {
		resp = keyFailure(inv.Step, err)
		e.log.Warn("step result not journaled: its sensitive values do not seal", "run", run, "step", inv.Step, "attempt", inv.Attempt, "err", resp.Error.Message)
	}
	return resp
}

// call invokes req, bounded by the attempt's timeout.
func (e *Engine) call(ctx context.Context, inv Invocation, req step.Request) step.Response {
	if inv.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, inv.Timeout)
		defer cancel()
	}
	start := time.Now()
	resp, err := e.invoker.Invoke(ctx, req)
	switch {
	// An in-process step reports its context's end as its own failure; a
	// remote one as a transport error. Either way the attempt timed out.
	case ctx.Err() != nil && (err != nil || resp.Error != nil && !resp.Error.Terminal):
		resp = step.Response{Error: &step.Failure{Message: fmt.Sprintf("step %s timed out after %s", inv.Step, time.Since(start).Round(time.Millisecond)), Kind: step.KindTimeout}}
	case err != nil:
		resp = step.Response{Error: &step.Failure{Message: err.Error(), Kind: step.KindInvoke}}
	}
	return resp
}

// request is the step request of attempt inv.
func (e *Engine) request(wf, run string, inv Invocation, state json.RawMessage) step.Request {
	return step.Request{Workflow: wf, Run: run, Step: inv.Step, Function: inv.Function,
		Attempt: inv.Attempt, IdempotencyKey: run + "/" + effectStep(inv), Input: inv.Input, State: state,
		Index: inv.Index, Token: e.callbackToken(run, inv), Compensation: inv.Compensation}
}

func resultEvent(run string, r attemptResult, now time.Time) journal.Event {
	if f := r.resp.Error; f != nil {
		return journal.Event{Kind: journal.StepFailed, At: now, Step: r.inv.Step, Attempt: r.inv.Attempt,
			Index: r.inv.Index, Compensation: r.inv.Compensation,
			Error: &journal.Error{Message: f.Message, Kind: f.Kind, Terminal: f.Terminal}}
	}
	return successEvent(run, r.inv, r.resp.Result, now)
}

// successEvent records a successful attempt; its effects get ids stable
// across redeliveries: run/step[#item|~]/attempt/n.
func successEvent(run string, inv Invocation, res step.Result, now time.Time) journal.Event {
	ev := journal.Event{Kind: journal.StepSucceeded, At: now, Step: inv.Step, Attempt: inv.Attempt,
		Index: inv.Index, Compensation: inv.Compensation, Output: res.Output, State: res.State}
	if len(ev.Output) == 0 {
		ev.Output = json.RawMessage(`null`)
	}
	for i, ef := range res.Effects {
		ev.Effects = append(ev.Effects, journal.Effect{
			ID:   run + "/" + effectStep(inv) + "/" + strconv.Itoa(inv.Attempt) + "/" + strconv.Itoa(i),
			Kind: ef.Kind, Target: ef.Target, Payload: ef.Payload})
	}
	return ev
}

func effectStep(inv Invocation) string {
	switch {
	case inv.Compensation:
		return inv.Step + "~"
	case inv.Index > 0:
		return inv.Step + "#" + strconv.Itoa(inv.Index)
	}
	return inv.Step
}
