package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// queued starts attempts without waiting, as a Lambda Event invoke does,
// and keeps their requests.
type queued struct{ started []step.Request }

func (q *queued) Invoke(context.Context, step.Request) (step.Response, error) {
	return step.Response{}, fmt.Errorf("not invoked synchronously")
}

func (q *queued) InvokeEvent(_ context.Context, req step.Request) error {
	q.started = append(q.started, req)
	return nil
}

// A step in async invoke mode is started and the Drive returns; its
// result comes back later (in AWS, a Lambda destination record on the
// orchestrator's queue) and DriveResults journals it, once.
func ExampleEngine_DriveResults() {
	ctx := context.Background()
	inv := &queued{}
	e := orchestrator.New(memjournal.New(), inv, orchestrator.WithLogger(slog.New(slog.DiscardHandler)))
	_ = e.Register(ctx, workflow.New("invoice", workflow.Key("input.id"),
		workflow.Step("render", "render-invoice", workflow.Invoke(workflow.InvokeAsync))).MustBuild())
	st, _ := e.Start(ctx, orchestrator.StartRequest{Workflow: "invoice", Input: json.RawMessage(`{"id":"i-1"}`)})

	out, _ := e.Drive(ctx, st.Run)
	fmt.Println("after the start:", out.Status, "- started", inv.started[0].Step, "attempt", inv.started[0].Attempt)

	res := orchestrator.StepResult{Step: "render", Attempt: 1,
		Response: step.Response{Result: step.Result{Output: json.RawMessage(`{"pdf":"i-1.pdf"}`)}}}
	out, _ = e.DriveResults(ctx, st.Run, res, res) // a duplicate is dropped
	fmt.Println("after the result:", out.Status)
	// Output:
	// after the start: running - started render attempt 1
	// after the result: completed
}
