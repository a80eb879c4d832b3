package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/orchestratortest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// eventInvoker records the attempts started without waiting; a
// synchronous Invoke is an error (the test's steps are all async).
type eventInvoker struct {
	mu      sync.Mutex
	started []step.Request
	refuse  error
}

func (i *eventInvoker) Invoke(context.Context, step.Request) (step.Response, error) {
	return step.Response{}, errors.New("synchronous invoke of an async step")
}

func (i *eventInvoker) InvokeEvent(_ context.Context, req step.Request) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.refuse != nil {
		return i.refuse
	}
	i.started = append(i.started, req)
	return nil
}

func (i *eventInvoker) requests() []step.Request {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]step.Request(nil), i.started...)
}

var eventDef = workflow.New("eventwf",
	workflow.Key("input.id"),
	workflow.Step("first", "f1", workflow.Invoke(workflow.InvokeAsync), workflow.Timeout(time.Minute),
		workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Second)})),
	workflow.Step("second", "f2", workflow.After("first")),
).MustBuild()

func ok(output string) step.Response {
	return step.Response{Result: step.Result{Output: json.RawMessage(output)}}
}

func countKind(events []journal.Event, kind journal.Kind, stepName string) int {
	n := 0
	for _, e := range events {
		if e.Kind == kind && e.Step == stepName {
			n++
		}
	}
	return n
}

