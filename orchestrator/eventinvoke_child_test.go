package orchestrator_test

import (
	"encoding/json"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var (
	asyncChildDef = workflow.New("asyncchild",
		workflow.Output("steps.work.output"),
		workflow.Step("work", "w", workflow.Invoke(workflow.InvokeAsync)),
	).MustBuild()
	asyncParentDef = workflow.New("asyncparent",
		workflow.Key("input.id"),
		workflow.Output("steps.c.output"),
		workflow.Sub("c", "asyncchild"),
	).MustBuild()
)

// A child run's step result journals whichever orchestrator it reaches,
// and the parent hears of the child's end: here the engine whose Drive of
// the parent started the child (and so holds the state it created) gets
// the result of an attempt another engine's Drive of the child started.
func TestEventInvokeChildResultReachesItsStarter(t *testing.T) {
	ctx := testContext(t)
	store := memjournal.New()
	engines := make([]*orchestrator.Engine, 2)
	invokers := make([]*eventInvoker, 2)
	for i := range engines {
		invokers[i] = &eventInvoker{}
		engines[i] = newEngine(t, store, invokers[i], asyncChildDef)
		if err := engines[i].Register(ctx, asyncParentDef); err != nil {
			t.Fatal(err)
		}
	}
	starter, other := engines[0], engines[1]
	st, err := starter.Start(ctx, orchestrator.StartRequest{Workflow: "asyncparent", Input: json.RawMessage(`{"id":"p-1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := starter.Drive(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Wake) != 1 {
		t.Fatalf("the parent's Drive woke %v, want its child", out.Wake)
	}
	child := out.Wake[0]
	// The child's drive runs on the other engine, which starts its step.
	if _, err := other.Drive(ctx, child); err != nil {
		t.Fatal(err)
	}
	reqs := invokers[1].requests()
	if len(reqs) != 1 || reqs[0].Run != child || reqs[0].Step != "work" || reqs[0].Attempt != 1 {
		t.Fatalf("the child's Drive started %+v, want %s work attempt 1", reqs, child)
	}
	// Its result comes back to the engine that started the child.
	out, err = starter.DriveResults(ctx, child, orchestrator.StepResult{Step: "work", Attempt: 1, Response: ok(`7`)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != journal.StatusCompleted {
		_, events := load(t, store, child)
		t.Fatalf("child after its step's result: %s, want completed; journal %+v", out.Status, events)
	}
	if len(out.Wake) != 1 || out.Wake[0] != st.Run {
		t.Fatalf("the child's end woke %v, want its parent %s", out.Wake, st.Run)
	}
	if out, err = other.Drive(ctx, st.Run); err != nil || out.Status != journal.StatusCompleted {
		t.Fatalf("parent after its child ended: %+v, %v, want completed", out, err)
	}
	if _, events := load(t, store, st.Run); countKind(events, journal.SubRunCompleted, "c") != 1 {
		t.Fatalf("parent journal has %d SubRunCompleted, want 1", countKind(events, journal.SubRunCompleted, "c"))
	}
}
