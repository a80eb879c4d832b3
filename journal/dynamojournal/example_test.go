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
