// Command order-record-history is the Lambda of the OMS step function "order-record-history"
// (package workflows), deployed as a team deploys its own steps (package
// steplambda).
package main

import (
	"github.com/ordoflow/ordo/steplambda"
	"github.com/ordoflow/ordo/workflows"
)

func main() { steplambda.StartRegistered(workflows.Register, "order-record-history") }
