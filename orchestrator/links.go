package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Waker gets a run driven soon: the embedded runtime pokes its driver; in
// AWS a continuation message goes to the orchestrator's queue. The engine
// wakes child runs it starts, parents whose child finished, deferred runs
// whose turn came, and runs that received an event or a callback.
type Waker interface {
	Wake(ctx context.Context, run string) error
}

// WithWaker sets the Waker (default: none; the caller drives runs itself).
func WithWaker(w Waker) Option { return func(e *Engine) { e.waker = w } }

// ErrNotAwaited is returned when completing or heartbeating a callback
// token whose attempt no longer waits (finished, timed out, or retried).
var ErrNotAwaited = errors.New("orchestrator: callback token is void: its attempt is no longer awaited (finished, timed out or retried)")

func (e *Engine) wake(ctx context.Context, run string) {
	if e.waker == nil {
		return
	}
	if err := e.waker.Wake(ctx, run); err != nil {
		e.log.Warn("wake failed; the run waits for its next trigger", "run", run, "err", err)
	}
}

// startChild starts the child run of a sub step (a no-op if it exists) and
// gets it driven.
func (e *Engine) startChild(ctx context.Context, parent string, inv Invocation) error {
	def, ok := e.Workflow(inv.Workflow)
	if !ok {
		return fmt.Errorf("%w %q (sub step %s of %s)", ErrUnknownWorkflow, inv.Workflow, inv.Step, parent)
	}
	key := inv.Child[len(def.Name)+1:]
	st, err := e.Start(ctx, StartRequest{Workflow: def.Name, Input: inv.Input, Key: key, Trigger: parent,
		Parent: parent, ParentStep: inv.Step, ParentAttempt: inv.Attempt})
	if err != nil {
		return fmt.Errorf("start child %s of %s: %w", inv.Child, parent, err)
	}
	e.wake(ctx, st.Run)
	return nil
}

// settle does what a settled run owes others: a child reports to its
// parent, and a run holding a deferred key hands it to the next run. Both
// are idempotent, so a redelivered or resumed Drive repeats them safely.
func (e *Engine) settle(ctx context.Context, run string, rs *RunState) error {
	if !rs.Status.Terminal() {
		return nil // review or deferred: not over yet
	}
	if rs.Parent != "" {
		if err := e.notifyParent(ctx, run, rs); err != nil {
			return err
		}
	}
	if rs.Status == journal.StatusCancelled {
		// A cancelled parent cancels the children it still waits for.
		for i, s := range rs.steps {
			if rs.Def.Steps[i].StepType() == workflow.TypeSub && s.Phase == PhaseRunning && s.Child != "" {
				err := e.Cancel(ctx, s.Child, "parent "+run, "parent cancelled")
				if err != nil && !errors.Is(err, ErrFinished) && !errors.Is(err, journal.ErrNotFound) {
					return fmt.Errorf("cancel child %s of %s: %w", s.Child, run, err)
				}
			}
		}
	}
	if rs.Def.DeferredKey != "" {
		return e.release(ctx, run, rs)
	}
	return nil
}

