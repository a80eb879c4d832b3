package dynamojournal_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

func ExampleStatusPartition() {
	// The byStatus partition of a run in review, among 8 shards: the same
	// run always lands in the same shard.
	fmt.Println(dynamojournal.StatusPartition(journal.StatusReview, "order/ord-7", 8))
	fmt.Println(dynamojournal.WorkflowPartition("order", "order/ord-7", 8))
	fmt.Println(dynamojournal.RunPartition("order/ord-7"))
	// Output:
	// ST#review#7
	// WF#order#7
	// RUN#order/ord-7
}

// TestShardSpread checks that heads of one status and one workflow spread
// over the shards, and that a paged listing merges them in order, each
// run once.
func TestShardSpread(t *testing.T) {
	t.Parallel()
	s, db, table := newStore(t)
	var want []string
	for i := range 40 {
		c := startCommit(fmt.Sprintf("run-%02d", i))
		c.Status = journal.StatusReview
		c.At = t0.Add(time.Duration(i) * time.Second)
		mustAppend(t, s, c)
		want = append([]string{c.Run}, want...) // newest first
	}
	shards := map[string]bool{}
	for _, run := range want {
		it := rawHeadItem(t, db, table, run)
		st, wf := it["gsi2pk"].(*types.AttributeValueMemberS).Value, it["gsi1pk"].(*types.AttributeValueMemberS).Value
		if st != dynamojournal.StatusPartition(journal.StatusReview, run, dynamojournal.DefaultIndexShards) ||
			wf != dynamojournal.WorkflowPartition("order", run, dynamojournal.DefaultIndexShards) {
			t.Fatalf("%s: index keys %s and %s", run, st, wf)
		}
		shards[st] = true
	}
	if len(shards) < dynamojournal.DefaultIndexShards/2 {
		t.Errorf("40 runs landed in %d shards of %d", len(shards), dynamojournal.DefaultIndexShards)
	}
	for _, q := range []journal.Query{{Status: journal.StatusReview}, {Workflow: "order"}, {}} {
		eventuallyPaged(t, s, q, 7, want)
	}
}

