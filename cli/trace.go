package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// traceTo makes the runtime Open starts trace every run (one OpenTelemetry
// trace per run: commits, step attempts, effects) into path as JSON, one
// span per line. The returned func flushes the spans and closes the file.
func (g *Env) traceTo(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--traces: %w", err)
	}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--traces: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	g.tracer = observe.NewTracer(tp)
	g.observers = append(g.observers, g.tracer)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tp.Shutdown(ctx)
		f.Close()
	}, nil
}

// traced returns reg with its steps traced, when tracing is on.
func (g *Env) traced(reg *step.Registry) *step.Registry {
	if g.tracer == nil {
		return reg
	}
	return g.tracer.Steps(reg)
}

// tracedEffect returns h traced, when tracing is on.
func (g *Env) tracedEffect(h effect.Handler) effect.Handler {
	if g.tracer == nil {
		return h
	}
	return g.tracer.Effect(h)
}
