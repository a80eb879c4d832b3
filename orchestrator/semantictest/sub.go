package semantictest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var subTests = []test{
	{"OutputAndLinks", testSubOutput},
	{"ChildCompensatesAndFails", testSubChildCompensates},
	{"ChildFailStep", testSubChildFailStep},
	{"DepthThree", testSubDepth},
	{"CancelledChild", testSubCancelledChild},
	{"CancelledParent", testSubCancelledParent},
}

// childOf returns the child run the sub step of parent (attempt) starts.
func childOf(workflowName, parent, stepName string, attempt int) string {
	return orchestrator.RunID(workflowName, fmt.Sprintf("%s/%s/%d", parent, stepName, attempt))
}

func testSubOutput(t *testing.T, h *Harness) {
	release := make(chan struct{})
	h.Func("double", func(ctx context.Context, req step.Request) (step.Result, error) {
		if err := block(ctx, release); err != nil {
			return step.Result{}, err
		}
		return out(decode[struct {
			N int `json:"n"`
		}](req).N * 2), nil
	})
	h.Define(workflow.New("child",
		workflow.Output("steps.work.output"),
		workflow.Step("work", "double"),
	), `
name: child
output: steps.work.output
steps:
  - {name: work, function: double}
`)
	h.Define(workflow.New("parent",
		workflow.Output(`{"child": steps.c.output, "after": steps.after.output}`),
		workflow.Sub("c", "child", workflow.Input(`{"n": input.n}`)),
		workflow.Pass("after", "steps.c.output + 1", workflow.After("c")),
	), `
name: parent
output: '{"child": steps.c.output, "after": steps.after.output}'
steps:
  - {name: c, type: sub, workflow: child, input: '{"n": input.n}'}
  - {name: after, type: pass, after: [c], output: steps.c.output + 1}
`)
	run := h.Start("parent", `{"n": 5, "other": true}`)
	child := childOf("child", run, "c", 1)
	h.Scheduled(child, "work", 1)
	// The parent waits for its child.
	if s := h.Head(run).Status; s.Terminal() || count(h.Events(run), journal.StepScheduled, "after") > 0 {
		h.Dump(run)
		t.Fatalf("the parent moved on (status %s) while its child runs", s)
	}
	close(release)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "parent output", h.Output(run), `{"child": 10, "after": 11}`)
	jsonEq(t, "child output", h.Output(child), `10`)

	// Links both ways.
	started := h.Events(child)[0]
	if started.Kind != journal.RunStarted || started.Parent != run || started.Step != "c" || started.Attempt != 1 {
		t.Errorf("child RunStarted = %s parent %q step %q attempt %d, want parent %q step c attempt 1",
			started.Kind, started.Parent, started.Step, started.Attempt, run)
	}
	jsonEq(t, "child input", string(started.Input), `{"n": 5}`)
	pe := h.Events(run)
	subStarted := filter(pe, func(e journal.Event) bool { return e.Kind == journal.SubRunStarted })
	subDone := filter(pe, func(e journal.Event) bool { return e.Kind == journal.SubRunCompleted })
	if len(subStarted) != 1 || subStarted[0].Child != child || subStarted[0].Step != "c" {
		t.Errorf("SubRunStarted = %+v, want one naming child %s", subStarted, child)
	}
	if len(subDone) != 1 || subDone[0].Child != child || compact(subDone[0].Output) != "10" || subDone[0].Error != nil {
		t.Errorf("SubRunCompleted = %+v, want one naming child %s with output 10", subDone, child)
	}
}

func testSubChildCompensates(t *testing.T, h *Harness) {
	var undone recorder
	h.Func("reserve", func(ctx context.Context, req step.Request) (step.Result, error) { return out("r1"), nil })
	h.Func("unreserve", func(ctx context.Context, req step.Request) (step.Result, error) {
		undone.add("%s", req.Run)
		return step.Result{}, nil
	})
	h.Func("decline", func(ctx context.Context, req step.Request) (step.Result, error) {
		return step.Result{}, step.Terminal(fmt.Errorf("declined"))
	})
	h.Define(workflow.New("child-saga",
		workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.Step("reserve", "reserve", workflow.CompensateWith("unreserve")),
		workflow.Step("charge", "decline", workflow.After("reserve")),
	), `
name: child-saga
onFailure: compensate
steps:
  - {name: reserve, function: reserve, compensate: unreserve}
  - {name: charge, function: decline, after: [reserve]}
`)
	h.Define(workflow.New("parent-saga",
		workflow.Sub("c", "child-saga", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(ms)})),
	), `
name: parent-saga
steps:
  - name: c
    type: sub
    workflow: child-saga
    retry: {maxAttempts: 2, initialInterval: 1ms}
`)
	run := h.Start("parent-saga", `{}`)
	h.Wait(run, journal.StatusReview)
	for n := 1; n <= 2; n++ {
		child := childOf("child-saga", run, "c", n)
		if s := h.Head(child).Status; s != journal.StatusFailed {
			h.Dump(child)
			t.Errorf("child %s is %s, want failed", child, s)
		}
	}
	if got := undone.list(); len(got) != 2 {
		t.Errorf("compensations ran for %v, want both children", got)
	}
	checkChildFailure(t, h, run, 2)
}