// TestUnshardedHeads writes heads as a journal before sharding did (index
// partition keys "ST#<status>" and "WF#<workflow>") beside sharded ones,
// and checks that listings merge both, and that a legacy run's next status
// change moves it to its shard.
func TestUnshardedHeads(t *testing.T) {
	t.Parallel()
	s, db, table := newStore(t)
	var want []string
	for i := range 6 {
		c := startCommit(fmt.Sprintf("run-%d", i))
		c.Status = journal.StatusReview
		c.At = t0.Add(time.Duration(i) * time.Second)
		mustAppend(t, s, c)
		want = append([]string{c.Run}, want...)
		if i%2 == 0 { // as the previous version wrote it
			_, err := db.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{TableName: &table,
				Key: map[string]types.AttributeValue{
					"pk": &types.AttributeValueMemberS{Value: "RUN#" + c.Run},
					"sk": &types.AttributeValueMemberS{Value: "HEAD"},
				},
				// Earlier versions also kept unsettled heads in byWorkflow.
				UpdateExpression: aws.String("SET gsi1pk = :wf, gsi2pk = :st, gsi1sk = :k"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":wf": &types.AttributeValueMemberS{Value: "WF#order"},
					":st": &types.AttributeValueMemberS{Value: "ST#review"},
					":k":  &types.AttributeValueMemberS{Value: c.At.Format("2006-01-02T15:04:05.000000000Z") + "#" + c.Run},
				}})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, q := range []journal.Query{{Status: journal.StatusReview}, {Workflow: "order"},
		{Workflow: "order", Status: journal.StatusReview}, {}} {
		eventuallyPaged(t, s, q, 2, want)
	}

	// A Store that never saw run-0 moves it out of review.
	mv := stepCommit("run-0", 1, `{}`)
	mv.Status = journal.StatusCompleted
	mv.At = t0.Add(time.Minute)
	mustAppend(t, dynamojournal.New(db, table), mv)
	if st := rawHeadItem(t, db, table, "run-0")["gsi2pk"].(*types.AttributeValueMemberS).Value; st !=
		dynamojournal.StatusPartition(journal.StatusCompleted, "run-0", dynamojournal.DefaultIndexShards) {
		t.Errorf("legacy head after a status change: gsi2pk %s", st)
	}
	eventuallyPaged(t, s, journal.Query{Status: journal.StatusReview}, 2, slices.DeleteFunc(slices.Clone(want), func(r string) bool { return r == "run-0" }))
	eventuallyPaged(t, s, journal.Query{Status: journal.StatusCompleted}, 2, []string{"run-0"})
	eventuallyPaged(t, s, journal.Query{Workflow: "order"}, 2, append([]string{"run-0"}, want[:len(want)-1]...))

	// A legacy head moving to another unsettled status leaves byWorkflow
	// (it is listed from byStatus) and stays listed once.
	mv = stepCommit("run-2", 1, `{}`)
	mv.Status = journal.StatusWaiting
	mv.At = t0.Add(2 * time.Minute)
	mustAppend(t, dynamojournal.New(db, table), mv)
	it := rawHeadItem(t, db, table, "run-2")
	if it["gsi1sk"] != nil {
		t.Errorf("a waiting head kept its byWorkflow entry: gsi1sk %v", it["gsi1sk"])
	}
	rest := slices.DeleteFunc(slices.Clone(want[:len(want)-1]), func(r string) bool { return r == "run-2" })
	eventuallyPaged(t, s, journal.Query{Workflow: "order"}, 2, append([]string{"run-2", "run-0"}, rest...))
	eventuallyPaged(t, s, journal.Query{Workflow: "order", Status: journal.StatusWaiting}, 2, []string{"run-2"})
}

// eventuallyPaged lists q page by page (limit runs a page) until the runs
// listed are want, in order, or fails after a deadline.
func eventuallyPaged(t *testing.T, s journal.Store, q journal.Query, limit int, want []string) {
	t.Helper()
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = nil
		q.Limit, q.Cursor = limit, ""
		for pages := 0; ; pages++ {
			runs, next, err := s.Runs(t.Context(), q)
			if err != nil {
				t.Fatalf("runs %+v: %v", q, err)
			}
			if len(runs) > limit || pages > len(want)+1 {
				t.Fatalf("runs %+v: %d runs on a page of %d, page %d", q, len(runs), limit, pages)
			}
			for _, r := range runs {
				got = append(got, r.ID)
			}
			if next == "" {
				break
			}
			q.Cursor = next
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs %+v by pages of %d: got %v, want %v", q, limit, got, want)
		}
	}
}

func rawHeadItem(t *testing.T, db *dynamodb.Client, table, run string) map[string]types.AttributeValue {
	t.Helper()
	return rawCommit(t, db, table, run, "HEAD")
}

// TestWorkflowListingPastOthersRuns lists a workflow with few runs while
// another has hundreds in flight: the listing reads its unsettled runs
// from byStatus, filtered on the workflow, so it reads past the other
// workflow's runs, in pages that grow when they find nothing (a bounded
// number of Queries, not one per 50 entries).
func TestWorkflowListingPastOthersRuns(t *testing.T) {
	t.Parallel()
	var n calls
	c := newClient(t, n.option)
	table := newTable(t, c)
	s := dynamojournal.New(c, table, dynamojournal.WithIndexShards(1))
	var want []string
	for i := range 2 {
		cm := startCommit(fmt.Sprintf("a-%d", i))
		cm.Workflow, cm.Events[0].Workflow = "a", "a"
		cm.At = t0.Add(time.Duration(i) * time.Second)
		mustAppend(t, s, cm)
		want = append([]string{cm.Run}, want...)
	}
	for i := range 400 {
		cm := startCommit(fmt.Sprintf("b-%03d", i))
		cm.At = t0.Add(time.Minute + time.Duration(i)*time.Second)
		mustAppend(t, s, cm)
	}
	eventuallyPaged(t, s, journal.Query{Workflow: "a"}, 10, want)
	n.take()
	runs, _, err := s.Runs(t.Context(), journal.Query{Workflow: "a", Limit: 10})
	if err != nil || len(runs) != 2 {
		t.Fatalf("got %d runs, %v", len(runs), err)
	}
	// 2 byWorkflow and 8 byStatus partitions (4 unsettled statuses, one
	// shard and the unsharded key each), and a few more pages of
	// ST#running#0 (50, 200, then 800 entries).
	if q := n.take()["Query"]; q > 14 {
		t.Errorf("listing 2 runs past 400 others took %d Queries, want at most 14", q)
	}
}
