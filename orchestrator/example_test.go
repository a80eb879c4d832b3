package orchestrator_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Decide is pure: given a definition, a run's journal and the time, it says
// what happens next. Here a charge step failed once; the decider schedules a
// retry after the policy's backoff, then starts the second attempt once it
// is due.
func ExampleDecide() {
	def := workflow.New("order",
		workflow.Step("verify", "verify-order"),
		workflow.Step("charge", "charge-payment", workflow.After("verify"),
			workflow.Input(`{"amount": input.total}`),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(2 * time.Second)})),
	).MustBuild()

	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	events := []journal.Event{
		{Kind: journal.RunStarted, At: start, Workflow: "order", Key: "o-1", Input: json.RawMessage(`{"total":42}`)},
		{Kind: journal.StepScheduled, At: start, Step: "verify", Attempt: 1},
		{Kind: journal.StepSucceeded, At: start, Step: "verify", Attempt: 1, Output: json.RawMessage(`true`)},
		{Kind: journal.StepScheduled, At: start, Step: "charge", Attempt: 1},
		{Kind: journal.StepFailed, At: start, Step: "charge", Attempt: 1,
			Error: &journal.Error{Message: "gateway timeout", Kind: "timeout"}},
	}

	now := start.Add(time.Second)
	d, err := orchestrator.Decide(def, events, now)
	if err != nil {
		panic(err)
	}
	for _, e := range d.Events {
		fmt.Printf("%s %s #%d due in %s\n", e.Kind, e.Step, e.Attempt, e.Due.Sub(now))
	}
	fmt.Println("wake at", d.WakeAt.Format(time.TimeOnly))

	events = append(events, d.Events...)
	d, err = orchestrator.Decide(def, events, d.WakeAt)
	if err != nil {
		panic(err)
	}
	for _, inv := range d.Start {
		fmt.Printf("start %s (%s) #%d with %s\n", inv.Step, inv.Function, inv.Attempt, inv.Input)
	}
	// Output:
	// RetryScheduled charge #2 due in 2s
	// wake at 12:00:03
	// start charge (charge-payment) #2 with {"amount":42}
}
