package steplambda_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/steplambda"
)

type reservation struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

func reserve(ctx context.Context, in reservation) (map[string]any, error) {
	if in.Qty <= 0 {
		return nil, step.Terminal(step.Kind("bad-quantity", fmt.Errorf("qty %d", in.Qty)))
	}
	return map[string]any{"reserved": in.Qty}, nil
}

// A step Lambda's main is steplambda.Start(step.Func(reserve)); the
// handler it runs turns each step.Request into a step.Response, failures
// included.
func Example() {
	h := steplambda.NewHandler(step.Func(reserve))
	for _, input := range []string{`{"sku":"KETTLE","qty":2}`, `{"sku":"KETTLE","qty":0}`} {
		resp, _ := h(context.Background(), step.Request{Workflow: "stock", Run: "stock/1", Step: "reserve",
			Function: "stock-reserve", Attempt: 1, Input: json.RawMessage(input)})
		b, _ := json.Marshal(resp)
		fmt.Println(string(b))
	}
	// Output:
	// {"output":{"reserved":2}}
	// {"error":{"message":"qty 0","kind":"bad-quantity","terminal":true}}
}
