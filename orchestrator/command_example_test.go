package orchestrator_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// A caller that could not get a run driven after a command (its scheduler
// failed with ErrNotScheduled) repeats the command with the same command
// id: the repeat journals nothing and reports the run as needing a drive
// again, so the run is scheduled without the event being received twice.
func ExampleWithCommandID() {
	ctx := context.Background()
	store := memjournal.New()
	e := orchestrator.New(store, nil)
	def := workflow.New("approval", workflow.Key("input.id"), workflow.Await("wait", "approved")).MustBuild()
	if err := e.Register(ctx, def); err != nil {
		panic(err)
	}
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "approval", Input: json.RawMessage(`{"id":"a-1"}`)})
	if err != nil {
		panic(err)
	}
	cmd := orchestrator.WithCommandID(ctx, "api:7f3c")
	for range 2 { // the second is the client's retry after a 503
		rec, err := e.Signal(cmd, st.Run, "approved", json.RawMessage(`{"by":"ada"}`))
		if err != nil {
			panic(err)
		}
		fmt.Println("needs a drive:", rec.NeedsDrive(st.Run))
	}
	_, events, _ := store.Load(ctx, st.Run)
	n := 0
	for _, ev := range events {
		if ev.Kind == journal.EventReceived {
			n++
		}
	}
	fmt.Println("events received:", n)
	// Output:
	// needs a drive: true
	// needs a drive: true
	// events received: 1
}
