package orchestrator_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// reclaim is the failure Engine.Reclaim journals for an attempt whose
// process stopped.
func reclaim(stepName string, attempt int) journal.Event {
	return failed(stepName, attempt, "the process that invoked it stopped", step.KindLease, false)
}

// reclaimedTimes is a journal where step a of retryDef lost n attempts in
// a row to reclaims, each retried at once.
func reclaimedTimes(n int) []journal.Event {
	events := []journal.Event{started(`{}`)}
	for a := 1; a <= n; a++ {
		events = append(events, scheduled("a", a, `{}`), reclaim("a", a))
		if a < n {
			events = append(events, retry("a", a+1, t0, reclaim("a", a).Error))
		}
	}
	return stamped(events)
}

func stamped(events []journal.Event) []journal.Event {
	for i := range events {
		events[i].Seq = int64(i + 1)
		if events[i].At.IsZero() {
			events[i].At = t0
		}
	}
	return events
}

func decideAt(t *testing.T, def *workflow.Definition, events []journal.Event, now time.Time) orchestrator.Decision {
	t.Helper()
	d, err := orchestrator.Decide(def, events, now)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

// TestReclaimDoesNotUseRetryBudget: two attempts reclaimed after their
// process stopped and one real failure leave the step (MaxAttempts 3)
// two more tries, not review.
func TestReclaimDoesNotUseRetryBudget(t *testing.T) {
	t.Parallel()
	events := reclaimedTimes(2)
	events = append(events, retry("a", 3, t0, reclaim("a", 2).Error), scheduled("a", 3, `{}`),
		failed("a", 3, "flaky", "io", false))
	now := t0.Add(time.Minute)
	d := decideAt(t, retryDef, stamped(events), now)
	if len(d.Events) != 1 || d.Events[0].Kind != journal.RetryScheduled || d.Events[0].Attempt != 4 {
		t.Fatalf("after 2 reclaims and 1 failure, want attempt 4 retried; got %+v (status %q)", d.Events, d.Status)
	}
	// The backoff is that of a first failure (1 s), not of a third.
	if got := d.Events[0].Due.Sub(now); got != time.Second {
		t.Errorf("retry due after %s, want 1s (the first failure's backoff)", got)
	}
}

// TestReclaimRetriedAtOnce: a reclaimed attempt is retried without backoff.
func TestReclaimRetriedAtOnce(t *testing.T) {
	t.Parallel()
	now := t0.Add(time.Minute)
	d := decideAt(t, retryDef, reclaimedTimes(1), now)
	if len(d.Events) < 2 || d.Events[0].Kind != journal.RetryScheduled || !d.Events[0].Due.Equal(now) ||
		d.Events[1].Kind != journal.StepScheduled || d.Events[1].Attempt != 2 {
		t.Fatalf("want attempt 2 retried and scheduled at once, got %+v", d.Events)
	}
	if len(d.Start) != 1 || d.Start[0].Attempt != 2 {
		t.Errorf("want attempt 2 started, got %+v", d.Start)
	}
}

// TestReclaimLimit: past MaxReclaims the run goes to review saying why,
// even though the retry budget is untouched.
func TestReclaimLimit(t *testing.T) {
	t.Parallel()
	d := decideAt(t, retryDef, reclaimedTimes(orchestrator.MaxReclaims), t0)
	if d.Status == journal.StatusReview {
		t.Fatalf("review after %d reclaims, want a retry (the limit is %d)", orchestrator.MaxReclaims, orchestrator.MaxReclaims)
	}
	d = decideAt(t, retryDef, reclaimedTimes(orchestrator.MaxReclaims+1), t0)
	if d.Status != journal.StatusReview || len(d.Events) != 1 {
		t.Fatalf("after %d reclaims want review, got status %q events %+v", orchestrator.MaxReclaims+1, d.Status, d.Events)
	}
	ev := d.Events[0]
	if ev.Error == nil || ev.Error.Kind != step.KindLease || !strings.Contains(ev.Reason, "reclaimed") ||
		!strings.Contains(ev.Reason, "may have run") {
		t.Errorf("review reason %q, error %+v: want kind lease and a reason naming the reclaims", ev.Reason, ev.Error)
	}
}

// TestReclaimBudgetAfterResubmit: a resubmitted step gets a fresh reclaim
// budget as it gets a fresh retry budget.
func TestReclaimBudgetAfterResubmit(t *testing.T) {
	t.Parallel()
	events := reclaimedTimes(orchestrator.MaxReclaims + 1)
	events = append(events, journal.Event{Kind: journal.NeedsReview, Step: "a", Attempt: orchestrator.MaxReclaims + 1},
		journal.Event{Kind: journal.Resubmitted, By: "ops"})
	n := orchestrator.MaxReclaims + 2
	events = append(events, scheduled("a", n, `{}`), reclaim("a", n))
	d := decideAt(t, retryDef, stamped(events), t0)
	if len(d.Events) == 0 || d.Events[0].Kind != journal.RetryScheduled {
		t.Fatalf("a reclaim after a resubmit: want a retry, got status %q events %+v", d.Status, d.Events)
	}
}

// TestReclaimMapItem: a map item's reclaims do not use up its retries.
func TestReclaimMapItem(t *testing.T) {
	t.Parallel()
	def := workflow.New("w",
		workflow.Map("m", "fm", "input.items", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(time.Second)})),
	).MustBuild()
	item := func(e journal.Event) journal.Event { e.Index = 1; return e }
	events := []journal.Event{started(`{"items":[1]}`),
		unleased(journal.Event{Kind: journal.StepScheduled, Step: "m", Attempt: 1, Input: json.RawMessage(`[1]`)}),
		item(scheduled("m", 1, `1`)), item(reclaim("m", 1)),
		item(retry("m", 2, t0, reclaim("m", 1).Error)), item(scheduled("m", 2, `1`)),
		item(failed("m", 2, "flaky", "io", false))}
	d := decideAt(t, def, stamped(events), t0)
	if len(d.Events) == 0 || d.Events[0].Kind != journal.RetryScheduled || d.Events[0].Attempt != 3 {
		t.Fatalf("item: 1 reclaim + 1 failure of 2 attempts: want attempt 3 retried, got %+v", d.Events)
	}
}
