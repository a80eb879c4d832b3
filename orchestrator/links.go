package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Receipt is what a command left to schedule: the runs that need a drive
// because of it. Commands never drive or wake a run themselves; the
// runtime that called them schedules Wake (the embedded runtime drives the
// runs in process; in AWS a continuation message goes to the
// orchestrator's queue).
type Receipt struct {
	// Wake lists the runs that need a drive, usually the one the command
	// changed; empty when nothing needs one.
	Wake []string
}

// NeedsDrive reports whether the command left run needing a drive.
func (r Receipt) NeedsDrive(run string) bool { return slices.Contains(r.Wake, run) }

func wakeOne(run string) Receipt { return Receipt{Wake: []string{run}} }

// ErrNotAwaited is returned when completing or heartbeating a callback
// token whose attempt no longer waits (finished, timed out, or retried).
var ErrNotAwaited = errors.New("orchestrator: callback token is void: its attempt is no longer awaited (finished, timed out or retried)")

// startChild starts the child run of a sub step (a no-op if it exists);
// the Started reports whether the child needs a drive.
func (e *Engine) startChild(ctx context.Context, parent string, inv Invocation) (Started, error) {
	def, ok := e.Workflow(inv.Workflow)
	if !ok {
		return Started{}, fmt.Errorf("%w %q (sub step %s of %s)", ErrUnknownWorkflow, inv.Workflow, inv.Step, parent)
	}
	key := inv.Child[len(def.Name)+1:]
	st, err := e.Start(ctx, StartRequest{Workflow: def.Name, Input: inv.Input, Key: key, Trigger: parent,
		Parent: parent, ParentStep: inv.Step, ParentAttempt: inv.Attempt})
	if err != nil {
		return Started{}, fmt.Errorf("start child %s of %s: %w", inv.Child, parent, err)
	}
	if !st.Created {
		st.Wake = nil // it exists: whoever created it scheduled it
	}
	return st, nil
}

// settle does what a settled run owes others: a child reports to its
// parent, and a run holding a deferred key hands it to the next run. Both
// are idempotent, so a redelivered or resumed Drive repeats them safely.
// It returns the runs that then need a drive.
func (e *Engine) settle(ctx context.Context, run string, rs *RunState) ([]string, error) {
	if !rs.status.Terminal() {
		return nil, nil // review or deferred: not over yet
	}
	var wake []string
	if rs.parent != "" {
		r, err := e.notifyParent(ctx, run, rs)
		if err != nil {
			return wake, err
		}
		wake = append(wake, r.Wake...)
	}
	if rs.status == journal.StatusCancelled {
		// A cancelled parent cancels the children it still waits for.
		for i, s := range rs.steps {
			if rs.def.Steps[i].StepType() == workflow.TypeSub && s.phase == PhaseRunning && s.child != "" {
				r, err := e.Cancel(ctx, s.child, "parent "+run, "parent cancelled")
				if err != nil && !errors.Is(err, ErrFinished) && !errors.Is(err, journal.ErrNotFound) {
					return wake, fmt.Errorf("cancel child %s of %s: %w", s.child, run, err)
				}
				wake = append(wake, r.Wake...)
			}
		}
	}
	if rs.def.DeferredKey != "" {
		r, err := e.release(ctx, run, rs)
		return append(wake, r.Wake...), err
	}
	return wake, nil
}

func (e *Engine) notifyParent(ctx context.Context, run string, rs *RunState) (Receipt, error) {
	ev := journal.Event{Kind: journal.SubRunCompleted, Step: rs.parentStep, Attempt: rs.parentAttempt, Child: run,
		Output: rs.output}
	if rs.status != journal.StatusCompleted {
		ev.Output = nil
		ev.Error = &journal.Error{Message: fmt.Sprintf("child run %s %s: %s", run, rs.status, rs.reason),
			Kind: step.KindChildPrefix + string(rs.status), Terminal: rs.status == journal.StatusCancelled}
	}
	err := e.operate(ctx, rs.parent, func(p *RunState) (journal.Event, journal.Status, error) {
		if !p.awaits(&journal.Event{Step: ev.Step, Attempt: ev.Attempt}) || p.byName[ev.Step].child != run {
			return journal.Event{}, "", errSkip // reported before, or the parent moved on
		}
		return ev, "", nil
	})
	if errors.Is(err, errSkip) {
		return Receipt{}, nil
	}
	if err != nil {
		return Receipt{}, fmt.Errorf("report child %s to %s: %w", run, rs.parent, err)
	}
	return wakeOne(rs.parent), nil
}

// errSkip tells operate that there is nothing to append.
var errSkip = errors.New("nothing to do")

