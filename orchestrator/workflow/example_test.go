package workflow_test

import (
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func ExampleNew() {
	def, err := workflow.New("order",
		workflow.Version("2"),
		workflow.Key("input.orderId"),
		workflow.Step("verify", "verify-order"),
		workflow.Step("charge", "charge-payment",
			workflow.After("verify"),
			workflow.When("input.total > 0"),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 5})),
		workflow.Pass("receipt", `{"orderId": input.orderId, "paid": steps.charge.output.amount}`,
			workflow.After("charge")),
	).Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(def.Name, def.Version, def.Deps("verify"), def.RetryPolicy(def.Step("charge")).MaxAttempts)

	input, _ := workflow.DecodeJSON([]byte(`{"orderId": "o-1", "total": 12.5}`))
	key, _ := def.EvalKey(input)
	run, _ := def.Eval("charge", "when", workflow.Vars{Input: input})
	receipt, _ := def.Eval("receipt", "output", workflow.Vars{
		Input: input,
		Steps: map[string]any{"charge": map[string]any{"output": map[string]any{"amount": int64(1250)}}},
	})
	fmt.Println(key, run, receipt)
	// Output:
	// order 2 [charge] 5
	// o-1 true map[orderId:o-1 paid:1250]
}

func ExampleBuilder_Build_invalid() {
	_, err := workflow.New("order",
		workflow.Step("verify", "verify-order", workflow.After("charge")),
		workflow.Step("charge", "charge-payment", workflow.After("verify")),
	).Build()
	fmt.Println(errors.Is(err, workflow.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// workflow order is invalid: step "charge": after: cycle: verify -> charge -> verify
}

func ExampleLoad() {
	src := []byte(`
name: order
steps:
  - name: verify
    function: verify-order
  - name: charge
    function: charge-payment
    after: [verify]
    when: input.total > 0
  - name: refund
    function: refund-payment
    after: [charge]
`)
	registered := map[string]bool{"verify-order": true, "charge-payment": true}
	_, err := workflow.Load(src, "order.yaml", workflow.Functions(func(fn string) bool { return registered[fn] }))
	var invalid *workflow.InvalidError
	if errors.As(err, &invalid) {
		for _, p := range invalid.Problems {
			fmt.Printf("line %d, step %s, field %s: %s\n", p.Line, p.Step, p.Field, p.Msg)
		}
	}

	registered["refund-payment"] = true
	def, err := workflow.Load(src, "order.yaml", workflow.Functions(func(fn string) bool { return registered[fn] }))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(def.Name, def.Version, len(def.Steps), def.Step("charge").When)
	// Output:
	// line 11, step refund, field function: function "refund-payment" is not registered
	// order 1 3 input.total > 0
}

func ExampleDefinition_Mermaid() {
	def := workflow.New("order",
		workflow.Step("verify", "verify-order"),
		workflow.Step("charge", "charge-payment", workflow.After("verify"), workflow.When("input.total > 0")),
	).MustBuild()
	fmt.Print(def.Mermaid(map[string]string{"verify": "succeeded", "charge": "running"}))
	// Output:
	// flowchart TD
	// 	n1["verify<br/>verify-order"]
	// 	n2["charge<br/>charge-payment"]
	// 	n1 -.->|"input.total #62; 0"| n2
	// 	classDef succeeded fill:#c8e6c9,stroke:#2e7d32
	// 	class n1 succeeded
	// 	classDef running fill:#bbdefb,stroke:#1565c0
	// 	class n2 running
}
