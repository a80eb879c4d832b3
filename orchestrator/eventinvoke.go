package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// EventInvoker starts a step attempt without waiting for its result (in
// AWS, a Lambda invoke with InvocationType Event). When the engine's
// Invoker also implements it, Drive starts the attempts of steps in
// workflow.InvokeAsync mode through it and does not wait: the attempt's
// result comes back later through DriveResults (in AWS, a Lambda
// destination record on the orchestrator's queue). An invoker without it
// (the embedded runtime's in-process steps) runs every attempt
// synchronously.
type EventInvoker interface {
	// InvokeEvent hands req to the step's function and returns once the
	// platform has accepted it. An error means it was not accepted: the
	// attempt fails (kind step.KindInvoke) and its retry policy applies.
	InvokeEvent(ctx context.Context, req step.Request) error
}

// WithStepInvoke sets the invoke mode of steps whose definition sets none
// (workflow.InvokeSync, the default, or workflow.InvokeAsync): a
// deployment's default, as ORDO_STEP_INVOKE sets it for the orchestrator
// Lambda.
func WithStepInvoke(mode string) Option { return func(e *Engine) { e.stepInvoke = mode } }

// StepResult is the result of an attempt started without waiting
// (workflow.InvokeAsync), as it comes back to the engine: the attempt it
// answers and the step's response.
type StepResult struct {
	Step         string
	Attempt      int
	Index        int // the 1-based map item (0: the step itself)
	Compensation bool
	Response     step.Response
}

func (r StepResult) String() string {
	s := fmt.Sprintf("step %s attempt %d", r.Step, r.Attempt)
	if r.Index > 0 {
		s += fmt.Sprintf(" item %d", r.Index)
	}
	if r.Compensation {
		s += " (compensation)"
	}
	return s
}

// DriveResults journals results with the run's next decision, in one
// commit, and drives the run on as Drive does. A result is journaled only
// while its attempt awaits one (the attempt number must be the journaled
// attempt's, and no result recorded yet): a duplicate, or a late result of
// an attempt that ended (its lease expired and it was retried, or the run
// settled), is dropped and logged. A run that does not exist is
// journal.ErrNotFound.
func (e *Engine) DriveResults(ctx context.Context, run string, results ...StepResult) (Outcome, error) {
	rs, cold, err := e.loadCurrent(ctx, run)
	if err != nil {
		return Outcome{}, err
	}
	d := e.newDriver(ctx, run, rs, cold)
	defer d.close()
	d.committed = rs.clone()
	for _, r := range results {
		inv := Invocation{Step: r.Step, Attempt: r.Attempt, Index: r.Index, Compensation: r.Compensation}
		ev := resultEvent(run, attemptResult{inv: inv, resp: e.sealAsync(ctx, d.rs, inv, r.Response)}, e.now())
		if !d.rs.awaits(&ev) {
			e.log.Info("result for an attempt no longer awaited; dropped", "run", run, "result", r.String())
			continue
		}
		_ = d.rs.Apply(&ev)
		d.pending = append(d.pending, ev)
	}
	return d.loop()
}

// sealAsync seals what an asynchronous attempt returned, as invoke does
// for a synchronous one: the declared sensitive paths of its output and
// state patch, and any value equal to one the step got in clear (its
// journaled input and the run's state, opened again).
func (e *Engine) sealAsync(ctx context.Context, rs *RunState, inv Invocation, resp step.Response) step.Response {
	var clears []string
	if s, ok := rs.byName[inv.Step]; ok {
		_, c1, _ := sensitive.OpenAll(ctx, e.sealer, s.input, "input")
		_, c2, _ := sensitive.OpenAll(ctx, e.sealer, rs.StateJSON(), "state")
		clears = append(c1, c2...)
	}
	if f := resp.Error; f != nil {
		f.Message = sensitive.Scrub(f.Message, clears)
		return resp
	}
	res, err := e.sealResult(ctx, rs.def, inv, resp.Result, clears)
	if err != nil {
		return keyFailure(inv.Step, err)
	}
	return step.Response{Result: res}
}

// eventInvoker returns the invoker that starts inv without waiting, when
// inv's step is in async invoke mode (its own, else the engine's default)
// and the engine's invoker can.
func (e *Engine) eventInvoker(inv Invocation) (EventInvoker, bool) {
	if inv.Async || inv.Workflow != "" {
		return nil, false // a callback step's start hands out its token; a sub step starts a run
	}
	mode := inv.Invoke
	if mode == "" {
		mode = e.stepInvoke
	}
	if mode != workflow.InvokeAsync {
		return nil, false
	}
	ei, ok := e.invoker.(EventInvoker)
	return ei, ok
}

// invokeEvent starts one attempt without waiting for its result. The
// response is empty when the attempt was accepted, else the attempt's
// failure.
func (e *Engine) invokeEvent(ctx context.Context, ei EventInvoker, wf, run string, inv Invocation, state json.RawMessage) step.Response {
	if inv.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, inv.Timeout)
		defer cancel()
	}
	req := e.request(wf, run, inv, state)
	clears, err := e.openRequest(ctx, &req)
	if err != nil {
		resp := keyFailure(inv.Step, err)
		e.log.Warn("step not invoked: its sensitive values do not open", "run", run, "step", inv.Step, "attempt", inv.Attempt, "err", resp.Error.Message)
		return resp
	}
	if err := ei.InvokeEvent(ctx, req); err != nil {
		msg := sensitive.Scrub(err.Error(), clears)
		e.log.Info("step not started", "run", run, "step", inv.Step, "attempt", inv.Attempt, "err", msg)
		return step.Response{Error: &step.Failure{Message: msg, Kind: step.KindInvoke}}
	}
	return step.Response{}
}
