package internal

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// smallStore refuses commits whose encoded events exceed limit bytes, as a
// journal without an offload bucket refuses one over its item limit.
type smallStore struct {
	*memjournal.Store // its review items too
	limit             int
}

func (s smallStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	if b, err := journal.EncodeEvents(c.Events); err == nil && len(b) > s.limit {
		return 0, journal.NewTooLargeError(c, "encoded events", len(b), s.limit)
	}
	return s.Store.Append(ctx, c)
}

// TestTooLargeMessagesGoToReview: a start, an event or a completion whose
// payload the journal cannot take is not retried until the DLQ: the
// record goes to review (a malformed-trigger item naming the size) and the
// batch reports no failure.
func TestTooLargeMessagesGoToReview(t *testing.T) {
	o, store, _ := newTestOrchestratorOn(t, func(s journal.Store) journal.Store { return smallStore{s.(*memjournal.Store), 8 << 10} })
	ctx := context.Background()
	def, err := workflow.New("approve", workflow.Key("input.id"),
		workflow.Await("wait", "approved"),
		workflow.Step("cb", "echo", workflow.After("wait"), workflow.Async())).Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := o.engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	big := `"` + strings.Repeat("x", 10<<10) + `"`
	send := func(id, body string) {
		t.Helper()
		if resp := o.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{sqsRecord(id, body)}}); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: %+v, want no failure (the record goes to review)", id, resp)
		}
	}
	send("m1", `{"workflow":"approve","input":{"id":"x","pad":`+big+`}}`)
	send("m2", `{"workflow":"approve","input":{"id":"x"}}`)
	send("m3", `{"ordo":"event","run":"approve/x","name":"approved","input":`+big+`}`)
	send("m4", `{"ordo":"event","run":"approve/x","name":"approved","input":{"by":"ops"}}`)
	token := testKeys.Sign(callback.Claims{Run: "approve/x", Step: "cb", Attempt: 1})
	send("m5", `{"ordo":"complete","token":"`+token+`","input":`+big+`}`)
	items, _, err := store.Reviews(ctx, journal.ReviewQuery{Kind: journal.ReviewMalformedTrigger})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range items {
		got[it.ID] = it.Reason
	}
	for _, id := range []string{"malformed-trigger/sqs:m1", "malformed-trigger/sqs:m3", "malformed-trigger/sqs:m5"} {
		if !strings.Contains(got[id], "limit 8192") {
			t.Errorf("review item %s: reason %q, want one naming the journal's limit", id, got[id])
		}
	}
	if len(items) != 3 {
		t.Errorf("review items %v, want the 3 oversized records", got)
	}
	// The run is still waiting for its callback: a small one completes it.
	send("m6", `{"ordo":"complete","token":"`+token+`","input":"ok"}`)
	if head, _, _ := store.Load(ctx, "approve/x"); head.Status != journal.StatusCompleted {
		t.Errorf("run %s, want completed", head.Status)
	}
}
