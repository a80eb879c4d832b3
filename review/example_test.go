package review_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/review"
)

// printer is a Redeliverer that prints what it is asked to do.
type printer struct{}

func (printer) Redispatch(_ context.Context, run string, e journal.Effect) error {
	fmt.Println("redispatch", e.ID, "of", run)
	return nil
}

func (printer) Redeliver(_ context.Context, source, trigger string, body json.RawMessage) error {
	fmt.Println("redeliver", trigger, "from", source, string(body))
	return nil
}

func ExampleResolve() {
	ctx := context.Background()
	store := memjournal.New()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	store.PutReview(ctx, journal.ReviewItem{ID: journal.ReviewID(journal.ReviewMalformedTrigger, "sqs:m7"),
		Kind: journal.ReviewMalformedTrigger, Source: "sqs:orders", Payload: json.RawMessage(`{"tpye":"order"}`),
		Reason: "matches none of the bindings of order", Created: now})

	open, _, _ := store.Reviews(ctx, journal.ReviewQuery{})
	fmt.Println(open[0].ID, "-", open[0].Reason)
	it, err := review.Resolve(ctx, store, printer{}, review.Request{ID: open[0].ID, Action: review.Resubmit,
		By: "ops", Body: json.RawMessage(`{"type":"order"}`)}, now)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(it.Resolution.Action, "by", it.Resolution.By)
	// Output:
	// malformed-trigger/sqs:m7 - matches none of the bindings of order
	// redeliver sqs:m7 from sqs:orders {"type":"order"}
	// resubmitted by ops
}