// An async step's Drive starts the attempt and returns, waking at its
// lease; its result journals once, however often it comes; a result for
// another attempt is dropped; the default mode (sync here) applies to the
// step that sets none.
func TestEventInvokeResultJournaledOnce(t *testing.T) {
	ctx := testContext(t)
	clock := orchestratortest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	inv := &eventInvoker{}
	store := memjournal.New()
	sync2 := 0
	both := invokerBoth{eventInvoker: inv, sync: func(req step.Request) (step.Response, error) {
		sync2++
		return ok(`"two"`), nil
	}}
	e := newEngine(t, store, both, eventDef, orchestrator.WithClock(clock.Now))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "eventwf", Input: json.RawMessage(`{"id":"e-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Drive(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	reqs := inv.requests()
	if len(reqs) != 1 || reqs[0].Step != "first" || reqs[0].Attempt != 1 {
		t.Fatalf("started %+v, want first attempt 1", reqs)
	}
	if out.Done || out.Status != journal.StatusRunning || !out.WakeAt.Equal(clock.Now().Add(time.Minute+orchestrator.LeaseMargin)) {
		t.Fatalf("Drive after an event invoke: %+v, want running, waking at the lease", out)
	}
	late := orchestrator.StepResult{Step: "first", Attempt: 2, Response: ok(`"late"`)}
	if _, err := e.DriveResults(ctx, st.Run, late); err != nil {
		t.Fatal(err)
	}
	if _, events := load(t, store, st.Run); countKind(events, journal.StepSucceeded, "first") != 0 {
		t.Fatalf("a result for attempt 2 while attempt 1 runs was journaled")
	}
	res := orchestrator.StepResult{Step: "first", Attempt: 1, Response: ok(`"one"`)}
	out, err = e.DriveResults(ctx, st.Run, res, res)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != journal.StatusCompleted {
		t.Fatalf("after the result: %+v, want completed", out)
	}
	if _, err := e.DriveResults(ctx, st.Run, res); err != nil {
		t.Fatal(err)
	}
	_, events := load(t, store, st.Run)
	if n := countKind(events, journal.StepSucceeded, "first"); n != 1 {
		t.Fatalf("first succeeded %d times in the journal, want 1", n)
	}
	if sync2 != 1 || len(inv.requests()) != 1 {
		t.Fatalf("second invoked synchronously %d times, event invokes %d; want 1 and 1", sync2, len(inv.requests()))
	}
	checkOnce(t, events)
}

// A lost result fails the attempt when its lease expires, and the retry
// policy starts attempt 2 the same way; attempt 1's result, arriving
// late, is dropped.
func TestEventInvokeLostResultRetriesByLease(t *testing.T) {
	ctx := testContext(t)
	clock := orchestratortest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	inv := &eventInvoker{}
	store := memjournal.New()
	e := newEngine(t, store, invokerBoth{eventInvoker: inv, sync: func(step.Request) (step.Response, error) { return ok(`2`), nil }},
		eventDef, orchestrator.WithClock(clock.Now))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "eventwf", Input: json.RawMessage(`{"id":"e-2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Drive(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	clock.AdvanceTo(out.WakeAt)
	if out, err = e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	clock.AdvanceTo(out.WakeAt) // the retry's delay
	if _, err = e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	reqs := inv.requests()
	if len(reqs) != 2 || reqs[1].Attempt != 2 {
		t.Fatalf("started %+v, want attempts 1 and 2", reqs)
	}
	_, events := load(t, store, st.Run)
	var failed *journal.Event
	for i := range events {
		if events[i].Kind == journal.StepFailed {
			failed = &events[i]
		}
	}
	if failed == nil || failed.Attempt != 1 || failed.Error.Kind != step.KindTimeout {
		t.Fatalf("attempt 1 failure %+v, want a timeout (its lease expired)", failed)
	}
	out, err = e.DriveResults(ctx, st.Run, orchestrator.StepResult{Step: "first", Attempt: 1, Response: ok(`"late"`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != journal.StatusRunning {
		t.Fatalf("after attempt 1's late result: %s, want running (attempt 2 in flight)", out.Status)
	}
	out, err = e.DriveResults(ctx, st.Run, orchestrator.StepResult{Step: "first", Attempt: 2, Response: ok(`"two"`)})
	if err != nil || out.Status != journal.StatusCompleted {
		t.Fatalf("after attempt 2's result: %+v, %v; want completed", out, err)
	}
	_, events = load(t, store, st.Run)
	for _, ev := range events {
		if ev.Kind == journal.StepSucceeded && ev.Step == "first" && string(ev.Output) != `"two"` {
			t.Fatalf("journaled output %s, want attempt 2's", ev.Output)
		}
	}
}

// An event invoke the platform refuses fails the attempt at once (kind
// invoke, retryable); a DriveResults of a run that does not exist is
// journal.ErrNotFound.
func TestEventInvokeRefused(t *testing.T) {
	ctx := testContext(t)
	inv := &eventInvoker{refuse: errors.New("TooManyRequestsException")}
	store := memjournal.New()
	e := newEngine(t, store, invokerBoth{eventInvoker: inv}, eventDef)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "eventwf", Input: json.RawMessage(`{"id":"e-3"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	_, events := load(t, store, st.Run)
	if n, r := countKind(events, journal.StepFailed, "first"), countKind(events, journal.RetryScheduled, "first"); n != 1 || r != 1 {
		t.Fatalf("refused event invoke: %d failures and %d retries journaled, want 1 and 1", n, r)
	}
	if _, err := e.DriveResults(ctx, "eventwf/nobody", orchestrator.StepResult{Step: "first", Attempt: 1}); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("DriveResults of a missing run = %v, want ErrNotFound", err)
	}
}

// With WithStepInvoke(InvokeAsync), a step that sets no mode is started
// without waiting too; one that says sync is not.
func TestEventInvokeDeploymentDefault(t *testing.T) {
	ctx := testContext(t)
	inv := &eventInvoker{}
	calls := 0
	def := workflow.New("defaultwf", workflow.Key("input.id"),
		workflow.Step("a", "fa"),
		workflow.Step("b", "fb", workflow.After("a"), workflow.Invoke(workflow.InvokeSync))).MustBuild()
	e := newEngine(t, memjournal.New(), invokerBoth{eventInvoker: inv, sync: func(step.Request) (step.Response, error) {
		calls++
		return ok(`1`), nil
	}}, def, orchestrator.WithStepInvoke(workflow.InvokeAsync))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "defaultwf", Input: json.RawMessage(`{"id":"d-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	out, err := e.DriveResults(ctx, st.Run, orchestrator.StepResult{Step: "a", Attempt: 1, Response: ok(`"a"`)})
	if err != nil || out.Status != journal.StatusCompleted {
		t.Fatalf("%+v %v", out, err)
	}
	if len(inv.requests()) != 1 || calls != 1 {
		t.Fatalf("event invokes %d, sync invokes %d; want 1 and 1", len(inv.requests()), calls)
	}
}

// invokerBoth is an eventInvoker whose synchronous invokes call sync.
type invokerBoth struct {
	*eventInvoker
	sync func(step.Request) (step.Response, error)
}

func (b invokerBoth) Invoke(_ context.Context, req step.Request) (step.Response, error) {
	if b.sync == nil {
		return step.Response{}, errors.New("no synchronous function")
	}
	return b.sync(req)
}

// A step with a compensation that succeeds after its run was cancelled is
// undone first: no compensation starts while it is in flight under its
// lease, and the older steps' come after it, newest first.
func TestCompensationWaitsForAttemptInFlight(t *testing.T) {
	ctx := testContext(t)
	inv := &eventInvoker{}
	store := memjournal.New()
	def := workflow.New("latecomp", workflow.Key("input.id"),
		workflow.Step("a", "book", workflow.Invoke(workflow.InvokeAsync), workflow.CompensateWith("unbook")),
		workflow.Step("b", "book", workflow.After("a"), workflow.Invoke(workflow.InvokeAsync), workflow.CompensateWith("unbook")),
	).MustBuild()
	e := newEngine(t, store, invokerBoth{eventInvoker: inv}, def)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "latecomp", Input: json.RawMessage(`{"id":"l-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	if _, err := e.DriveResults(ctx, st.Run, orchestrator.StepResult{Step: "a", Attempt: 1, Response: ok(`"a"`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Cancel(ctx, st.Run, "test", "cancelled while b runs"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	started := func() (out []string) {
		for _, r := range inv.requests() {
			if r.Compensation {
				out = append(out, r.Step)
			}
		}
		return out
	}
	if c := started(); len(c) != 0 {
		t.Fatalf("compensations %v started while b is in flight, want none", c)
	}
	comp := func(s string) orchestrator.StepResult {
		return orchestrator.StepResult{Step: s, Attempt: 1, Compensation: true, Response: ok(`null`)}
	}
	for _, r := range []orchestrator.StepResult{{Step: "b", Attempt: 1, Response: ok(`"b"`)}, comp("b"), comp("b"), comp("a"), comp("a")} {
		if _, err := e.DriveResults(ctx, st.Run, r); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
	}
	if c := started(); len(c) != 2 || c[0] != "b" || c[1] != "a" {
		t.Fatalf("compensations started %v, want [b a]", c)
	}
	head, events := load(t, store, st.Run)
	if head.Status != journal.StatusCancelled {
		t.Fatalf("status %s, want cancelled", head.Status)
	}
	if _, err := orchestrator.Fold(def, events); err != nil {
		t.Fatalf("the journal does not fold: %v", err)
	}
}
