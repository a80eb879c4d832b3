package internal

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestSQSStartKeyedByMessageID starts a workflow without a key expression
// from envelopes on the trigger queue and stream: a redelivered message (same id)
// starts one run, another message another run, and a definition's key
// expression wins over the message id.
func TestSQSStartKeyedByMessageID(t *testing.T) {
	o, store, _ := newTestOrchestrator(t)
	ctx := context.Background()
	note := workflow.New("note", workflow.Pass("echo", "input")).MustBuild()
	keyed := workflow.New("keyed", workflow.Key("input.id"), workflow.Pass("echo", "input")).MustBuild()
	if err := o.engine.Register(ctx, note, keyed); err != nil {
		t.Fatal(err)
	}
	batch := func(recs ...events.SQSMessage) {
		t.Helper()
		if resp := o.HandleSQS(ctx, events.SQSEvent{Records: recs}); len(resp.BatchItemFailures) > 0 {
			t.Fatalf("batch failures: %+v", resp.BatchItemFailures)
		}
	}
	env := `{"workflow":"note","input":{"x":1}}`
	batch(sqsRecord("n1", env))
	batch(sqsRecord("n1", env)) // redelivered
	batch(sqsRecord("n2", env))
	batch(sqsRecord("k1", `{"workflow":"keyed","input":{"id":"a"}}`), sqsRecord("k2", `{"workflow":"keyed","input":{"id":"a"}}`))
	count := func(wf string) map[string]bool {
		runs, _, err := store.Runs(ctx, journal.Query{Workflow: wf})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, r := range runs {
			ids[r.ID] = true
		}
		return ids
	}
	if got := count("note"); len(got) != 2 || !got["note/sqs:n1"] || !got["note/sqs:n2"] {
		t.Errorf("note runs %v, want note/sqs:n1 and note/sqs:n2", got)
	}
	if got := count("keyed"); len(got) != 1 || !got["keyed/a"] {
		t.Errorf("keyed runs %v, want keyed/a only", got)
	}

	// Kinesis: the record's sequence number, so a shard re-read starts nothing new.
	rec := func(seq string) events.KinesisEventRecord {
		return events.KinesisEventRecord{EventSource: "aws:kinesis", EventSourceArn: "arn:aws:kinesis:us-east-1:000000000000:stream/ordo-orders",
			Kinesis: events.KinesisRecord{SequenceNumber: seq, Data: []byte(env)}}
	}
	for _, recs := range [][]events.KinesisEventRecord{{rec("s1"), rec("s2")}, {rec("s1")}} {
		if resp := o.HandleKinesis(ctx, events.KinesisEvent{Records: recs}); len(resp.BatchItemFailures) > 0 {
			t.Fatalf("kinesis failures: %+v", resp.BatchItemFailures)
		}
	}
	if got := count("note"); len(got) != 4 || !got["note/kinesis:s1"] || !got["note/kinesis:s2"] {
		t.Errorf("note runs %v, want the two SQS runs and note/kinesis:s1, note/kinesis:s2", got)
	}
}
