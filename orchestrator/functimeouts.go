package orchestrator

import (
	"context"
	"time"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// FunctionTimeouts reports how long a step function may run, where the
// deployment knows it: in AWS, the Lambda function's configured timeout.
// The engine then bounds an attempt of a step without a timeout of its own
// (and its lease, and so the wait for a lost result) by it instead of
// DefaultStepTimeout. A step's timeout in its definition always wins.
// Implementations cache: the engine asks on every cold load of a run.
type FunctionTimeouts interface {
	// FunctionTimeout returns function's timeout, or false when unknown.
	FunctionTimeout(ctx context.Context, function string) (time.Duration, bool)
}

// WithFunctionTimeouts makes the engine bound attempts of steps without a
// timeout by their function's configured timeout (see FunctionTimeouts).
func WithFunctionTimeouts(f FunctionTimeouts) Option {
	return func(e *Engine) { e.timeouts = f }
}

// functionTimeouts returns the configured timeouts of def's functions whose
// attempts they bound (those of steps without a timeout, async starts and
// compensations), or nil when the engine knows none.
func (e *Engine) functionTimeouts(ctx context.Context, def *workflow.Definition) map[string]time.Duration {
	if e.timeouts == nil {
		return nil
	}
	out := map[string]time.Duration{}
	ask := func(fn string) {
		if _, done := out[fn]; fn == "" || done {
			return
		}
		if d, ok := e.timeouts.FunctionTimeout(ctx, fn); ok && d > 0 {
			out[fn] = d
		}
	}
	for i := range def.Steps {
		n := &def.Steps[i]
		if n.StepType() != workflow.TypeTask && n.StepType() != workflow.TypeMap {
			continue
		}
		if n.Timeout <= 0 || n.Async {
			ask(n.Function)
			if n.Timeout <= 0 {
				ask(n.Compensate)
			}
		}
	}
	return out
}
