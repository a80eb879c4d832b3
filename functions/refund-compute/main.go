// Command refund-compute is the Lambda of the OMS step function "refund-compute": a
// step.Request in, a step.Response out (see functions/internal.StepHandler).
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/workflows"
)

func main() {
	internal.JSONLogger(internal.LogLevel())
	h, err := internal.LookupStep(workflows.Register, "refund-compute")
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(internal.StepHandler(h))
}
