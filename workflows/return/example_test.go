package returns_test

import (
	"context"
	"fmt"

	"github.com/ordoflow/ordo/workflows/refund"
	returns "github.com/ordoflow/ordo/workflows/return"
)

// Inspect a change-of-mind return: unopened goods are refunded in full,
// opened ones less the restocking fee, damaged ones not at all.
func ExampleInspect() {
	req := returns.Request{ReturnID: "rtn-1", Reason: refund.ReasonChangedMind}
	for _, c := range []string{returns.ConditionUnopened, returns.ConditionOpened, returns.ConditionDamaged} {
		req.Items = append(req.Items, returns.Item{Line: refund.Line{SKU: c, Qty: 1, UnitPriceCents: 1000}, Condition: c})
	}
	insp, _ := returns.Inspect(context.Background(), returns.InspectInput{Request: req, RMA: "RMA-1"})
	for _, l := range insp.Lines {
		fmt.Printf("%-8s %3d%%  %s\n", l.Condition, l.RefundPercent, l.Note)
	}
	// Output:
	// unopened 100%  unopened: full refund
	// opened    85%  opened: restocking fee applies
	// damaged    0%  damaged after delivery: rejected
}
