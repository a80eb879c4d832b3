package observe_test

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func TestARunIsOneTraceWithOrchestratorStepAndEffectSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(observe.RunIDs()))
	tr := observe.NewTracer(tp)

	reg := step.NewRegistry()
	traces := make(chan string, 1)
	reg.Register("pack", step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		// The step's own spans join the run's trace through the context
		// (in process) or req.Trace (across processes).
		_, own := tp.Tracer("test").Start(observe.Extract(context.Background(), req.Trace), "pack's own work")
		own.End()
		traces <- req.Trace
		return step.Result{Output: []byte(`1`), Effects: []step.Effect{{Kind: "log"}}}, nil
	}))
	reg.Register("send", step.Func(func(ctx context.Context, in any) (any, error) { return nil, nil }))
	def := workflow.New("ship", workflow.Key("input.id"),
		workflow.Step("pack", "pack"), workflow.Step("send", "send", workflow.After("pack")),
	).MustBuild(workflow.Functions(reg.Has))
	rt := embedded.New(observe.Wrap(memjournal.New(), tr), tr.Steps(reg))
	t.Cleanup(func() { rt.Close() })
	rt.Effects.Handle("log", tr.Effect(effect.HandlerFunc(func(context.Context, string, journal.Effect) error { return nil })))
	if err := rt.Engine.Register(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	st, err := rt.Start(context.Background(), orchestrator.StartRequest{Workflow: "ship", Input: []byte(`{"id":"t1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	drive(t, rt, `{"id":"t1"}`, journal.StatusCompleted)
	tp.ForceFlush(context.Background())

	want := observe.RunTrace(st.Run)
	names := map[string]int{}
	triggers := 0
	var packSpan trace.SpanContext
	for _, s := range rec.Ended() {
		if s.Name() == "step pack" {
			packSpan = s.SpanContext()
		}
	}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != want.TraceID() {
			t.Errorf("span %q is in trace %s, want the run's %s", s.Name(), s.SpanContext().TraceID(), want.TraceID())
		}
		names[s.Name()]++
		if strings.HasPrefix(s.Name(), "trigger") {
			triggers++
		}
		if s.Name() == "step pack" {
			if s.Parent().SpanID() != want.SpanID() {
				t.Errorf("step pack's parent is %s, want the run's root %s", s.Parent().SpanID(), want.SpanID())
			}
		}
		if s.Name() == "pack's own work" && s.Parent().SpanID() != packSpan.SpanID() {
			t.Errorf("the step's own span has parent %s, want its attempt's span", s.Parent().SpanID())
		}
	}
	if triggers != 1 || names["orchestrator.commit"] < 2 || names["step pack"] != 1 || names["step send"] != 1 || names["effect log"] != 1 || names["pack's own work"] != 1 {
		t.Errorf("spans by name: %v; want commits, one span per step, the effect and the step's own", names)
	}
	// The root every other span names as parent is exported, once, with
	// the ids RunTrace derives, and has no parent itself.
	roots := 0
	for _, s := range rec.Ended() {
		if s.Name() != "run ship" {
			continue
		}
		roots++
		if s.SpanContext().SpanID() != want.SpanID() || s.Parent().IsValid() {
			t.Errorf("root span %s (parent %v), want span id %s and no parent", s.SpanContext().SpanID(), s.Parent().SpanID(), want.SpanID())
		}
	}
	if roots != 1 {
		t.Errorf("%d root spans, want 1", roots)
	}
	if tp := <-traces; !strings.HasPrefix(tp, "00-"+want.TraceID().String()+"-") {
		t.Errorf("step.Request.Trace %q is not a traceparent of the run's trace", tp)
	}
}

// eventInvoker starts attempts without waiting and records their trace.
type eventInvoker struct{ traces []string }

func (*eventInvoker) Invoke(context.Context, step.Request) (step.Response, error) {
	return step.Response{}, nil
}

func (i *eventInvoker) InvokeEvent(_ context.Context, req step.Request) error {
	i.traces = append(i.traces, req.Trace)
	return nil
}

// The traced invoker starts attempts without waiting when the invoker it
// wraps can, each start a producer span whose traceparent the step gets;
// it does not claim to when the wrapped invoker cannot.
func TestTracedInvokerKeepsEventInvokes(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tr := observe.NewTracer(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	inner := &eventInvoker{}
	ei, ok := tr.Invoker(inner).(orchestrator.EventInvoker)
	if !ok {
		t.Fatal("the traced invoker of an EventInvoker is not one")
	}
	if err := ei.InvokeEvent(context.Background(), step.Request{Run: "w/r", Step: "s", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if len(inner.traces) != 1 || inner.traces[0] == "" || len(rec.Ended()) != 1 || rec.Ended()[0].SpanKind() != trace.SpanKindProducer {
		t.Fatalf("traces %q, spans %d", inner.traces, len(rec.Ended()))
	}
	sync := orchestrator.Invoker(invokerOnly{})
	if _, ok := tr.Invoker(sync).(orchestrator.EventInvoker); ok {
		t.Fatal("the traced invoker of a synchronous-only invoker claims event invokes")
	}
}

type invokerOnly struct{}

func (invokerOnly) Invoke(context.Context, step.Request) (step.Response, error) {
	return step.Response{}, nil
}

// Spans other than a run's root get random, distinct, valid ids from
// RunIDs, as from the SDK's default generator.
func TestRunIDsAreRandomElsewhere(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(observe.RunIDs()))
	seen := map[trace.SpanID]bool{}
	traces := map[trace.TraceID]bool{}
	for range 100 {
		_, s := tp.Tracer("test").Start(context.Background(), "x")
		s.End()
		sc := s.SpanContext()
		if !sc.IsValid() || seen[sc.SpanID()] || traces[sc.TraceID()] {
			t.Fatalf("span context %v: invalid or repeated", sc)
		}
		seen[sc.SpanID()], traces[sc.TraceID()] = true, true
	}
}
