package observe

import (
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// RunSampler decides a run's spans as one trace. Every process joins a run
// under RunTrace, a remote parent marked sampled, which a parent-based
// sampler would always follow; RunSampler hands the spans directly under
// that root to inner as roots instead. Since the run's trace id is derived
// from its id, a ratio sampler then keeps or drops a whole run, the same
// way in every process; spans below follow their parent as usual.
func RunSampler(inner sdktrace.Sampler) sdktrace.Sampler { return runSampler{inner} }

type runSampler struct{ inner sdktrace.Sampler }

func (s runSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	parent := trace.SpanContextFromContext(p.ParentContext)
	if parent.IsRemote() && isRunRoot(parent, p.Attributes) {
		p.ParentContext = trace.ContextWithSpanContext(p.ParentContext, trace.SpanContext{})
	}
	return s.inner.ShouldSample(p)
}

func (s runSampler) Description() string { return "RunSampler{" + s.inner.Description() + "}" }

// isRunRoot reports whether parent is the RunTrace of the run attrs name.
func isRunRoot(parent trace.SpanContext, attrs []attribute.KeyValue) bool {
	for _, a := range attrs {
		if a.Key == "ordo.run" {
			rt := RunTrace(a.Value.AsString())
			return parent.TraceID() == rt.TraceID() && parent.SpanID() == rt.SpanID()
		}
	}
	return false
}
