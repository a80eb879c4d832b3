package orchestrator_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// asyncNoTimeoutDef has one async step without a timeout: before start leases, an
// attempt whose start invocation was lost waited for ever.
var asyncNoTimeoutDef = workflow.New("w",
	workflow.Step("ask", "fask", workflow.Async(), workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2,
		InitialInterval: workflow.Duration(time.Second)})),
).MustBuild()

var startLease = orchestrator.DefaultStepTimeout + orchestrator.LeaseMargin

// TestAsyncStartLeased: an async attempt is scheduled with a lease on its
// start, and its invocation bounded by DefaultStepTimeout.
func TestAsyncStartLeased(t *testing.T) {
	t.Parallel()
	d := decideAt(t, asyncNoTimeoutDef, stamped([]journal.Event{started(`{}`)}), t0)
	if len(d.Events) != 1 || d.Events[0].Kind != journal.StepScheduled || !d.Events[0].Due.Equal(t0.Add(startLease)) {
		t.Fatalf("want ask scheduled with a start lease at %s, got %+v", t0.Add(startLease), d.Events)
	}
	if len(d.Start) != 1 || !d.Start[0].Async || d.Start[0].Timeout != orchestrator.DefaultStepTimeout ||
		!d.Start[0].Lease.Equal(t0.Add(startLease)) {
		t.Errorf("start %+v, want an async invocation bounded by %s under the lease", d.Start, orchestrator.DefaultStepTimeout)
	}
}

// TestAsyncStartLost: no StepStarted by the lease's end means the start
// was lost: the attempt fails by timeout, saying so, and is retried.
func TestAsyncStartLost(t *testing.T) {
	t.Parallel()
	events := stamped([]journal.Event{started(`{}`), leasedUntil(scheduled("ask", 1, `{}`), t0.Add(startLease))})
	d := decideAt(t, asyncNoTimeoutDef, events, t0.Add(time.Minute))
	if len(d.Events) != 0 || !d.WakeAt.Equal(t0.Add(startLease)) {
		t.Fatalf("within the lease: want to wait until %s, got events %+v wake %s", t0.Add(startLease), d.Events, d.WakeAt)
	}
	d = decideAt(t, asyncNoTimeoutDef, events, t0.Add(startLease))
	if len(d.Events) < 2 || d.Events[0].Kind != journal.StepFailed || d.Events[0].Error.Kind != step.KindTimeout ||
		!strings.Contains(d.Events[0].Error.Message, "callback token") || d.Events[1].Kind != journal.RetryScheduled {
		t.Fatalf("after the lease: want a timeout naming the lost start and a retry, got %+v", d.Events)
	}
}

// TestAsyncStartAcknowledged: once StepStarted is journaled the attempt
// waits for its callback, with no lease and no wake-up.
func TestAsyncStartAcknowledged(t *testing.T) {
	t.Parallel()
	events := stamped([]journal.Event{started(`{}`), leasedUntil(scheduled("ask", 1, `{}`), t0.Add(startLease)),
		{Kind: journal.StepStarted, Step: "ask", Attempt: 1}})
	d := decideAt(t, asyncNoTimeoutDef, events, t0.Add(48*time.Hour))
	if len(d.Events) != 0 || !d.WakeAt.IsZero() || d.Done {
		t.Fatalf("acknowledged: want to wait for the callback, got events %+v wake %s done %v", d.Events, d.WakeAt, d.Done)
	}
}

// TestAsyncStartOldJournal: an async attempt journaled before start leases
// (no Due) keeps waiting for its callback only.
func TestAsyncStartOldJournal(t *testing.T) {
	t.Parallel()
	events := stamped([]journal.Event{started(`{}`), unleased(scheduled("ask", 1, `{}`))})
	if d := decideAt(t, asyncNoTimeoutDef, events, t0.Add(48*time.Hour)); len(d.Events) != 0 || !d.WakeAt.IsZero() {
		t.Fatalf("old journal: want no lease, got events %+v wake %s", d.Events, d.WakeAt)
	}
}

// TestAsyncStartLostEndToEnd: a run whose async attempt was journaled but
// never invoked (its driver stopped) is retried once the start lease runs
// out; the new attempt's start is acknowledged (StepStarted) and its
// callback completes the run.
func TestAsyncStartLostEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	var now atomic.Pointer[time.Time]
	clock := func() time.Time { return *now.Load() }
	set := func(t time.Time) { now.Store(&t) }
	set(t0)
	var calls atomic.Int32
	tokens := make(chan string, 4)
	inv := invokerFunc(func(_ context.Context, req step.Request) (step.Response, error) {
		calls.Add(1)
		tokens <- req.Token
		return step.Response{}, nil
	})
	e := newEngine(t, store, inv, asyncNoTimeoutDef, orchestrator.WithClock(clock))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "w", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// The driver that scheduled attempt 1 stops before invoking it: journal
	// what its first decision would have, and invoke nothing.
	_, events := load(t, store, st.Run)
	d, err := orchestrator.Decide(asyncNoTimeoutDef, events, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, journal.Commit{Run: st.Run, After: 1, Events: d.Events, At: t0}); err != nil {
		t.Fatal(err)
	}
	e.Forget(st.Run)
	out, err := e.Drive(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 || !out.WakeAt.Equal(t0.Add(startLease)) {
		t.Fatalf("within the lease: %d invocations, wake %s; want none, wake at the lease's end", calls.Load(), out.WakeAt)
	}
	set(t0.Add(startLease)) // the lease runs out: attempt 1 fails, a retry is due in 1 s
	if _, err = e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	set(t0.Add(startLease + time.Minute))
	if _, err = e.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("after the lease: %d invocations, want attempt 2 invoked once", calls.Load())
	}
	_, events = load(t, store, st.Run)
	acked := false
	for _, ev := range events {
		acked = acked || ev.Kind == journal.StepStarted && ev.Attempt == 2
	}
	if !acked {
		t.Fatalf("no StepStarted for attempt 2 in %+v", events)
	}
	if _, err := e.Complete(ctx, <-tokens, step.Response{Result: step.Result{Output: json.RawMessage(`"yes"`)}}); err != nil {
		t.Fatal(err)
	}
	if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
		t.Errorf("run %s, want completed", out.Status)
	}
}
