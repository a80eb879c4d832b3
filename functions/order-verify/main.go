// Command order-verify is the Lambda of the OMS step function "order-verify"
// (package workflows), deployed as a team deploys its own steps (package
// steplambda).
package main

import (
	"github.com/ordoflow/ordo/steplambda"
	"github.com/ordoflow/ordo/workflows"
)

func main() { steplambda.StartRegistered(workflows.Register, "order-verify") }
