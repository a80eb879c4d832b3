package internal

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/ordoflow/ordo/orchestrator/step"
)

// StepFunc is the typed Lambda handler of a step function: a step.Request
// in, a step.Response out. The step's own failures, panics included, travel
// in Response.Error so terminal/retryable survive the Lambda boundary; the
// handler never returns an error, so a FunctionError means the process
// crashed (or timed out) and the orchestrator retries the attempt.
type StepFunc func(ctx context.Context, req step.Request) (step.Response, error)

// StepHandler adapts h to a Lambda handler.
func StepHandler(h step.Handler) StepFunc {
	return func(ctx context.Context, req step.Request) (step.Response, error) {
		return step.Invoke(ctx, h, req), nil
	}
}

// LookupStep registers a domain's step functions (e.g. workflows.Register)
// in a fresh registry and returns the handler of the function name. An
// unknown name is a wiring error: a step Lambda deployed for a function its
// binary does not contain.
func LookupStep(register func(*step.Registry), name string) (step.Handler, error) {
	reg := step.NewRegistry()
	register(reg)
	h, ok := reg.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("step function %q is not registered (have %v)", name, reg.Names())
	}
	return h, nil
}

// JSONLogger returns a slog JSON logger on stdout (CloudWatch Logs) at
// level (see LogLevel) and makes it the default, so library code logging
// through slog.Default joins the same stream.
func JSONLogger(level slog.Level) *slog.Logger {
	log := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	return log
}
