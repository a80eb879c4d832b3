// Command api is the HTTP API Lambda behind a Function URL (IAM auth): it
// serves package api over the DynamoDB journal. It starts and operates
// runs but never drives them: each start or resubmit is handed to the
// orchestrator through its queue.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/workflows"
)

func main() {
	log := internal.JSONLogger(internal.LogLevel())
	ctx := context.Background()
	env, err := internal.RequireEnv("ORDO_TABLE", "ORDO_ORCHESTRATOR_QUEUE_URL")
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	keys, err := internal.CallbackKeys(ctx, cfg, os.Getenv)
	if err != nil {
		log.Error("callback keys", "err", err)
		os.Exit(1)
	}
	store := dynamojournal.New(dynamodb.NewFromConfig(cfg, internal.DynamoOptions), env["ORDO_TABLE"])
	conts := internal.NewContinuations(sqs.NewFromConfig(cfg), env["ORDO_ORCHESTRATOR_QUEUE_URL"])
	engine := orchestrator.New(store, internal.NoInvoker{}, orchestrator.WithLogger(log), orchestrator.WithWaker(conts),
		orchestrator.WithCallbackKeys(keys))
	if _, err := workflows.Setup(ctx, engine); err != nil {
		log.Error("workflow definitions", "err", err)
		os.Exit(1)
	}
	starter := internal.NewQueueStarter(engine, conts, log)
	lambda.Start(internal.FunctionURLHandler(api.New(engine, starter, starter.Poke)))
}
