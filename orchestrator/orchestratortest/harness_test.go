package orchestratortest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/orchestratortest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// shipping is a workflow whose retries back off for minutes and whose
// wait lasts a day: a test that slept through them would take hours.
func shipping() *workflow.Definition {
	return workflow.New("ship",
		workflow.Step("label", "make-label", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 5,
			InitialInterval: workflow.Duration(5 * time.Minute), BackoffCoefficient: 3, MaxInterval: workflow.Duration(time.Hour)})),
		workflow.Wait("cool-off", 24*time.Hour, workflow.After("label")),
		workflow.Step("dispatch", "dispatch", workflow.After("cool-off"), workflow.Input(`{"label": steps.label.output}`)),
	).MustBuild()
}

func registry() *step.Registry {
	reg := step.NewRegistry()
	reg.Register("make-label", step.Func(func(ctx context.Context, in struct{ Order string }) (string, error) {
		req, _ := step.RequestFrom(ctx)
		if req.Attempt < 3 {
			return "", errors.New("label printer busy")
		}
		return "LBL-" + in.Order, nil
	}))
	reg.Register("dispatch", step.Func(func(ctx context.Context, in struct{ Label string }) (string, error) {
		step.Emit(ctx, step.Effect{Kind: "email", Target: "ops@example.com", Payload: []byte(`"dispatched"`)})
		return "sent " + in.Label, nil
	}))
	return reg
}

func TestRetriesAndTimersRunOnTheManualClock(t *testing.T) {
	h := orchestratortest.New(t, registry(), []*workflow.Definition{shipping()})
	began := time.Now()
	run := h.Run("ship", map[string]string{"order": "o-1"})
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the run took %s of real time", took)
	}
	run.AssertStatus(journal.StatusCompleted)
	run.AssertAttempts("label", 3)
	run.AssertSteps("label", "cool-off", "dispatch")
	run.AssertOutput("dispatch", "sent LBL-o-1")
	// 5 min + 15 min of backoff, then a day's wait.
	if got, want := h.Now().Sub(orchestratortest.Epoch), 20*time.Minute+24*time.Hour; got != want {
		t.Errorf("clock moved %s, want %s", got, want)
	}
	if got := h.Effects(); len(got) != 1 || got[0].Kind != "email" {
		t.Errorf("effects performed: %+v, want one email", got)
	}
}

func TestStartDoesNotMoveTheClock(t *testing.T) {
	h := orchestratortest.New(t, registry(), []*workflow.Definition{shipping()})
	run := h.Start("ship", map[string]string{"order": "o-2"})
	run.AssertAttempts("label", 1)
	if s := run.Status(); s != journal.StatusRunning {
		t.Fatalf("status %s, want running (a retry is due later)", s)
	}
	h.Advance(4 * time.Minute)
	run.AssertAttempts("label", 1)
	h.Advance(time.Minute)
	run.AssertAttempts("label", 2)
}

func TestStubReplacesAStep(t *testing.T) {
	h := orchestratortest.New(t, registry(), []*workflow.Definition{shipping()})
	h.Stub("label", step.Terminal(errors.New("address unknown")))
	run := h.Run("ship", map[string]string{"order": "o-3"})
	run.AssertStatus(journal.StatusReview)
	run.AssertAttempts("label", 1)
	if n := len(h.Calls("dispatch")); n != 0 {
		t.Errorf("dispatch called %d times after label failed for good", n)
	}
}

func TestSequenceVariesAStubByAttempt(t *testing.T) {
	h := orchestratortest.New(t, registry(), []*workflow.Definition{shipping()})
	h.Stub("make-label", orchestratortest.Sequence(orchestratortest.Fail(errors.New("jam")), orchestratortest.Output("LBL-X")))
	run := h.Run("ship", map[string]string{"order": "o-4"})
	run.AssertStatus(journal.StatusCompleted)
	run.AssertAttempts("label", 2)
	run.AssertOutput("dispatch", "sent LBL-X")
	calls := h.Calls("dispatch")
	if len(calls) != 1 || string(calls[0].Input) != `{"label":"LBL-X"}` {
		t.Errorf("dispatch got %+v", calls)
	}
}

func TestEventsAndCallbacks(t *testing.T) {
	def := workflow.New("approve",
		workflow.Step("ask", "ask-manager", workflow.Async(), workflow.Timeout(48*time.Hour)),
		workflow.Await("paid", "payment-received", workflow.After("ask"), workflow.Timeout(time.Hour)),
	).MustBuild()
	h := orchestratortest.New(t, nil, []*workflow.Definition{def})
	h.Stub("ask-manager", step.Result{})

	run := h.Start("approve", nil)
	h.Advance(47 * time.Hour)
	run.AssertStatus(journal.StatusRunning)
	h.Complete(run.Token("ask"), map[string]bool{"approved": true})
	run.AssertOutput("ask", map[string]bool{"approved": true})
	h.Signal(run, "payment-received", map[string]int{"cents": 4200})
	run.Settle().AssertStatus(journal.StatusCompleted)
	run.AssertOutput("paid", map[string]int{"cents": 4200})

	late := h.Start("approve", map[string]string{"n": "2"})
	h.Complete(late.Token("ask"), true)
	late.Settle() // nothing sends the event: its timeout falls due
	late.AssertStatus(journal.StatusReview)
}

func TestSubRunsAreDrivenToo(t *testing.T) {
	child := workflow.New("child", workflow.Step("work", "work")).MustBuild()
	parent := workflow.New("parent", workflow.Sub("call", "child"),
		workflow.Step("after", "work", workflow.After("call"))).MustBuild()
	h := orchestratortest.New(t, nil, []*workflow.Definition{child, parent})
	h.Stub("work", orchestratortest.Sequence(orchestratortest.Fail(errors.New("flaky")), orchestratortest.Output(1)))
	run := h.Run("parent", nil)
	run.AssertStatus(journal.StatusCompleted)
	run.AssertSteps("call", "after")
}
