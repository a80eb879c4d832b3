package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/ordoflow/ordo/cli"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// A team's main embeds the CLI with its own steps and definitions; here
// `ordo start` runs the team's workflow on a SQLite journal.
func Example() {
	app := cli.App{
		Register: func(reg *step.Registry) {
			reg.Register("greet-shout", step.Func(func(ctx context.Context, in struct{ Name string }) (string, error) {
				return strings.ToUpper(in.Name), nil
			}))
		},
		Definitions: func(reg *step.Registry) ([]*workflow.Definition, error) {
			d, err := workflow.New("greet", workflow.Key("input.Name"), workflow.Step("shout", "greet-shout")).
				Build(workflow.Functions(reg.Has))
			return []*workflow.Definition{d}, err
		},
	}
	dir, _ := os.MkdirTemp("", "ordo-example-")
	defer os.RemoveAll(dir)
	root := cli.Command(app) // a main calls cli.Main(app) instead
	root.SetArgs([]string{"--db", filepath.Join(dir, "team.db"), "start", "greet", "--input", `{"Name":"ordo"}`})
	if err := root.ExecuteContext(context.Background()); err != nil {
		panic(err)
	}
	// Output: run greet/ordo: completed (new: true)
}
