package internal

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/observe/otlp"
)

// Tracing returns the tracer provider a Lambda's spans go to and the func
// to call at the end of every invocation. When getenv (os.Getenv) names an
// OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: an ADOT collector layer's
// localhost:4318, or a collector of your own), spans are batched there and
// flushed before the invocation returns (a frozen container sends
// nothing), sampled by OTEL_TRACES_SAMPLER a whole run at a time. Else
// spans go to the global provider (no-op unless something sets one).
func Tracing(ctx context.Context, getenv func(string) string) (trace.TracerProvider, func(context.Context), error) {
	tp, err := otlp.New(ctx, getenv, otlp.WithSampler(observe.RunSampler), otlp.WithIDGenerator(observe.RunIDs()))
	if err != nil || tp == nil {
		return otel.GetTracerProvider(), func(context.Context) {}, err
	}
	return tp, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = tp.ForceFlush(ctx)
	}, nil
}
