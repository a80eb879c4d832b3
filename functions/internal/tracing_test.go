package internal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/observe/otlp/otlptest"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
	"github.com/ordoflow/ordo/workflows/order"
)

// TestTracesReachACollectorOverOTLP runs one order through the Lambdas'
// wiring (orchestrator and effects containers, steps behind the Lambda
// Invoke API) with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector: it
// receives the trigger's and every commit's span, one span per step
// attempt and per effect delivery, all in the run's trace, and a span the
// verify step starts from its own context (restored from the traceparent
// in its request) under its attempt's span.
func TestTracesReachACollectorOverOTLP(t *testing.T) {
	ctx := context.Background()
	col := otlptest.NewReceiver()
	defer col.Close()
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.URL(), "OTEL_SERVICE_NAME": "ordo-orchestrator"}
	tp, flush, err := internal.Tracing(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	oms := step.NewRegistry()
	workflows.Register(oms)
	// The steps' registry: the OMS steps, verify starting a span of its own.
	reg := step.NewRegistry()
	for _, name := range oms.Names() {
		h, _ := oms.Lookup(name)
		if name == order.FnVerify {
			inner := h
			h = step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
				ctx, own := tp.Tracer("verify").Start(ctx, "verify's own work")
				defer own.End()
				return inner.Handle(ctx, req)
			})
		}
		reg.Register(name, h)
	}
	store := memjournal.New()
	ok := effect.HandlerFunc(func(context.Context, string, journal.Effect) error { return nil })
	stack, err := lambdatest.Start(lambdatest.Config{Store: store, Registry: reg, Drivers: 2,
		Tracer: observe.NewTracer(tp), Effects: map[string]effect.Handler{"email": ok, "publish": ok},
		Setup: func(ctx context.Context, e *orchestrator.Engine) error {
			_, err := workflows.Setup(ctx, e)
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer stack.Close()
	body, _ := json.Marshal(map[string]any{"workflow": "order", "input": workflows.SampleOrder(0)})
	if err := stack.Send(ctx, lambdatest.OrdersQueue, string(body)); err != nil {
		t.Fatal(err)
	}
	run := waitOnlyRun(t, store, "order")
	events := waitEffects(t, store, run)
	flush(ctx)

	want := map[string]int{}     // span name → how many
	kinds := map[string]string{} // effect id → kind
	for _, e := range events {
		switch {
		case e.Kind == journal.StepScheduled && !e.Compensation:
			want["step "+e.Step]++
		case e.Kind == journal.StepSucceeded:
			for _, x := range e.Effects {
				kinds[x.ID] = x.Kind
			}
		case e.Kind == journal.EffectSucceeded || e.Kind == journal.EffectFailed:
			want["effect "+kinds[e.EffectID]]++
		}
	}
	want["verify's own work"] = 1
	want["run order"] = 1
	traceID := observe.RunTrace(run).TraceID().String()
	var spans []otlptest.Span
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans = col.Spans()
		got := map[string]int{}
		for _, s := range spans {
			got[s.Name]++
		}
		complete := got["orchestrator.commit"] > 0
		for name, n := range want {
			complete = complete && got[name] >= n
		}
		if complete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector got spans %v; want at least %v and commits", got, want)
		}
		flush(ctx)
		time.Sleep(20 * time.Millisecond)
	}
	got := map[string]int{}
	triggers, stepSpans := 0, map[string]otlptest.Span{}
	for _, s := range spans {
		got[s.Name]++
		if s.TraceID != traceID {
			t.Errorf("span %q is in trace %s, want the run's %s", s.Name, s.TraceID, traceID)
		}
		if s.Service != "ordo-orchestrator" {
			t.Errorf("span %q reported by service %q, want OTEL_SERVICE_NAME's ordo-orchestrator", s.Name, s.Service)
		}
		if strings.HasPrefix(s.Name, "trigger ") {
			triggers++
		}
		if strings.HasPrefix(s.Name, "step ") {
			stepSpans[s.SpanID] = s
			if s.Attrs["ordo.run"] != run || s.Attrs["ordo.attempt"] == "" {
				t.Errorf("span %q: attributes %v, want the run and attempt", s.Name, s.Attrs)
			}
		}
	}
	if triggers != 1 {
		t.Errorf("%d trigger spans, want 1", triggers)
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%d spans %q, want %d (one per attempt or delivery journaled)", got[name], name, n)
		}
	}
	// Every span's parent arrived too: the run's root (with the ids
	// RunTrace derives) or another of its spans.
	ids := map[string]string{}
	for _, s := range spans {
		ids[s.SpanID] = s.Name
	}
	root := observe.RunTrace(run).SpanID().String()
	for _, s := range spans {
		if s.Name == "run order" && (s.SpanID != root || s.Parent != "") {
			t.Errorf("root span %s with parent %q, want %s and none", s.SpanID, s.Parent, root)
		}
		if _, ok := ids[s.Parent]; s.Parent != "" && !ok {
			t.Errorf("span %q names parent %s, which never arrived", s.Name, s.Parent)
		}
	}
	for _, s := range spans {
		if s.Name == "verify's own work" && stepSpans[s.Parent].Name != "step verify" {
			t.Errorf("the step's own span has parent %s (%q), want its attempt's span", s.Parent, stepSpans[s.Parent].Name)
		}
	}
}

// waitOnlyRun waits for the only run of workflow to complete and returns
// its id.
func waitOnlyRun(t *testing.T, store journal.Store, workflow string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs, _, err := store.Runs(context.Background(), journal.Query{Workflow: workflow})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].Status == journal.StatusCompleted {
			return runs[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs of %s: %+v, want one completed", workflow, runs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitEffects waits until every effect the run's steps emitted has an
// outcome journaled, and returns the run's events.
func waitEffects(t *testing.T, store journal.Store, run string) []journal.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, events, err := store.Load(context.Background(), run)
		if err != nil {
			t.Fatal(err)
		}
		emitted, done := 0, 0
		for _, e := range events {
			switch e.Kind {
			case journal.StepSucceeded:
				emitted += len(e.Effects)
			case journal.EffectSucceeded, journal.EffectFailed:
				done++
			}
		}
		if emitted > 0 && done >= emitted {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s: %d effects emitted, %d with an outcome", run, emitted, done)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
