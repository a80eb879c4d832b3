// Command return-authorize is the Lambda of the OMS step function "return-authorize"
// (package workflows), deployed as a team deploys its own steps (package
// steplambda).
package main

import (
	"github.com/ordoflow/ordo/steplambda"
	"github.com/ordoflow/ordo/workflows"
)

func main() { steplambda.StartRegistered(workflows.Register, "return-authorize") }
