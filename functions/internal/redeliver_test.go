package internal

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/review"
)

func orchestratorRecord(id, body string) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, EventSource: "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:ordo-orchestrator"}
}

// TestResubmitMalformedTrigger puts a malformed record on review, resubmits
// it with an edited body through the Redeliverer, and feeds the message it
// sent back to the orchestrator: the run starts as if the trigger had come
// right. Resubmitting a body that is still malformed reopens the item.
func TestResubmitMalformedTrigger(t *testing.T) {
	o, store, q := newTestOrchestrator(t)
	ctx := context.Background()
	r := NewRedeliverer(q, "orch", "effects")
	handle := func(recs ...events.SQSMessage) {
		t.Helper()
		if resp := o.HandleSQS(ctx, events.SQSEvent{Records: recs}); len(resp.BatchItemFailures) > 0 {
			t.Fatalf("batch failures %+v", resp.BatchItemFailures)
		}
	}
	handle(sqsRecord("m1", `{"type":"greeet","body":{"id":"r1"}}`), sqsRecord("m2", `{"type":"nope"}`))
	// Edited: the run starts.
	sent := len(q.bodies)
	if _, err := review.Resolve(ctx, store, r, review.Request{ID: "malformed-trigger/sqs:m1", Action: review.Resubmit,
		Body: json.RawMessage(`{"type":"greet","body":{"id":"r1"}}`)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(q.bodies) != sent+1 {
		t.Fatalf("resubmission sent %d messages, want 1", len(q.bodies)-sent)
	}
	handle(orchestratorRecord("c1", q.bodies[sent]))
	if head, _, err := store.Load(ctx, "greet/r1"); err != nil || head.Status != journal.StatusCompleted {
		t.Fatalf("resubmitted run: %+v %v, want completed", head, err)
	}
	// As it was: still malformed, the item is open again.
	sent = len(q.bodies)
	if _, err := review.Resolve(ctx, store, r, review.Request{ID: "malformed-trigger/sqs:m2", Action: review.Resubmit}, time.Now()); err != nil {
		t.Fatal(err)
	}
	handle(orchestratorRecord("c2", q.bodies[sent]))
	items, _, err := store.Reviews(ctx, journal.ReviewQuery{})
	if err != nil || len(items) != 1 || items[0].ID != "malformed-trigger/sqs:m2" || items[0].Source != "sqs:orders" {
		t.Fatalf("open items %+v %v, want malformed-trigger/sqs:m2 reopened", items, err)
	}
	// A redelivery wrapping another is malformed itself, under its own id.
	nested, _ := json.Marshal(Control{Ordo: ControlRedeliver, Channel: "sqs:orders", Trigger: "sqs:m3", Input: []byte(q.bodies[sent])})
	handle(orchestratorRecord("c3", string(nested)))
	if _, err := store.Review(ctx, "malformed-trigger/sqs:m3"); err != nil {
		t.Fatalf("nested redelivery: %v, want a review item", err)
	}
}

func TestRedispatchFailedEffect(t *testing.T) {
	_, _, q := newTestOrchestrator(t)
	r := NewRedeliverer(q, "orch", "effects")
	e := journal.Effect{ID: "order/o1/ship/1/0", Kind: "http", Target: "https://example.test"}
	if err := r.Redispatch(context.Background(), "order/o1", e); err != nil {
		t.Fatal(err)
	}
	var msg EffectMessage
	if len(q.bodies) != 1 || json.Unmarshal([]byte(q.bodies[0]), &msg) != nil || msg.Run != "order/o1" || msg.Effect.ID != e.ID {
		t.Fatalf("effects queue got %v, want the effect of order/o1", q.bodies)
	}
}
