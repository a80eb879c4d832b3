package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/orchestratortest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func TestReplaySameDefinition(t *testing.T) {
	for _, o := range []order{{ID: "o1", Cents: 1000}, {ID: "o2", Cents: 500, Short: true}, {ID: "o3", Cents: 200_000}} {
		rec := record(t, o)
		if err := verify.Replay(rec, shop()); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
	}
}

func TestReplayCatchesDrift(t *testing.T) {
	retry := workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Minute), MaxInterval: workflow.Duration(2 * time.Hour)})
	cases := []struct {
		name string
		def  *workflow.Definition
		want string
	}{
		{"reordered", shop(workflow.Version("2"), workflow.Step("price", "price"),
			workflow.Step("charge", "charge", workflow.After("price"), workflow.Input(`{"cents": steps.price.output.total}`)),
			workflow.Step("reserve", "reserve", workflow.After("charge"), retry),
			workflow.Step("receipt", "receipt", workflow.After("reserve"))),
			"the journal records StepScheduled reserve attempt 1; definition shop@2 decides StepScheduled charge attempt 1"},
		{"removed", shop(workflow.Version("3"), workflow.Step("price", "price"),
			workflow.Step("charge", "charge", workflow.After("price"), workflow.Input(`{"cents": steps.price.output.total}`)),
			workflow.Step("receipt", "receipt", workflow.After("charge"))),
			`step "reserve" is not in definition shop@3`},
		{"input mapping", shop(workflow.Version("4"), workflow.Step("price", "price"),
			workflow.Step("reserve", "reserve", workflow.After("price"), retry),
			workflow.Step("charge", "charge", workflow.After("reserve"), workflow.Input(`{"cents": steps.price.output.total * 2}`)),
			workflow.Step("receipt", "receipt", workflow.After("charge"))),
			"StepScheduled charge attempt 1; definition shop@4 decides it with a different input"},
		{"retry policy", shop(workflow.Version("5"), workflow.Step("price", "price"),
			workflow.Step("reserve", "reserve", workflow.After("price"),
				workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Hour), MaxInterval: workflow.Duration(2 * time.Hour)})),
			workflow.Step("charge", "charge", workflow.After("reserve"), workflow.Input(`{"cents": steps.price.output.total}`)),
			workflow.Step("receipt", "receipt", workflow.After("charge"))),
			"RetryScheduled reserve attempt 2; definition shop@5 decides it with a different due"},
	}
	rec := record(t, order{ID: "o2", Cents: 500, Short: true})
	for _, c := range cases {
		err := verify.Replay(rec, c.def)
		var d *verify.Drift
		if !errors.As(err, &d) || !errors.Is(err, verify.ErrDrift) {
			t.Errorf("%s: %v, want a drift", c.name, err)
			continue
		}
		t.Log(err)
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "run shop/") || d.Event == 0 {
			t.Errorf("%s: %v\nwant it to name the run, the event and say %q", c.name, err, c.want)
		}
	}
}

func TestReplayNeedsTheRunsDefinition(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	rec.Definition = nil
	if err := verify.Replay(rec, shop()); !errors.Is(err, verify.ErrNoDefinition) {
		t.Errorf("got %v, want ErrNoDefinition", err)
	}
}

func TestReplayIgnoringFields(t *testing.T) {
	slower := shop(workflow.Version("6"), workflow.Step("price", "price"),
		workflow.Step("reserve", "reserve", workflow.After("price"),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Hour), MaxInterval: workflow.Duration(2 * time.Hour)})),
		workflow.Step("charge", "charge", workflow.After("reserve"), workflow.Input(`{"cents": steps.price.output.total}`)),
		workflow.Step("receipt", "receipt", workflow.After("charge")))
	rec := record(t, order{ID: "o2", Cents: 500, Short: true})
	if err := verify.Replay(rec, slower, verify.Ignoring("due")); err != nil {
		t.Errorf("only the retry interval changed and due is ignored: %v", err)
	}
	if err := verify.Replay(rec, slower); !errors.Is(err, verify.ErrDrift) {
		t.Errorf("without ignoring due: %v, want a drift", err)
	}
}

// TestCorruptEvents: a journal whose events do not fold under the run's own
// definition is corrupt, for replay and verify alike, with an error naming
// the commit and the event.
func TestCorruptEvents(t *testing.T) {
	rec := record(t, order{ID: "o1", Cents: 1000})
	rec.Commits[1].Events[0].Step = "prize" // a step the definition never had
	err := verify.Replay(rec, shop())
	if !errors.Is(err, verify.ErrCorrupt) || !strings.Contains(err.Error(), `"prize"`) || !strings.Contains(err.Error(), "commit 2") {
		t.Errorf("replay: %v, want ErrCorrupt naming the step and commit", err)
	}
	checks := check(t, rec, steps(10, fixedStamp), nil, nil)
	var corrupt bool
	for _, c := range checks {
		corrupt = corrupt || errors.Is(c.Err, verify.ErrCorrupt) || errors.Is(c.Err, verify.ErrUnknownStep)
	}
	if !corrupt {
		t.Errorf("verify of a corrupt journal: %v", checks)
	}
}

// TestReplayWaitsEventsAndCallbacks replays runs that waited: an async step
// completed by callback, an event, a wait step, a retry, a timeout.
func TestReplayWaitsEventsAndCallbacks(t *testing.T) {
	def := workflow.New("approve", workflow.Version("1"),
		workflow.Step("ask", "ask", workflow.Async(), workflow.Timeout(48*time.Hour)),
		workflow.Await("paid", "payment", workflow.After("ask"), workflow.Timeout(time.Hour)),
		workflow.Wait("cool", 10*time.Minute, workflow.After("paid")),
		workflow.Step("close", "close", workflow.After("cool")),
	).MustBuild()
	h := orchestratortest.New(t, nil, []*workflow.Definition{def})
	h.Stub("ask", step.Result{})
	h.Stub("close", orchestratortest.Sequence(orchestratortest.Fail(errors.New("busy")), orchestratortest.Output("closed")))

	done := h.Start("approve", map[string]int{"n": 1})
	h.Advance(time.Hour)
	h.Complete(done.Token("ask"), true)
	h.Signal(done, "payment", map[string]int{"cents": 100})
	done.Settle().AssertStatus(journal.StatusCompleted)

	late := h.Start("approve", map[string]int{"n": 2})
	h.Complete(late.Token("ask"), true)
	late.Settle().AssertStatus(journal.StatusReview) // the event never came

	for _, run := range []*orchestratortest.Run{done, late} {
		rec, err := verify.Record(context.Background(), h.Store, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify.Replay(rec, def); err != nil {
			t.Errorf("%s under its own definition: %v", run.ID, err)
		}
		shorter := workflow.New("approve", workflow.Version("2"),
			workflow.Step("ask", "ask", workflow.Async(), workflow.Timeout(48*time.Hour)),
			workflow.Await("paid", "payment", workflow.After("ask"), workflow.Timeout(30*time.Minute)),
			workflow.Wait("cool", 10*time.Minute, workflow.After("paid")),
			workflow.Step("close", "close", workflow.After("cool")),
		).MustBuild()
		if err := verify.Replay(rec, shorter); !errors.Is(err, verify.ErrDrift) {
			t.Errorf("%s with a shorter event timeout: %v, want a drift", run.ID, err)
		}
	}
}