func (e *Engine) notifyParent(ctx context.Context, run string, rs *RunState) error {
	ev := journal.Event{Kind: journal.SubRunCompleted, Step: rs.ParentStep, Attempt: rs.parentAttempt, Child: run,
		Output: rs.Output}
	if rs.Status != journal.StatusCompleted {
		ev.Output = nil
		ev.Error = &journal.Error{Message: fmt.Sprintf("child run %s %s: %s", run, rs.Status, rs.Reason),
			Kind: "child-" + string(rs.Status), Terminal: rs.Status == journal.StatusCancelled}
	}
	err := e.operate(ctx, rs.Parent, func(p *RunState) (journal.Event, journal.Status, error) {
		if !p.awaits(&journal.Event{Step: ev.Step, Attempt: ev.Attempt}) || p.Steps[ev.Step].Child != run {
			return journal.Event{}, "", errSkip // reported before, or the parent moved on
		}
		return ev, "", nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("report child %s to %s: %w", run, rs.Parent, err)
	}
	e.wake(ctx, rs.Parent)
	return nil
}

// errSkip tells operate that there is nothing to append.
var errSkip = errors.New("nothing to do")

// Signal delivers the external event name with payload to run; a step
// waiting for it (now or later) receives the payload as its output.
func (e *Engine) Signal(ctx context.Context, run, name string, payload json.RawMessage) error {
	if name == "" {
		return fmt.Errorf("%w: signal %s: an event needs a name", ErrBadInput, run)
	}
	if len(payload) > 0 && !json.Valid(payload) {
		return fmt.Errorf("%w: signal %s: payload is not JSON", ErrBadInput, run)
	}
	err := e.operate(ctx, run, func(rs *RunState) (journal.Event, journal.Status, error) {
		if rs.Status.Terminal() {
			return journal.Event{}, "", fmt.Errorf("signal %s: %w (status %s)", run, ErrFinished, rs.Status)
		}
		return journal.Event{Kind: journal.EventReceived, Name: name, Input: payload}, "", nil
	})
	if err != nil {
		return err
	}
	e.wake(ctx, run)
	return nil
}

// WithCallbackKeys sets the keys callback tokens are signed and verified
// with. Default: a random key of this engine's own, so tokens it hands out
// are void once it stops; deployments share a key (package callback).
func WithCallbackKeys(r *callback.Keyring) Option { return func(e *Engine) { e.callbacks = r } }

// ephemeralKeys is the default keyring: a random key no one else holds.
func ephemeralKeys() *callback.Keyring {
	k, err := callback.NewKey()
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	r, _ := callback.NewKeyring(k)
	return r
}

// callbackToken signs the token of an async invocation ("" otherwise).
func (e *Engine) callbackToken(run string, inv Invocation) string {
	if !inv.Async {
		return ""
	}
	return e.callbacks.Sign(callback.Claims{Run: run, Step: inv.Step, Attempt: inv.Attempt})
}

// verifyToken checks token's signature and returns what it names.
func (e *Engine) verifyToken(token string) (callback.Claims, error) {
	c, err := e.callbacks.Verify(token)
	if err != nil {
		return c, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return c, nil
}

// Complete finishes the async step attempt that token names with resp (a
// result, or an error that says whether it may be retried). The token must
// be signed with the engine's keys and its attempt still awaited. A
// completion brings the step's output (and state patch); effects it carries
// must be of kinds the step declares (its effects list), else the whole
// completion is refused: a token holder cannot make the platform send what
// the step never would.
func (e *Engine) Complete(ctx context.Context, token string, resp step.Response) error {
	c, err := e.verifyToken(token)
	if err != nil {
		return err
	}
	run, stepName, attempt := c.Run, c.Step, c.Attempt
	err = e.operate(ctx, run, func(rs *RunState) (journal.Event, journal.Status, error) {
		inv := Invocation{Step: stepName, Attempt: attempt}
		ev := resultEvent(run, attemptResult{inv: inv, resp: resp}, e.now())
		if !rs.awaits(&ev) {
			return journal.Event{}, "", fmt.Errorf("complete %s step %s attempt %d: %w", run, stepName, attempt, ErrNotAwaited)
		}
		if err := declaredEffects(rs.Def.Step(stepName), resp.Effects); err != nil {
			return journal.Event{}, "", fmt.Errorf("%w: complete %s step %s: %w", ErrBadInput, run, stepName, err)
		}
		return ev, "", nil
	})
	if err != nil {
		return err
	}
	e.wake(ctx, run)
	return nil
}

// declaredEffects refuses effects of kinds step n does not declare.
func declaredEffects(n *workflow.Node, effects []step.Effect) error {
	for i, ef := range effects {
		if n == nil || !slices.Contains(n.Effects, ef.Kind) {
			return fmt.Errorf("effect %d of kind %q is not declared by the step (effects: %v)", i+1, ef.Kind, n.Effects)
		}
	}
	return nil
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
		n := rs.Def.Step(stepName)
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