// Signal delivers the external event name with payload to run; a step
// waiting for it (now or later) receives the payload as its output. The
// run then needs a drive (Receipt).
func (e *Engine) Signal(ctx context.Context, run, name string, payload json.RawMessage) (Receipt, error) {
	if name == "" {
		return Receipt{}, fmt.Errorf("%w: signal %s: an event needs a name", ErrBadInput, run)
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return Receipt{}, fmt.Errorf("%w: signal %s: payload is not JSON", ErrBadInput, run)
	}
	err := e.operate(ctx, run, func(rs *RunState) (journal.Event, journal.Status, error) {
		if rs.status.Terminal() {
			return journal.Event{}, "", fmt.Errorf("signal %s: %w (status %s)", run, ErrFinished, rs.status)
		}
		sealed, err := e.sealSignal(ctx, rs.def, name, payload)
		if err != nil {
			return journal.Event{}, "", fmt.Errorf("signal %s: %w", run, err)
		}
		return journal.Event{Kind: journal.EventReceived, Name: name, Input: sealed}, "", nil
	})
	if err != nil {
		return Receipt{}, err
	}
	return wakeOne(run), nil
}

// Complete finishes the async step attempt that token names with resp (a
// result, or an error that says whether it may be retried). The run then
// needs a drive (Receipt). The token must be signed with the engine's keys
// and its attempt still awaited. A completion brings the step's output
// only: one that carries a state patch is refused (ErrBadInput), and
// effects it carries must be of kinds the step declares (its effects
// list), else the whole completion is refused: a token holder cannot
// change the run's state or make the platform send what the step never
// would. The output's declared sensitive paths are sealed.
func (e *Engine) Complete(ctx context.Context, token string, resp step.Response) (Receipt, error) {
	c, err := e.verifyToken(token)
	if err != nil {
		return Receipt{}, err
	}
	run, stepName, attempt := c.Run, c.Step, c.Attempt
	if resp.Error == nil && len(resp.State) > 0 {
		return Receipt{}, fmt.Errorf("%w: complete %s step %s: a completion carries an output only, not a state patch", ErrBadInput, run, stepName)
	}
	err = e.operate(ctx, run, func(rs *RunState) (journal.Event, journal.Status, error) {
		inv := Invocation{Step: stepName, Attempt: attempt}
		probe := journal.Event{Step: stepName, Attempt: attempt}
		if !rs.awaits(&probe) {
			return journal.Event{}, "", fmt.Errorf("complete %s step %s attempt %d: %w", run, stepName, attempt, ErrNotAwaited)
		}
		if err := declaredEffects(rs.def.Step(stepName), resp.Effects); err != nil {
			return journal.Event{}, "", fmt.Errorf("%w: complete %s step %s: %w", ErrBadInput, run, stepName, err)
		}
		r := resp
		if r.Error == nil {
			var err error
			if r.Result, err = e.sealResult(ctx, rs.def, inv, r.Result, nil); err != nil {
				return journal.Event{}, "", fmt.Errorf("complete %s step %s: %w", run, stepName, err)
			}
		}
		return resultEvent(run, attemptResult{inv: inv, resp: r}, e.now()), "", nil
	})
	if err != nil {
		return Receipt{}, err
	}
	return wakeOne(run), nil
}

// Heartbeat extends the timeout of the async step attempt that token names
// by the step's Timeout from now.
func (e *Engine) Heartbeat(ctx context.Context, token string) error {
	c, err := e.verifyToken(token)
	if err != nil {
		return err
	}
	run, stepName, attempt := c.Run, c.Step, c.Attempt
	err = e.operate(ctx, run, func(rs *RunState) (journal.Event, journal.Status, error) {
		ev := journal.Event{Step: stepName, Attempt: attempt}
		if !rs.awaits(&ev) {
			return journal.Event{}, "", fmt.Errorf("heartbeat %s step %s attempt %d: %w", run, stepName, attempt, ErrNotAwaited)
		}
		n := rs.def.Step(stepName)
		if n.Timeout <= 0 {
			return journal.Event{}, "", errSkip
		}
		return journal.Event{Kind: journal.TimerStarted, Step: stepName, Attempt: attempt, Due: e.now().Add(n.Timeout.D())}, "", nil
	})
	if errors.Is(err, errSkip) {
		return nil // no timeout to extend
	}
	return err
}

// deferKey evaluates a run's deferred key; "" when the workflow has none.
func deferKey(def *workflow.Definition, input any) (string, error) {
	if def.DeferredKey == "" {
		return "", nil
	}
	v, err := def.Eval("", "deferredKey", workflow.Vars{Input: input})
	if err != nil {
		return "", fmt.Errorf("%w: deferred key: %w", ErrBadInput, err)
	}
	return workflow.KeyString(v), nil
}
