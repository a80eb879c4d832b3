package step_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
)

type chargeInput struct {
	OrderID string `json:"orderId"`
	Card    string `json:"card"`
}

type chargeOutput struct {
	ChargeID string `json:"chargeId"`
}

// A step is a typed function; step.Func adapts it to the Handler the
// orchestrator calls (in-process, or as a Lambda).
func ExampleFunc() {
	charge := step.Func(func(ctx context.Context, in chargeInput) (chargeOutput, error) {
		if in.Card == "4000000000000002" {
			return chargeOutput{}, step.Terminal(errors.New("card declined"))
		}
		step.Emit(ctx, step.Effect{Kind: "email", Target: "customer@example.org"})
		_ = step.SetState(ctx, map[string]string{"payment": "charged"})
		return chargeOutput{ChargeID: "ch_" + in.OrderID}, nil
	})

	ok := step.Invoke(context.Background(), charge, step.Request{Step: "charge", Attempt: 1,
		Input: json.RawMessage(`{"orderId":"o1","card":"4242424242424242"}`)})
	fmt.Printf("output %s, state %s, %d effect\n", ok.Output, ok.State, len(ok.Effects))

	declined := step.Invoke(context.Background(), charge, step.Request{Step: "charge", Attempt: 1,
		Input: json.RawMessage(`{"orderId":"o2","card":"4000000000000002"}`)})
	fmt.Printf("error %q, terminal %t\n", declined.Error.Message, declined.Error.Terminal)
	// Output:
	// output {"chargeId":"ch_o1"}, state {"payment":"charged"}, 1 effect
	// error "card declined", terminal true
}
