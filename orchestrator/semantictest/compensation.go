package semantictest

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var compensationTests = []test{
	{"UndoNewestFirst", testCompensateOrder},
	{"CancelWaitingRun", testCompensateCancel},
	{"CancelWakesTheRun", testCancelWakes},
	{"FailingCompensation", testCompensateFailing},
	{"LateResultAfterCancel", testCompensateLate},
}

// comps lists run's compensation events as "Kind step#attempt".
func comps(events []journal.Event) []string {
	var out []string
	for _, e := range events {
		if e.Compensation {
			out = append(out, string(e.Kind)+" "+e.Step+"#"+string(rune('0'+e.Attempt)))
		}
	}
	return out
}

func registerBooking(h *Harness, undone *recorder) {
	h.Func("book", func(ctx context.Context, req step.Request) (step.Result, error) {
		return out("booked-" + req.Step), nil
	})
	h.Func("unbook", func(ctx context.Context, req step.Request) (step.Result, error) {
		if !req.Compensation {
			return step.Result{}, step.Terminal(errors.New("unbook called without Compensation"))
		}
		var in struct{ Input, Output json.RawMessage }
		_ = json.Unmarshal(req.Input, &in)
		undone.add("%s %s", req.Step, compact(in.Output))
		return step.Result{}, nil
	})
	h.Func("decline", func(ctx context.Context, req step.Request) (step.Result, error) {
		return step.Result{}, step.Terminal(errors.New("declined"))
	})
}

func testCompensateOrder(t *testing.T, h *Harness) {
	var undone recorder
	registerBooking(h, &undone)
	h.Define(workflow.New("saga",
		workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.Step("a", "book", workflow.CompensateWith("unbook")),
		workflow.Step("b", "book", workflow.After("a"), workflow.CompensateWith("unbook")),
		workflow.Step("c", "book", workflow.After("b")),
		workflow.Step("pay", "decline", workflow.After("c")),
	), `
name: saga
onFailure: compensate
steps:
  - {name: a, function: book, compensate: unbook}
  - {name: b, function: book, compensate: unbook, after: [a]}
  - {name: c, function: book, after: [b]}
  - {name: pay, function: decline, after: [c]}
`)
	run := h.Start("saga", `{}`)
	h.Wait(run, journal.StatusFailed)
	if diff := cmp.Diff(undone.list(), []string{`b "booked-b"`, `a "booked-a"`}); diff != "" {
		t.Errorf("compensations (-got +want):\n%s", diff)
	}
	events := h.Events(run)
	want := []string{"StepScheduled b#1", "StepSucceeded b#1", "StepScheduled a#1", "StepSucceeded a#1"}
	if diff := cmp.Diff(comps(events), want); diff != "" {
		h.Dump(run)
		t.Errorf("compensation events (-got +want):\n%s", diff)
	}
	failed := filter(events, func(e journal.Event) bool { return e.Kind == journal.RunFailed })
	if len(failed) != 1 || failed[0].Step != "pay" {
		t.Errorf("RunFailed = %+v, want one for step pay", failed)
	}
	if k := events[len(events)-1]; !k.Compensation {
		t.Errorf("the last event is %s, want a's compensation", k.Kind)
	}
}

// DefineCancellable defines "cancellable": a (compensated by unbook), then
// an event step waiting for "go".
func (h *Harness) defineCancellable() {
	h.Define(workflow.New("cancellable",
		workflow.Step("a", "book", workflow.CompensateWith("unbook")),
		workflow.Await("hold", "go", workflow.After("a")),
	), `
name: cancellable
steps:
  - {name: a, function: book, compensate: unbook}
  - {name: hold, type: event, event: go, after: [a]}
`)
}

func testCompensateCancel(t *testing.T, h *Harness) {
	var undone recorder
	registerBooking(h, &undone)
	h.defineCancellable()
	run := h.Start("cancellable", `{}`)
	h.Scheduled(run, "hold", 1)
	h.Cancel(run)
	h.Wait(run, journal.StatusCancelled)
	h.Eventually("a's compensation", func() bool { return len(undone.list()) == 1 })
	if diff := cmp.Diff(comps(h.Events(run)), []string{"StepScheduled a#1", "StepSucceeded a#1"}); diff != "" {
		h.Dump(run)
		t.Errorf("compensation events (-got +want):\n%s", diff)
	}
	if err := h.RT.Cancel(h.Ctx, run, "t", "again"); !errors.Is(err, orchestrator.ErrFinished) {
		t.Errorf("cancel a cancelled run: %v, want ErrFinished", err)
	}
}

