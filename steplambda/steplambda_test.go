package steplambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/steplambda"
	"github.com/ordoflow/ordo/workflows"
)

func TestStepHandlerWire(t *testing.T) {
	t.Parallel()
	reg := func(r *step.Registry) {
		r.Register("ok", step.Func(func(ctx context.Context, in struct{ N int }) (map[string]int, error) {
			step.Emit(ctx, step.Effect{Kind: "log", Payload: json.RawMessage(`{"n":1}`)})
			return map[string]int{"n": in.N + 1}, nil
		}))
		r.Register("terminal", step.HandlerFunc(func(context.Context, step.Request) (step.Result, error) {
			return step.Result{}, step.Terminal(step.Kind("card-declined", errors.New("declined")))
		}))
		r.Register("retryable", step.HandlerFunc(func(context.Context, step.Request) (step.Result, error) {
			return step.Result{}, errors.New("busy")
		}))
		r.Register("panics", step.HandlerFunc(func(context.Context, step.Request) (step.Result, error) {
			panic("boom")
		}))
	}
	tests := []struct {
		fn   string
		want step.Response
	}{
		{"ok", step.Response{Result: step.Result{Output: json.RawMessage(`{"n":42}`),
			Effects: []step.Effect{{Kind: "log", Payload: json.RawMessage(`{"n":1}`)}}}}},
		{"terminal", step.Response{Error: &step.Failure{Message: "declined", Kind: "card-declined", Terminal: true}}},
		{"retryable", step.Response{Error: &step.Failure{Message: "busy"}}},
		{"panics", step.Response{Error: &step.Failure{Message: "step s panicked: boom", Kind: "panic"}}},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			t.Parallel()
			h, err := steplambda.Lookup(reg, tt.fn)
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := json.Marshal(step.Request{Workflow: "w", Run: "w/1", Step: "s", Function: tt.fn, Attempt: 1,
				Input: json.RawMessage(`{"N":41}`)})
			out, err := lambda.NewHandler(steplambda.NewHandler(h)).Invoke(context.Background(), payload)
			if err != nil {
				t.Fatalf("invoke: %v (a step failure must travel as data)", err)
			}
			var got step.Response
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("response %s: %v", out, err)
			}
			if d := cmp.Diff(got, tt.want); d != "" {
				t.Errorf("response (-got +want):\n%s", d)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	t.Parallel()
	if _, err := steplambda.Lookup(workflows.Register, "order-teleport"); err == nil {
		t.Fatal("Lookup of an unregistered function: no error")
	}
	if _, err := steplambda.Lookup(workflows.Register, "order-verify"); err != nil {
		t.Fatal(err)
	}
}
