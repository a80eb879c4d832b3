package internal_test

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
	"github.com/ordoflow/ordo/workflows/order"
)

// collector is an OTLP/HTTP trace receiver: it decodes each export
// request (protobuf, as the SDK's exporter sends it) and keeps the spans
// with their resource's service name.
type collector struct {
	srv   *httptest.Server
	mu    sync.Mutex
	spans []span
}

type span struct {
	service    string
	name       string
	trace      string
	id, parent string
	attrs      map[string]string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(c.export))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) export(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, fmt.Sprintf("want POST /v1/traces application/x-protobuf, got %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type")), http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = z
	}
	raw, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(raw, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		service := attrString(rs.GetResource().GetAttributes(), "service.name")
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans = append(c.spans, spanOf(service, s))
			}
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func spanOf(service string, s *tracepb.Span) span {
	attrs := map[string]string{}
	for _, a := range s.Attributes {
		v := a.GetValue()
		if v.GetStringValue() != "" {
			attrs[a.Key] = v.GetStringValue()
		} else {
			attrs[a.Key] = fmt.Sprint(v.GetIntValue())
		}
	}
	return span{service: service, name: s.Name, trace: hex.EncodeToString(s.TraceId), id: hex.EncodeToString(s.SpanId),
		parent: hex.EncodeToString(s.ParentSpanId), attrs: attrs}
}

func attrString(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

func (c *collector) received() []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]span(nil), c.spans...)
}

// TestTracesReachACollectorOverOTLP runs one order through the Lambdas'
// wiring (orchestrator and effects containers, steps behind the Lambda
// Invoke API) with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector: it
// receives the trigger's and every commit's span, one span per step
// attempt and per effect delivery, all in the run's trace, and a span the
// verify step starts from its own context (restored from the traceparent
// in its request) under its attempt's span.
func TestTracesReachACollectorOverOTLP(t *testing.T) {
	ctx := context.Background()
	col := newCollector(t)
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": col.srv.URL, "OTEL_SERVICE_NAME": "ordo-orchestrator"}
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
	run := waitSettled(t, store, "order")
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
	traceID := observe.RunTrace(run).TraceID().String()
	var spans []span
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans = col.received()
		got := map[string]int{}
		for _, s := range spans {
			got[s.name]++
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
	triggers, stepSpans := 0, map[string]span{}
	for _, s := range spans {
		got[s.name]++
		if s.trace != traceID {
			t.Errorf("span %q is in trace %s, want the run's %s", s.name, s.trace, traceID)
		}
		if s.service != "ordo-orchestrator" {
			t.Errorf("span %q reported by service %q, want OTEL_SERVICE_NAME's ordo-orchestrator", s.name, s.service)
		}
		if strings.HasPrefix(s.name, "trigger ") {
			triggers++
		}
		if strings.HasPrefix(s.name, "step ") {
			stepSpans[s.id] = s
			if s.attrs["ordo.run"] != run || s.attrs["ordo.attempt"] == "" {
				t.Errorf("span %q: attributes %v, want the run and attempt", s.name, s.attrs)
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
	for _, s := range spans {
		if s.name == "verify's own work" && stepSpans[s.parent].name != "step verify" {
			t.Errorf("the step's own span has parent %s (%q), want its attempt's span", s.parent, stepSpans[s.parent].name)
		}
	}
}

// waitSettled waits for the only run of workflow to complete and returns
// its id.
func waitSettled(t *testing.T, store journal.Store, workflow string) string {
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
