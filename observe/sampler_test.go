package observe_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/observe"
)

// TestRunSamplerDecidesARunAsOne: under a parent-based ratio sampler the
// run's remote root (marked sampled) would keep every run; RunSampler
// makes the ratio apply per run, the same way for each of its spans.
func TestRunSamplerDecidesARunAsOne(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ratio float64
		want  int
	}{{"ratio 0 keeps no run", 0, 0}, {"ratio 1 keeps every run", 1, 40}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
				sdktrace.WithSampler(observe.RunSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(tc.ratio)))))
			tr := observe.NewTracer(tp)
			for i := range 20 {
				c := journal.Commit{Run: "w/" + string(rune('a'+i)), Workflow: "w"}
				tr.Committed(context.Background(), c, 1)
				tr.Committed(context.Background(), c, 2)
			}
			if got := len(rec.Ended()); got != tc.want {
				t.Errorf("%d spans kept, want %d", got, tc.want)
			}
		})
	}
	// Half the runs: each run is kept or dropped whole.
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithSampler(observe.RunSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.5)))))
	tr := observe.NewTracer(tp)
	for i := range 200 {
		c := journal.Commit{Run: "w/" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Workflow: "w"}
		tr.Committed(context.Background(), c, 1)
		tr.Committed(context.Background(), c, 2)
	}
	per := map[string]int{}
	for _, s := range rec.Ended() {
		per[s.SpanContext().TraceID().String()]++
	}
	for id, n := range per {
		if n != 2 {
			t.Errorf("trace %s: %d of its 2 spans kept", id, n)
		}
	}
	if len(per) < 60 || len(per) > 140 {
		t.Errorf("%d of 200 runs kept at ratio 0.5", len(per))
	}
}
