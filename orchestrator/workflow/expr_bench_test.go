package workflow_test

import (
	"testing"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// BenchmarkEval measures CEL evaluation of typical step expressions over an
// order-sized input and two prior outputs.
func BenchmarkEval(b *testing.B) {
	input, err := workflow.DecodeJSON([]byte(`{"orderId": "ord_8f14e45fceea167a", "amount": 4200, "currency": "EUR",
		"customer": {"id": "c_1", "tier": "gold"}, "items": [{"sku": "A-1", "qty": 2, "price": 1500}, {"sku": "D-9", "qty": 1, "price": 1200}]}`))
	if err != nil {
		b.Fatal(err)
	}
	charge, _ := workflow.DecodeJSON([]byte(`{"id": "ch_3PqLm2Kx9", "status": "charged", "amount": 4200}`))
	verify, _ := workflow.DecodeJSON([]byte(`{"ok": true, "score": 0.12}`))
	vars := workflow.Vars{Input: input, State: map[string]any{"charged": true},
		Steps: map[string]any{"charge": map[string]any{"output": charge}, "verify": map[string]any{"output": verify}}, Attempt: 1}
	for _, bc := range []struct{ name, src string }{
		{"field", `input.orderId`},
		{"compare", `input.amount > 1000 && steps.verify.output.ok`},
		{"exists", `input.items.exists(i, i.sku.startsWith("D-"))`},
		{"object", `{"orderId": input.orderId, "charge": steps.charge.output.id, "total": input.amount, "tier": input.customer.tier}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			def, err := workflow.New("bench", workflow.Pass("p", bc.src)).Build()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := def.Eval("p", "output", vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
