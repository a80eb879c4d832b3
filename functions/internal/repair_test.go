package internal

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
)

// TestRepairSweep runs the scheduled sweep's handler against DynamoDB
// Local: a run whose last head write was lost (its head still says
// running, its commits say completed) is listed as completed after one
// sweep, and the next sweep finds nothing to do.
func TestRepairSweep(t *testing.T) {
	t.Parallel()
	db := dynamotest.Client(t)
	table := dynamotest.Table(t, db)
	store := dynamojournal.New(db, table)
	t0 := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	ctx := t.Context()
	const run = "order/ord-lost"
	if _, err := store.Append(ctx, journal.Commit{Run: run, Workflow: "order", DefHash: "sha256:o", At: t0,
		Events: []journal.Event{{Kind: journal.RunStarted, At: t0, Workflow: "order", DefHash: "sha256:o"}}}); err != nil {
		t.Fatal(err)
	}
	done := t0.Add(time.Second)
	if _, err := store.Append(ctx, journal.Commit{Run: run, After: 1, At: done, Status: journal.StatusCompleted,
		Events: []journal.Event{{Kind: journal.RunCompleted, At: done}}}); err != nil {
		t.Fatal(err)
	}
	// Put the head back where it was before the completion, as a head
	// write lost with its writer leaves it.
	k := t0.Format("2006-01-02T15:04:05.000000000Z") + "#" + run
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &table,
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: dynamojournal.RunPartition(run)},
			"sk": &types.AttributeValueMemberS{Value: "HEAD"},
		},
		UpdateExpression:         aws.String("SET #st = :st, #seq = :one, #up = :t, gsi2pk = :g2, gsi1sk = :k, gsi2sk = :k"),
		ExpressionAttributeNames: map[string]string{"#st": "status", "#seq": "seq", "#up": "updated"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":st":  &types.AttributeValueMemberS{Value: "running"},
			":one": &types.AttributeValueMemberN{Value: "1"},
			":t":   &types.AttributeValueMemberS{Value: t0.Format("2006-01-02T15:04:05.000000000Z")},
			":g2":  &types.AttributeValueMemberS{Value: dynamojournal.StatusPartition(journal.StatusRunning, run, dynamojournal.DefaultIndexShards)},
			":k":   &types.AttributeValueMemberS{Value: k},
		}}); err != nil {
		t.Fatal(err)
	}
	listed := func(st journal.Status) bool {
		runs, _, err := store.Runs(ctx, journal.Query{Status: st})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs) == 1 && runs[0].ID == run
	}
	waitFor(t, "the lagging head listed as running", func() bool { return listed(journal.StatusRunning) })

	h := NewRepair(dynamojournal.New(db, table), slog.New(slog.NewTextHandler(io.Discard, nil)))
	res, err := h.Handle(ctx)
	if err != nil || res.Repaired != 1 {
		t.Fatalf("first sweep: got %+v, %v, want 1 head repaired", res, err)
	}
	waitFor(t, "the run listed as completed", func() bool { return listed(journal.StatusCompleted) && !listed(journal.StatusRunning) })
	if res, err := h.Handle(ctx); err != nil || res.Repaired != 0 {
		t.Errorf("second sweep: got %+v, %v, want nothing repaired", res, err)
	}
}

type failingRepairer struct{ n int }

func (f failingRepairer) RepairHeads(context.Context) (int, error) {
	return f.n, errors.New("throttled")
}

// TestRepairSweepFails checks that a sweep the journal fails fails its
// invocation (so the function's Errors alarm shows it) and still reports
// the heads written before the failure.
func TestRepairSweepFails(t *testing.T) {
	h := NewRepair(failingRepairer{n: 3}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	res, err := h.Handle(t.Context())
	if err == nil || res.Repaired != 3 {
		t.Errorf("got %+v, %v, want 3 repaired and an error", res, err)
	}
}

// waitFor polls cond until it holds, or fails after a deadline (indexes
// are eventually consistent).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
