// Package cli is the ordo command-line tool as a library: a team's own
// main embeds the whole CLI with its step functions, definitions and
// effect handlers, and gets every command (dev, start, runs, show, graph,
// definitions, cancel, resubmit, event, callback, local, ...) working on
// its workflows.
//
//	package main
//
//	import (
//		"github.com/ordoflow/ordo/cli"
//		"example.com/concessions/steps"
//	)
//
//	func main() {
//		cli.Main(cli.App{Register: steps.Register, Definitions: steps.Definitions})
//	}
//
// ordo's own cmd/ordo is such a main, with the sample OMS domain
// (package workflows) and one extra command (demo) added through
// App.Commands: nothing in this package knows the sample.
//
// Where commands act:
//
//	flag                         commands              what they act on
//	---------------------------  --------------------  ----------------------------------------------
//	(none)                       all                   the SQLite journal --db / ORDO_DB (./ordo.db)
//	--addr host:port             start, runs, show,    a running `ordo dev`
//	--addr https://…             graph, definitions,   the deployed platform's API (SigV4-signed)
//	                             cancel, resubmit,
//	                             event, callback
//	--journal dynamodb://TABLE   runs, show, graph,    a DynamoDB journal, read only (or ORDO_TABLE)
//	                             definitions list
//	--steps FILE                 dev, start, ...       steps served over HTTP (or ORDO_STEP_URLS)
//
// Read commands (runs, show, graph, definitions list) never write: they
// register no definitions and create no journal. `ordo init DIR` scaffolds
// a team project, `ordo functions` lists the step functions a deployment
// can invoke, `ordo pull RUN` copies a run from a DynamoDB journal into the
// local one.
package cli
