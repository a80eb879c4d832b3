package verify_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/orchestratortest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// A recorded run is checked twice before a deploy: its step attempts
// against the new step code, its decisions against the new definition.
func Example() {
	ctx := context.Background()
	v1 := workflow.New("greet", workflow.Version("1"),
		workflow.Step("hello", "hello"),
		workflow.Step("bye", "bye", workflow.After("hello")),
	).MustBuild()
	hello := func(greeting string) step.Handler {
		return step.Func(func(_ context.Context, in struct{ Name string }) (string, error) {
			return greeting + ", " + in.Name, nil
		})
	}
	reg := step.NewRegistry()
	reg.Register("hello", hello("Hello"))
	reg.Register("bye", orchestratortest.Output("bye"))

	// Record a run (here with the harness; in production, from the journal).
	h := orchestratortest.New(&testing.T{}, reg, []*workflow.Definition{v1})
	run := h.Run("greet", map[string]string{"name": "Ada"})
	rec, err := verify.Record(ctx, h.Store, run.ID)
	if err != nil {
		panic(err)
	}

	// The hello step now says "Hi".
	next := step.NewRegistry()
	next.Register("hello", hello("Hi"))
	next.Register("bye", orchestratortest.Output("bye"))
	v := &verify.Verifier{Invoker: embedded.Invoker{Registry: next}}
	checks, err := v.Steps(ctx, rec, v1)
	if err != nil {
		panic(err)
	}
	for _, c := range checks {
		fmt.Println(c)
	}

	// Version 2 says goodbye first.
	v2 := workflow.New("greet", workflow.Version("2"),
		workflow.Step("bye", "bye"),
		workflow.Step("hello", "hello", workflow.After("bye")),
	).MustBuild()
	err = verify.Replay(rec, v2)
	var drift *verify.Drift
	if errors.As(err, &drift) {
		fmt.Printf("event %d, commit %d: %s\n", drift.Event, drift.Commit, drift.Reason)
	}
	// Output:
	// FAIL hello attempt 1 (hello): 1 difference(s)
	//     output: recorded "Hello, Ada", got "Hi, Ada"
	// PASS bye attempt 1 (bye)
	// event 2, commit 2: the journal records StepScheduled hello attempt 1; definition greet@2 decides StepScheduled bye attempt 1
}
