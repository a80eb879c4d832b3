package steplambda_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/trace"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/steplambda"
)

// The step's context carries the span that invoked the attempt (from the
// request's traceparent), so spans the step starts join the run's trace.
func TestHandlerContextCarriesTheAttemptsSpan(t *testing.T) {
	t.Parallel()
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	got := make(chan trace.SpanContext, 1)
	h := steplambda.NewHandler(step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		got <- trace.SpanContextFromContext(ctx)
		return step.Result{}, nil
	}))
	payload, _ := json.Marshal(step.Request{Run: "w/1", Step: "s", Attempt: 1, Trace: parent})
	if _, err := lambda.NewHandler(h).Invoke(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	sc := <-got
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" || !sc.IsSampled() || !sc.IsRemote() {
		t.Errorf("the step's context has span %v, want the traceparent's (remote, sampled)", sc)
	}
}
