package effect_test

import (
	"context"
	"fmt"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/effect"
)

// An executor runs effects by kind and journals each outcome on the run;
// a redelivered effect that already succeeded is skipped.
func ExampleExecutor() {
	ctx := context.Background()
	store := memjournal.New()
	store.Append(ctx, journal.Commit{Run: "order/o1", Workflow: "order", DefHash: "h",
		Events: []journal.Event{{Kind: journal.RunStarted}}})

	x := effect.NewExecutor(store)
	x.Handle("email", effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		fmt.Println("sending", e.ID, "to", e.Target)
		return nil
	}))
	e := journal.Effect{ID: "order/o1/charge/1/0", Kind: "email", Target: "ada@example.org"}
	x.Execute(ctx, "order/o1", e)
	x.Execute(ctx, "order/o1", e) // a redelivery

	_, events, _ := store.Load(ctx, "order/o1")
	fmt.Println(events[len(events)-1].Kind, events[len(events)-1].EffectID)
	// Output:
	// sending order/o1/charge/1/0 to ada@example.org
	// EffectSucceeded order/o1/charge/1/0
}