// checkChildFailure checks that run's sub step c failed attempts times
// with a child failure, and the run went to review.
func checkChildFailure(t *testing.T, h *Harness, run string, attempts int) {
	t.Helper()
	events := h.Events(run)
	done := filter(events, func(e journal.Event) bool { return e.Kind == journal.SubRunCompleted })
	if len(done) != attempts {
		h.Dump(run)
		t.Fatalf("%d SubRunCompleted, want %d", len(done), attempts)
	}
	for _, e := range done {
		if e.Error == nil || e.Error.Kind != "child-failed" {
			t.Errorf("SubRunCompleted error %+v, want kind child-failed", e.Error)
		}
	}
	r := filter(events, func(e journal.Event) bool { return e.Kind == journal.NeedsReview })
	if len(r) != 1 || r[0].Step != "c" || r[0].Error == nil || r[0].Error.Kind != "child-failed" {
		h.Dump(run)
		t.Errorf("review = %+v, want step c with a child-failed error", r)
	}
}

func testSubChildFailStep(t *testing.T, h *Harness) {
	h.Func("noop", func(ctx context.Context, req step.Request) (step.Result, error) { return out(1), nil })
	h.Define(workflow.New("child-stop",
		workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.Step("a", "noop", workflow.CompensateWith("noop")),
		workflow.Fail("stop", "stopped on purpose", workflow.After("a")),
	), `
name: child-stop
onFailure: compensate
steps:
  - {name: a, function: noop, compensate: noop}
  - {name: stop, type: fail, after: [a], message: stopped on purpose}
`)
	h.Define(workflow.New("parent-stop",
		workflow.Sub("c", "child-stop", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 1})),
	), `
name: parent-stop
steps:
  - {name: c, type: sub, workflow: child-stop, retry: {maxAttempts: 1}}
`)
	run := h.Start("parent-stop", `{}`)
	h.Wait(run, journal.StatusReview)
	child := childOf("child-stop", run, "c", 1)
	ce := h.Events(child)
	last := ce[len(ce)-1]
	failed := filter(ce, func(e journal.Event) bool { return e.Kind == journal.RunFailed })
	if h.Head(child).Status != journal.StatusFailed || len(failed) != 1 || failed[0].Error == nil || failed[0].Error.Kind != "fail" {
		h.Dump(child)
		t.Errorf("child: want failed with one RunFailed of kind fail")
	}
	if !last.Compensation || last.Kind != journal.StepSucceeded || last.Step != "a" {
		h.Dump(child)
		t.Errorf("child's last event %s %s comp=%v, want a's compensation", last.Kind, last.Step, last.Compensation)
	}
	checkChildFailure(t, h, run, 1)
}

func testSubDepth(t *testing.T, h *Harness) {
	h.Define(workflow.New("l3", workflow.Output("steps.v.output"), workflow.Pass("v", "input.n * 3")), `
name: l3
output: steps.v.output
steps: [{name: v, type: pass, output: input.n * 3}]
`)
	h.Define(workflow.New("l2", workflow.Output("steps.s.output + 1"), workflow.Sub("s", "l3")), `
name: l2
output: steps.s.output + 1
steps: [{name: s, type: sub, workflow: l3}]
`)
	h.Define(workflow.New("l1", workflow.Output("steps.s.output * 2"), workflow.Sub("s", "l2")), `
name: l1
output: steps.s.output * 2
steps: [{name: s, type: sub, workflow: l2}]
`)
	run := h.Start("l1", `{"n": 2}`)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `14`) // ((2*3)+1)*2
	l2 := childOf("l2", run, "s", 1)
	l3 := childOf("l3", l2, "s", 1)
	for _, link := range []struct{ child, parent string }{{l2, run}, {l3, l2}} {
		if p := h.Events(link.child)[0].Parent; p != link.parent {
			t.Errorf("%s has parent %q, want %q", link.child, p, link.parent)
		}
		if s := h.Head(link.child).Status; s != journal.StatusCompleted {
			t.Errorf("%s is %s", link.child, s)
		}
	}
}

func defineWaitingChild(h *Harness) {
	h.DefineApproval()
	h.Define(workflow.New("boss", workflow.Sub("c", "approval")), `
name: boss
steps: [{name: c, type: sub, workflow: approval}]
`)
}

// testSubCancelledChild cancels a child run: its parent's step fails
// terminally and the parent goes to review.
func testSubCancelledChild(t *testing.T, h *Harness) {
	defineWaitingChild(h)
	run := h.Start("boss", `{}`)
	child := childOf("approval", run, "c", 1)
	h.Scheduled(child, "approve", 1)
	h.Cancel(child)
	h.Wait(run, journal.StatusReview)
	done := filter(h.Events(run), func(e journal.Event) bool { return e.Kind == journal.SubRunCompleted })
	if len(done) != 1 || done[0].Error == nil || done[0].Error.Kind != "child-cancelled" || !done[0].Error.Terminal {
		h.Dump(run)
		t.Errorf("SubRunCompleted = %+v, want one terminal child-cancelled error", done)
	}
}

// testSubCancelledParent cancels a parent while its child waits: the child
// is cancelled too rather than left running for nobody.
func testSubCancelledParent(t *testing.T, h *Harness) {
	defineWaitingChild(h)
	run := h.Start("boss", `{}`)
	child := childOf("approval", run, "c", 1)
	h.Scheduled(child, "approve", 1)
	h.Cancel(run)
	h.Wait(run, journal.StatusCancelled)
	h.Patience = 3 * time.Second
	h.Eventually("the child's cancellation", func() bool { return h.Head(child).Status == journal.StatusCancelled })
}
