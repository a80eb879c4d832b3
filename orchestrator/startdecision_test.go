package orchestrator_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// countingInvoker answers every step with its name and counts invocations
// by step.
type countingInvoker struct{ calls map[string]*atomic.Int32 }

func newCountingInvoker(steps ...string) countingInvoker {
	c := countingInvoker{calls: map[string]*atomic.Int32{}}
	for _, s := range steps {
		c.calls[s] = new(atomic.Int32)
	}
	return c
}

func (c countingInvoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	c.calls[req.Step].Add(1)
	res, _ := echo(ctx, req)
	return step.Response{Result: res}, nil
}

func commits(events []journal.Event) int64 {
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].Seq
}

// chain3 is a → b → c: one commit per step, whatever the timing.
var chain3 = workflow.New("chain3", workflow.Key("input.id"),
	workflow.Step("a", "fa"),
	workflow.Step("b", "fb", workflow.After("a")),
	workflow.Step("c", "fc", workflow.After("b")),
).MustBuild()

// TestStartDecisionSavesACommit: with WithStartDecision, Start journals the
// first decision with RunStarted (the first step scheduled under a lease),
// invokes nothing, and the run takes one commit fewer than without it,
// each attempt invoked and journaled once.
func TestStartDecisionSavesACommit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	var got [2]int64
	for i, opts := range [][]orchestrator.Option{nil, {orchestrator.WithStartDecision()}} {
		store := memjournal.New()
		inv := newCountingInvoker("a", "b", "c")
		e := newEngine(t, store, inv, chain3, opts...)
		st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "chain3", Input: json.RawMessage(`{"id":"1"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if !st.NeedsDrive(st.Run) {
			t.Fatalf("Start's receipt %+v does not ask for a drive", st.Receipt)
		}
		_, events := load(t, store, st.Run)
		kinds := []journal.Kind{}
		for _, ev := range events {
			kinds = append(kinds, ev.Kind)
		}
		want := []journal.Kind{journal.RunStarted}
		if opts != nil {
			want = append(want, journal.StepScheduled)
		}
		if !slicesEqual(kinds, want) || commits(events) != 1 {
			t.Fatalf("after Start: %v in %d commits, want %v in 1", kinds, commits(events), want)
		}
		if n := inv.calls["a"].Load(); n != 0 {
			t.Fatalf("Start invoked a %d times", n)
		}
		if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
			t.Fatalf("status %s", out.Status)
		}
		_, events = load(t, store, st.Run)
		checkOnce(t, events)
		for s, n := range inv.calls {
			if n.Load() != 1 {
				t.Errorf("step %s invoked %d times, want 1", s, n.Load())
			}
		}
		got[i] = commits(events)
	}
	if got[0] != 5 || got[1] != 4 {
		t.Errorf("commits per run of 3 steps: %d without the option, %d with it; want 5 and 4", got[0], got[1])
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// awaitAndTask has a task and an await, both ready at the start.
var awaitAndTask = workflow.New("at", workflow.Key("input.id"),
	workflow.Step("a", "fa"),
	workflow.Await("w", "go"),
).MustBuild()

// TestStartDecisionOwedAfterSignal: an event appended between Start and the
// first Drive (which drops the engine's cached state) does not lose the
// attempt Start scheduled: that Drive invokes it, without waiting for its
// lease (15 minutes) to expire.
func TestStartDecisionOwedAfterSignal(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	inv := newCountingInvoker("a")
	e := newEngine(t, store, inv, awaitAndTask, orchestrator.WithStartDecision())
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "at", Input: json.RawMessage(`{"id":"1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Signal(ctx, st.Run, "go", json.RawMessage(`true`)); err != nil {
		t.Fatal(err)
	}
	out, err := e.Drive(ctx, st.Run)
	if err != nil || out.Status != journal.StatusCompleted {
		t.Fatalf("Drive: %+v, %v; want completed", out, err)
	}
	if n := inv.calls["a"].Load(); n != 1 {
		t.Errorf("a invoked %d times, want 1", n)
	}
}

// TestStartDecisionOwedAfterCancel: a run cancelled between Start and its
// first Drive does not invoke the attempt Start scheduled; the Drive
// journals it as failed (never invoked) and the run settles cancelled.
func TestStartDecisionOwedAfterCancel(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	inv := newCountingInvoker("a")
	e := newEngine(t, store, inv, awaitAndTask, orchestrator.WithStartDecision())
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "at", Input: json.RawMessage(`{"id":"1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Cancel(ctx, st.Run, "test", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	out := driveToEnd(t, ctx, e, st.Run)
	if out.Status != journal.StatusCancelled {
		t.Fatalf("status %s, want cancelled", out.Status)
	}
	if n := inv.calls["a"].Load(); n != 0 {
		t.Errorf("a invoked %d times after the cancel, want 0", n)
	}
	_, events := load(t, store, st.Run)
	var failed *journal.Event
	for i, ev := range events {
		if ev.Kind == journal.StepFailed && ev.Step == "a" {
			failed = &events[i]
		}
	}
	if failed == nil || failed.Error == nil || failed.Error.Kind != step.KindLease {
		t.Fatalf("no StepFailed of kind %q for a in %+v", step.KindLease, events)
	}
}

// TestStartDecisionSettledAtOnce: a run whose first decision settles it (no
// step to invoke) still asks for a drive, which settles it: a child run
// reports to its parent.
func TestStartDecisionSettledAtOnce(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	child := workflow.New("passonly", workflow.Pass("p", `{"ok": true}`)).MustBuild()
	parent := workflow.New("parent", workflow.Key("input.id"), workflow.Sub("s", "passonly")).MustBuild()
	store := memjournal.New()
	e := newEngine(t, store, newCountingInvoker(), parent, orchestrator.WithStartDecision())
	if err := e.Register(ctx, child); err != nil {
		t.Fatal(err)
	}
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "parent", Input: json.RawMessage(`{"id":"1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	runs := []string{st.Run}
	for len(runs) > 0 {
		run := runs[0]
		runs = runs[1:]
		out, err := e.Drive(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, out.Wake...)
	}
	head, events := load(t, store, st.Run)
	if head.Status != journal.StatusCompleted {
		for _, ev := range events {
			t.Logf("%d %s %s %s", ev.Seq, ev.Kind, ev.Step, ev.Child)
		}
		t.Fatalf("parent %s, want completed", head.Status)
	}
}

// TestStartRequestDecide: on an engine without WithStartDecision, a start
// that asks for it (StartRequest.Decide, the orchestrator Lambda's trigger
// starts) journals the first decision with RunStarted and its run takes
// one commit fewer; the other starts of the same engine do not.
func TestStartRequestDecide(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	inv := newCountingInvoker("a", "b", "c")
	e := newEngine(t, store, inv, chain3)
	var got [2]int64
	for i, decide := range []bool{false, true} {
		st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "chain3", Input: json.RawMessage(`{"id":"` + strconv.Itoa(i) + `"}`),
			Decide: decide})
		if err != nil {
			t.Fatal(err)
		}
		_, events := load(t, store, st.Run)
		if n := len(events); decide != (n == 2) {
			t.Errorf("decide=%v: first commit holds %d events, want %d", decide, n, map[bool]int{false: 1, true: 2}[decide])
		}
		if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
			t.Fatalf("status %s", out.Status)
		}
		_, events = load(t, store, st.Run)
		checkOnce(t, events)
		got[i] = commits(events)
	}
	if got[0] != 5 || got[1] != 4 {
		t.Errorf("commits per run of 3 steps: %d without Decide, %d with it; want 5 and 4", got[0], got[1])
	}
	for s, n := range inv.calls {
		if n.Load() != 2 {
			t.Errorf("step %s invoked %d times, want once per run", s, n.Load())
		}
	}
}

