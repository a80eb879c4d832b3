package order_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows/order"
)

// Build the order definition against the registered step functions, then
// charge a declined card: the failure is terminal, so the run would go to
// manual review instead of retrying.
func Example() {
	reg := step.NewRegistry()
	order.Register(reg)
	def := order.Workflow().MustBuild(workflow.Functions(reg.Has))
	for _, s := range def.Steps {
		fmt.Printf("%-8s after %v\n", s.Name, s.After)
	}

	in, _ := json.Marshal(order.ChargeInput{Order: order.Order{
		OrderID:  "ord-1",
		Customer: order.Customer{ID: "cus-1", Email: "ada@example.com"},
		Items:    []order.Item{{SKU: "KETTLE", Qty: 1, UnitPriceCents: 3999}},
		Payment:  order.Payment{CardNumber: order.CardDeclined},
	}})
	charge, _ := reg.Lookup(order.FnCharge)
	_, err := charge.Handle(context.Background(), step.Request{Step: "charge", Attempt: 1, Input: in})
	fmt.Println(err, "| terminal:", step.IsTerminal(err))
	// Output:
	// verify   after []
	// fraud    after [verify]
	// reserve  after [verify]
	// charge   after [fraud reserve]
	// warranty after [charge]
	// ship     after [charge warranty]
	// history  after [ship]
	// order ord-1: card declined by issuer (card ending 0002) | terminal: true
}
