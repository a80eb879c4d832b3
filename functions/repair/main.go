// Command repair is the scheduled head sweep Lambda: an EventBridge
// schedule invokes it, and it writes the journal's run heads left behind
// their commits (dynamojournal.Store.RepairHeads, see
// functions/internal.Repair), so that every run reaches its status listing.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
)

func main() {
	log := internal.JSONLogger(internal.LogLevel())
	ctx := context.Background()
	env, err := internal.RequireEnv("ORDO_TABLE")
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	shards, err := internal.IndexShards()
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	store := dynamojournal.New(dynamodb.NewFromConfig(cfg, internal.DynamoOptions), env["ORDO_TABLE"], shards...)
	h := internal.NewRepair(store, log)
	lambda.Start(func(ctx context.Context, _ json.RawMessage) (internal.RepairResult, error) {
		return h.Handle(ctx)
	})
}