// testCancelWakes cancels through the runtime without poking it: the
// runtime schedules the drive the engine's Cancel reports, for the run's
// compensations, as it does for Signal and Complete.
func testCancelWakes(t *testing.T, h *Harness) {
	var undone recorder
	registerBooking(h, &undone)
	h.defineCancellable()
	run := h.Start("cancellable", `{}`)
	h.Scheduled(run, "hold", 1)
	if err := h.RT.Cancel(h.Ctx, run, "semantictest", "no poke"); err != nil {
		t.Fatal(err)
	}
	h.Patience = 3 * time.Second
	h.Eventually("a's compensation after a Cancel without Poke", func() bool { return len(undone.list()) == 1 })
}

func testCompensateFailing(t *testing.T, h *Harness) {
	var fixed atomic.Bool
	var undone recorder
	registerBooking(h, &undone)
	h.Func("undo-flaky", func(ctx context.Context, req step.Request) (step.Result, error) {
		if !fixed.Load() {
			return step.Result{}, errors.New("undo failed")
		}
		return step.Result{}, nil
	})
	h.Define(workflow.New("saga-flaky",
		workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.Step("a", "book", workflow.CompensateWith("undo-flaky"),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(ms)})),
		workflow.Step("pay", "decline", workflow.After("a")),
	), `
name: saga-flaky
onFailure: compensate
steps:
  - {name: a, function: book, compensate: undo-flaky, retry: {maxAttempts: 2, initialInterval: 1ms}}
  - {name: pay, function: decline, after: [a]}
`)
	run := h.Start("saga-flaky", `{}`)
	h.Wait(run, journal.StatusReview)
	want := []string{"StepScheduled a#1", "StepFailed a#1", "RetryScheduled a#2", "StepScheduled a#2", "StepFailed a#2"}
	if diff := cmp.Diff(comps(h.Events(run)), want); diff != "" {
		h.Dump(run)
		t.Errorf("compensation events (-got +want):\n%s", diff)
	}
	// Fixed and resubmitted, the compensation runs again and the run ends
	// failed, as it would have.
	fixed.Store(true)
	if err := h.RT.Resubmit(h.Ctx, orchestrator.Resubmission{Run: run, By: "ops"}); err != nil {
		t.Fatal(err)
	}
	h.Wait(run, journal.StatusFailed)
	want = append(want, "StepScheduled a#3", "StepSucceeded a#3")
	if diff := cmp.Diff(comps(h.Events(run)), want); diff != "" {
		h.Dump(run)
		t.Errorf("compensation events after resubmit (-got +want):\n%s", diff)
	}
}

// testCompensateLate cancels a run while its compensable step runs: the
// step's late success is journaled and compensated.
func testCompensateLate(t *testing.T, h *Harness) {
	var undone recorder
	registerBooking(h, &undone)
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	h.Func("book-slow", func(ctx context.Context, req step.Request) (step.Result, error) {
		entered <- struct{}{}
		return out("slow"), block(ctx, release)
	})
	h.Define(workflow.New("late",
		workflow.Step("a", "book", workflow.CompensateWith("unbook")),
		workflow.Step("b", "book-slow", workflow.After("a"), workflow.CompensateWith("unbook")),
	), `
name: late
steps:
  - {name: a, function: book, compensate: unbook}
  - {name: b, function: book-slow, compensate: unbook, after: [a]}
`)
	run := h.Start("late", `{}`)
	select {
	case <-entered:
	case <-time.After(patience):
		t.Fatal("b never started")
	}
	h.Cancel(run)
	close(release)
	h.Wait(run, journal.StatusCancelled)
	h.Eventually("both compensations", func() bool { return len(undone.list()) == 2 })
	if diff := cmp.Diff(undone.list(), []string{`b "slow"`, `a "booked-a"`}); diff != "" {
		h.Dump(run)
		t.Errorf("compensations (-got +want):\n%s", diff)
	}
}
