package observe

import (
	"context"
	"crypto/sha256"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// RunTrace is the span context every span of run descends from: its trace
// id and root span id are derived from the run id, so any process that
// handles the run joins the same trace without being told.
func RunTrace(run string) trace.SpanContext {
	sum := sha256.Sum256([]byte("ordo/run/" + run))
	var tid trace.TraceID
	var sid trace.SpanID
	copy(tid[:], sum[:16])
	copy(sid[:], sum[16:24])
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid,
		TraceFlags: trace.FlagsSampled, Remote: true})
}

// Tracer makes each run's trace: spans for the orchestrator's commits
// (as an Observer of a Store), for step attempts (Steps, Invoker) and for
// effects (Effect).
type Tracer struct{ t trace.Tracer }

// NewTracer returns a Tracer that starts spans with tp.
func NewTracer(tp trace.TracerProvider) *Tracer {
	return &Tracer{t: tp.Tracer("github.com/ordoflow/ordo/observe")}
}

// runContext is ctx under the run's trace, unless ctx already carries a
// span of that trace.
func runContext(ctx context.Context, run string) context.Context {
	rt := RunTrace(run)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.TraceID() == rt.TraceID() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, rt)
}

// Committed implements Observer: one span per commit ("trigger <id>" for
// the run's first, then "orchestrator.commit"), with the events' kinds as
// span events.
func (t *Tracer) Committed(ctx context.Context, c journal.Commit, seq int64) {
	if c.After == 0 && len(c.Events) > 0 && c.Events[0].Kind == journal.RunStarted {
		t.root(ctx, c)
	}
	ctx = runContext(ctx, c.Run)
	// The first commit is the trigger accepted: the run's start.
	name, attrs := "orchestrator.commit", []attribute.KeyValue{attribute.String("ordo.run", c.Run),
		attribute.String("ordo.workflow", Workflow(c)), attribute.Int64("ordo.seq", seq), attribute.String("ordo.status", string(c.Status))}
	if len(c.Events) > 0 && c.Events[0].Kind == journal.RunStarted {
		name = "trigger " + c.Events[0].Trigger
		attrs = append(attrs, attribute.String("ordo.trigger", c.Events[0].Trigger), attribute.String("ordo.parent", c.Events[0].Parent))
	}
	_, span := t.t.Start(ctx, strings.TrimSpace(name), trace.WithTimestamp(c.At), trace.WithAttributes(attrs...))
	for _, e := range c.Events {
		attrs := []attribute.KeyValue{}
		if e.Step != "" {
			attrs = append(attrs, attribute.String("ordo.step", e.Step), attribute.Int("ordo.attempt", e.Attempt))
		}
		if e.Index > 0 {
			attrs = append(attrs, attribute.Int("ordo.index", e.Index))
		}
		span.AddEvent(string(e.Kind), trace.WithAttributes(attrs...))
		if e.Error != nil {
			span.SetStatus(codes.Error, e.Error.Message)
		}
	}
	span.End()
}

// root emits the run's root span, "run <workflow>", with the ids
// RunTrace derives (given by RunIDs), when the run's first commit is
// appended. It marks the run's start and ends at once: a run may wait for
// days, longer than any process could hold a span open, and every later
// span of the run, in any process, names it as parent. A child run's root
// links to its parent run's root.
func (t *Tracer) root(ctx context.Context, c journal.Commit) {
	first := c.Events[0]
	opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithTimestamp(c.At), trace.WithAttributes(
		attribute.String("ordo.run", c.Run), attribute.String("ordo.workflow", Workflow(c)),
		attribute.String("ordo.trigger", first.Trigger), attribute.String("ordo.parent", first.Parent))}
	if first.Parent != "" {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: RunTrace(first.Parent)}))
	}
	_, span := t.t.Start(asRunRoot(ctx, c.Run), "run "+Workflow(c), opts...)
	span.End(trace.WithTimestamp(c.At))
}

// stepSpan starts an attempt's span under the run's trace (or under the
// traceparent the request carries) and puts its traceparent in req.Trace.
func (t *Tracer) stepSpan(ctx context.Context, req *step.Request, kind trace.SpanKind) (context.Context, trace.Span) {
	if req.Trace != "" {
		ctx = Extract(ctx, req.Trace)
	}
	ctx = runContext(ctx, req.Run)
	name := "step " + req.Step
	if req.Compensation {
		name = "compensate " + req.Step
	}
	ctx, span := t.t.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(
		attribute.String("ordo.run", req.Run), attribute.String("ordo.workflow", req.Workflow),
		attribute.String("ordo.step", req.Step), attribute.Int("ordo.attempt", req.Attempt),
		attribute.Int("ordo.index", req.Index), attribute.String("ordo.function", req.Function)))
	req.Trace = Inject(ctx)
	return ctx, span
}

// Steps returns a registry whose handlers run inside their attempt's span
// (the embedded runtime's steps).
func (t *Tracer) Steps(reg *step.Registry) *step.Registry {
	out := step.NewRegistry()
	for _, name := range reg.Names() {
		h, _ := reg.Lookup(name)
		out.Register(name, step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
			ctx, span := t.stepSpan(ctx, &req, trace.SpanKindInternal)
			defer span.End()
			res, err := h.Handle(ctx, req)
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			}
			return res, err
		}))
	}
	return out
}

// Invoker wraps an invoker (the Lambda one): each invocation is a client
// span whose traceparent travels in step.Request.Trace.
//
// When inner also starts attempts without waiting
// (orchestrator.EventInvoker), so does the wrapper: the span covers the
// start, the step's own span its run.
func (t *Tracer) Invoker(inner orchestrator.Invoker) orchestrator.Invoker {
	if ei, ok := inner.(orchestrator.EventInvoker); ok {
		return eventInvoker{invoker: invoker{t: t, inner: inner}, events: ei}
	}
	return invoker{t: t, inner: inner}
}

type eventInvoker struct {
	invoker
	events orchestrator.EventInvoker
}

func (i eventInvoker) InvokeEvent(ctx context.Context, req step.Request) error {
	ctx, span := i.t.stepSpan(ctx, &req, trace.SpanKindProducer)
	defer span.End()
	err := i.events.InvokeEvent(ctx, req)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

type invoker struct {
	t     *Tracer
	inner orchestrator.Invoker
}

func (i invoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	ctx, span := i.t.stepSpan(ctx, &req, trace.SpanKindClient)
	defer span.End()
	resp, err := i.inner.Invoke(ctx, req)
	switch {
	case err != nil:
		span.SetStatus(codes.Error, err.Error())
	case resp.Error != nil:
		span.SetStatus(codes.Error, resp.Error.Message)
	}
	return resp, err
}

// Effect wraps an effect handler: each delivery is a span of the run's
// trace.
func (t *Tracer) Effect(h effect.Handler) effect.Handler {
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		ctx, span := t.t.Start(runContext(ctx, run), "effect "+e.Kind, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("ordo.run", run), attribute.String("ordo.effect", e.ID),
				attribute.String("ordo.effect.kind", e.Kind), attribute.String("ordo.effect.target", e.Target)))
		defer span.End()
		err := h.Do(ctx, run, e)
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		return err
	})
}

// Inject returns the W3C traceparent of ctx's span ("" without one).
func Inject(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// Extract returns ctx under the remote span a traceparent names; a step
// calls it with step.Request.Trace so its spans join the run's trace.
func Extract(ctx context.Context, traceparent string) context.Context {
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": strings.TrimSpace(traceparent)})
}
