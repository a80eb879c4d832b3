// Command ordo-noop-step is the benchmark's step Lambda: a step.Request in,
// the same input back as the step's output. bench/template.yaml deploys it;
// ordo-bench runs it on the local AWS stack.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/ordoflow/ordo/bench"
	"github.com/ordoflow/ordo/orchestrator/step"
)

func main() {
	lambda.Start(func(ctx context.Context, req step.Request) (step.Response, error) {
		return step.Invoke(ctx, bench.Noop, req), nil
	})
}
