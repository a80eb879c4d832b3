package dynamojournal_test

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// The caller builds the SDK client (here from the environment, which may
// point AWS_ENDPOINT_URL_DYNAMODB at DynamoDB Local) and hands it to New.
// This example is compiled but not run: it needs DynamoDB.
func ExampleNew() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg)
	if err := dynamojournal.CreateTable(ctx, client, "ordo-journal"); err != nil {
		log.Fatal(err)
	}
	var s journal.Store = dynamojournal.New(client, "ordo-journal")

	seq, err := s.Append(ctx, journal.Commit{
		Run: "run-1", After: 0, Workflow: "order", DefHash: "sha256:…",
		Status: journal.StatusRunning,
		Events: []journal.Event{{Kind: journal.RunStarted, Workflow: "order"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	head, events, err := s.Load(ctx, "run-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(seq, head.Status, len(events))
}

// Model a peak before it comes: 20,000 step transitions per second, eight
// workflows (the busiest taking 70%), runs of 12 steps. MinShards names the
// index shard count that keeps every partition under DynamoDB's limits;
// Model says what each index takes at that count and which quotas to raise.
func ExampleModel() {
	w := dynamojournal.PeakDay(1)
	w.Transitions, w.Workflows, w.HotShare, w.RunSteps = 20_000, 8, 0.7, []int{12}
	shards, err := dynamojournal.MinShards(w)
	if err != nil {
		fmt.Println(err)
		return
	}
	w.Shards = shards
	c, err := dynamojournal.Model(w)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("shards %d, %.0f runs/s\n", shards, c.Runs)
	for _, p := range c.Partitions {
		fmt.Printf("%s: busiest partition %.0f WCU/s\n", p.Where, p.HotWrite)
	}
	for _, q := range c.Quotas {
		if q.Raise() {
			fmt.Printf("raise: %s (%.0f > %.0f)\n", q.Name, q.Need, q.Default)
		}
	}
	// Output:
	// shards 4, 1667 runs/s
	// table: busiest partition 15 WCU/s
	// byWorkflow: busiest partition 263 WCU/s
	// byStatus: busiest partition 836 WCU/s
	// raise: Lambda concurrent executions (account, region), 100 ms steps (2230 > 1000)
	// raise: Lambda concurrent executions (account, region), 1000 ms steps (22030 > 1000)
	// raise: orchestrator concurrency from one SQS event source mapping, 1000 ms steps (2030 > 1250)
	// raise: Lambda synchronous invokes/s (10 × concurrency quota) (20000 > 10000)
}