// serialOne is one step, one run at a time per account.
var serialOne = workflow.New("serial-one", workflow.Key("input.id"), workflow.DeferredBy("input.account"),
	workflow.Step("a", "fa")).MustBuild()

// TestDeferredRunReleasedByAnotherEngine: the engine that created a
// deferred run (an orchestrator container handling its trigger) drives it
// after another engine released it (the container that ended the run
// holding the key): its first Drive must see the release, not the state
// it cached at the start.
func TestDeferredRunReleasedByAnotherEngine(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	inv := newCountingInvoker("a")
	a, b := newEngine(t, store, inv, serialOne), newEngine(t, store, inv, serialOne)
	first, err := b.Start(ctx, orchestrator.StartRequest{Workflow: "serial-one", Input: json.RawMessage(`{"id":"1","account":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.Start(ctx, orchestrator.StartRequest{Workflow: "serial-one", Input: json.RawMessage(`{"id":"2","account":"x"}`),
		Decide: true})
	if err != nil || second.Status != journal.StatusDeferred {
		t.Fatalf("second start: %+v %v, want deferred", second, err)
	}
	out, err := b.Drive(ctx, first.Run)
	if err != nil || out.Status != journal.StatusCompleted || !slices.Contains(out.Wake, second.Run) {
		t.Fatalf("first run's drive: %+v %v, want completed, waking %s", out, err, second.Run)
	}
	out, err = a.Drive(ctx, second.Run)
	if err != nil || out.Status != journal.StatusCompleted {
		t.Fatalf("released run's drive on the engine that created it: %+v %v, want completed", out, err)
	}
}
