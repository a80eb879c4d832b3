package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

// Register the OMS step functions, build the definitions and run one step
// by hand, as the orchestrator does.
func Example() {
	reg := step.NewRegistry()
	workflows.Register(reg)
	defs, err := workflows.Definitions(reg)
	if err != nil {
		panic(err)
	}
	for _, d := range defs {
		var steps []string
		for _, s := range d.Steps {
			steps = append(steps, s.Name)
		}
		fmt.Printf("%s@%s: %s\n", d.Name, d.Version, strings.Join(steps, ", "))
	}

	verify, _ := reg.Lookup("order-verify")
	res, err := verify.Handle(context.Background(), step.Request{
		Workflow: "order", Step: "verify", Attempt: 1, Input: workflows.SampleOrder(6),
	})
	if err != nil {
		panic(err)
	}
	var out struct {
		OrderID     string   `json:"orderId"`
		HasDigital  bool     `json:"hasDigital"`
		DigitalSKUs []string `json:"digitalSkus"`
	}
	_ = json.Unmarshal(res.Output, &out)
	fmt.Printf("%s: digital %v %v; state %s\n", out.OrderID, out.HasDigital, out.DigitalSKUs, res.State)
	// Output:
	// order@2: verify, fraud, reserve, charge, warranty, ship, history
	// refund@1: validate, compute, issue, notify
	// return@1: authorize, receive, inspect, refund, notify
	// ord-000006: digital true [AC-LAPTOP-3Y]; state {"status":"verified","totalCents":57800}
}
