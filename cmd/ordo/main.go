// Command ordo is the ordo CLI with the sample OMS domain (package
// workflows): run the OMS demo, a local dev server, start and inspect runs,
// draw workflows, manage definitions.
//
//	ordo demo --orders 300
//	ordo dev --addr 127.0.0.1:8080
//	ordo start order --input @order.json
//	ordo runs --status review
//	ordo show order/o-123
//	ordo graph order --format mermaid
//	ordo definitions push order.yaml
//
// It is the public entry a team's own main calls too (package cli), with
// the OMS steps and definitions as its App, plus the demo command.
package main

import (
	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/cli"
	"github.com/ordoflow/ordo/workflows"
)

func main() {
	cli.Main(cli.App{
		Register:    workflows.Register,
		Definitions: workflows.Definitions,
		Commands:    []func(*cli.Env) *cobra.Command{demoCmd},
		Setup:       "github.com/ordoflow/ordo/workflows.Setup",
	})
}
