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
// The journal is a SQLite file chosen by --db or ORDO_DB (default
// ./ordo.db).
package cli
