package refund_test

import (
	"fmt"

	"github.com/ordoflow/ordo/workflows/refund"
)

// Price a refund: a change of mind costs a restocking fee on physical
// goods, never on digital ones.
func ExampleCompute() {
	lines := []refund.Line{
		{SKU: "KETTLE", Qty: 1, UnitPriceCents: 4000},
		{SKU: "EBOOK", Qty: 1, UnitPriceCents: 1000, Digital: true},
	}
	fmt.Printf("%+v\n", refund.Compute(lines, refund.ReasonDefective))
	fmt.Printf("%+v\n", refund.Compute(lines, refund.ReasonChangedMind))
	// Output:
	// {SubtotalCents:5000 RestockingFeeCents:0 AmountCents:5000 Currency:}
	// {SubtotalCents:5000 RestockingFeeCents:600 AmountCents:4400 Currency:}
}
