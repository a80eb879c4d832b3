// Command ordo-nap-step is the mode-cost benchmark's step Lambda: it naps
// for the request input's napMs milliseconds and answers a small output.
// bench/modecost/template.yaml deploys it beside the platform; the
// benchmark (bench.ModeCost) runs it synchronously and asynchronously.
package main

import (
	"github.com/ordoflow/ordo/bench"
	"github.com/ordoflow/ordo/steplambda"
)

func main() { steplambda.Start(bench.Nap) }
