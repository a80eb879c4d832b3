// Package steplambda runs a Go step function as an AWS Lambda: the
// function's main is one call.
//
//	func main() { steplambda.Start(step.Func(reserve)) }
//
// The Lambda receives a step.Request and answers a step.Response (the wire
// protocol of docs/steps.md). The step's own failures, panics included,
// travel in Response.Error, so terminal/retryable and the error's kind
// survive the Lambda boundary; the handler never returns a Lambda error,
// so a FunctionError means the process crashed (or timed out) and the
// orchestrator retries the attempt.
//
// Deploy the function in your own stack named "<platform stack>-<function>"
// (e.g. "ordo-concession-receive" for the function "concession-receive" of
// a platform deployed as stack "ordo"): the platform orchestrator's policy
// allows invoking every function so named, and its invoker calls exactly
// that name. See docs/deploy.md.
package steplambda

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/ordoflow/ordo/observe/otlp"

	"github.com/ordoflow/ordo/orchestrator/step"
)

// Handler is the typed Lambda handler of a step function: a step.Request in,
// a step.Response out; the error is always nil.
type Handler func(ctx context.Context, req step.Request) (step.Response, error)

// NewHandler adapts h to a Lambda handler. The context h gets carries the
// span that invoked the attempt (from req.Trace), so spans the step starts
// from it join the run's trace.
func NewHandler(h step.Handler) Handler {
	return func(ctx context.Context, req step.Request) (step.Response, error) {
		if req.Trace != "" {
			ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": req.Trace})
		}
		return step.Invoke(ctx, h, req), nil
	}
}

// Start runs h as this process's Lambda handler; it does not return. It
// first makes a JSON slog logger on stdout (CloudWatch Logs) at the level
// ORDO_LOG_LEVEL names (default info) the default logger, and logs one
// InvokedMessage line per invocation. When OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) names a collector, the global
// OpenTelemetry tracer provider sends the step's own spans there (flushed
// after each invocation), so otel.Tracer(...).Start(ctx, ...) in a step
// is all it takes to add spans to the run's trace.
func Start(h step.Handler) {
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: logLevel()})))
	flush := func(context.Context) {}
	if tp, err := otlp.New(context.Background(), os.Getenv); err != nil {
		slog.Error("traces: not exported", "err", err)
	} else if tp != nil {
		otel.SetTracerProvider(tp)
		flush = func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = tp.ForceFlush(ctx)
		}
	}
	handle := NewHandler(h)
	lambda.Start(func(ctx context.Context, req step.Request) (step.Response, error) {
		// One line per invocation: how often each attempt ran, in the logs.
		slog.InfoContext(ctx, InvokedMessage, "workflow", req.Workflow, "run", req.Run, "step", req.Step, "attempt", req.Attempt,
			"index", req.Index, "compensation", req.Compensation, "function", req.Function)
		defer flush(ctx)
		return handle(ctx, req)
	})
}

// InvokedMessage is the message of the line Start logs at each invocation
// (with the run, step, attempt, index, compensation and function).
const InvokedMessage = "step invoked"

// StartRegistered looks the function name up in a registry that register
// fills (e.g. a domain's Register) and Starts it: one binary per function
// of a domain that registers many. An unknown name is a wiring error (a
// Lambda deployed for a function its binary does not contain): it panics,
// which fails the Lambda's init with the message.
func StartRegistered(register func(*step.Registry), name string) {
	h, err := Lookup(register, name)
	if err != nil {
		panic(err)
	}
	Start(h)
}

// Lookup registers a domain's step functions in a fresh registry and
// returns the handler of the function name, or an error listing the
// registered names.
func Lookup(register func(*step.Registry), name string) (step.Handler, error) {
	reg := step.NewRegistry()
	register(reg)
	h, ok := reg.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("step function %q is not registered (have %v)", name, reg.Names())
	}
	return h, nil
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("ORDO_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
