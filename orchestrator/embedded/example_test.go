package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// A workflow runs in-process on a SQLite journal (a file that survives
// restarts; `ordo dev` uses the same): start a run, wait for it to settle.
func Example() {
	reg := step.NewRegistry()
	reg.Register("shout", step.Func(func(ctx context.Context, in struct{ Name string }) (string, error) {
		return strings.ToUpper(in.Name), nil
	}))
	def := workflow.New("greet",
		workflow.Key("input.Name"),
		workflow.Step("shout", "shout"),
		workflow.Output("steps.shout.output + '!'"),
	).MustBuild(workflow.Functions(reg.Has))

	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ordo-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlitejournal.New(ctx, filepath.Join(dir, "ordo.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	rt := embedded.New(store, reg)
	defer rt.Close()
	if err := rt.Engine.Register(ctx, def); err != nil {
		panic(err)
	}
	st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "greet", Input: []byte(`{"Name":"ordo"}`)})
	if err != nil {
		panic(err)
	}
	status, _ := rt.Wait(ctx, st.Run)
	head, events, _ := rt.Engine.Store().Load(ctx, st.Run)
	fmt.Println(st.Run, status, head.Status, string(events[len(events)-1].Output))
	// Output: greet/ordo completed completed "ORDO!"
}
