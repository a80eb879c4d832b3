package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"

	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/observe/otlp"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// traceTo makes the runtime Open starts trace every run (one OpenTelemetry
// trace per run: commits, step attempts, effects) into path as JSON, one
// span per line, and to an OpenTelemetry collector over OTLP/HTTP: the
// endpoint URL, else the one OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names (sampled as OTEL_TRACES_SAMPLER
// says). The returned func flushes the spans and closes the file.
func (g *Env) traceTo(ctx context.Context, path, endpoint string) (func(), error) {
	var opts []otlp.Option
	var f *os.File
	if path != "" {
		var err error
		if f, err = os.Create(path); err != nil {
			return nil, fmt.Errorf("--traces: %w", err)
		}
		exp, err := stdouttrace.New(stdouttrace.WithWriter(f))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("--traces: %w", err)
		}
		opts = append(opts, otlp.WithExporter(exp))
	}
	tp, err := otlp.New(ctx, os.Getenv, append(opts, otlp.WithEndpoint(endpoint), otlp.WithSampler(observe.RunSampler), otlp.WithIDGenerator(observe.RunIDs()))...)
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("--otlp: %w", err)
	}
	if tp == nil {
		return func() {}, nil
	}
	g.tracer = observe.NewTracer(tp)
	g.observers = append(g.observers, g.tracer)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		tp.Shutdown(ctx)
		if f != nil {
			f.Close()
		}
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
