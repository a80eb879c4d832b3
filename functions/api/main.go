// Command api is the HTTP API Lambda behind a Function URL (IAM auth): it
// serves package api over the DynamoDB journal, to callers of one role
// (ORDO_API_ROLE: the template deploys it three times, one URL per role). It starts and operates
// runs but never drives them: each start or resubmit is handed to the
// orchestrator through its queue.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/workflows"
)

func main() {
	log := internal.JSONLogger(internal.LogLevel())
	ctx := context.Background()
	env, err := internal.RequireEnv("ORDO_TABLE", "ORDO_ORCHESTRATOR_QUEUE_URL", "ORDO_EFFECTS_QUEUE_URL", "ORDO_API_ROLE", "ORDO_RESOURCE_PREFIX")
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	role, err := api.ParseRole(env["ORDO_API_ROLE"])
	if err != nil {
		log.Error("configuration: ORDO_API_ROLE", "err", err)
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	// Only roles that may complete callbacks read the signing key; a
	// viewer's engine keeps a random key of its own and verifies nothing.
	var engineOpts []orchestrator.Option
	if role.Allows(api.Operator) {
		keys, err := internal.CallbackKeys(ctx, cfg, os.Getenv)
		if err != nil {
			log.Error("callback keys", "err", err)
			os.Exit(1)
		}
		engineOpts = append(engineOpts, orchestrator.WithCallbackKeys(keys))
		// Starts, events and resubmitted edits are sealed before they are
		// journaled. The template lets these functions ask KMS for data keys
		// (GenerateDataKey) but not Decrypt: they seal and never open.
		sealer := internal.Sealer(cfg, os.Getenv)
		if sealer == nil {
			log.Error("configuration: no sealing key", "env", internal.EnvSealingKey)
			os.Exit(1)
		}
		engineOpts = append(engineOpts, orchestrator.WithSealer(sealer))
	}
	tp, flushTraces, err := internal.Tracing(ctx, os.Getenv)
	if err != nil {
		log.Error("traces", "err", err)
		os.Exit(1)
	}
	shards, err := internal.IndexShards()
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	// What operators and callbacks journal here (async steps' results,
	// their latency read from the journal; cancels; reviews) is counted as
	// EMF and traced like the orchestrator's commits.
	journal := dynamojournal.New(dynamodb.NewFromConfig(cfg, internal.DynamoOptions), env["ORDO_TABLE"],
		append(internal.JournalOptions(cfg, os.Getenv("ORDO_PAYLOAD_BUCKET")), shards...)...)
	emf := observe.NewEMF()
	store := observe.Wrap(journal, observe.NewTally(emf, observe.WithJournal(journal)), observe.NewTracer(tp))
	sqsClient := sqs.NewFromConfig(cfg)
	conts := internal.NewContinuations(sqsClient, env["ORDO_ORCHESTRATOR_QUEUE_URL"])
	redeliver := internal.NewRedeliverer(sqsClient, env["ORDO_ORCHESTRATOR_QUEUE_URL"], env["ORDO_EFFECTS_QUEUE_URL"])
	engine := orchestrator.New(store, internal.NoInvoker{}, append(engineOpts, orchestrator.WithLogger(log))...)
	if _, err := workflows.Setup(ctx, engine); err != nil {
		log.Error("workflow definitions", "err", err)
		os.Exit(1)
	}
	starter := internal.NewQueueStarter(engine, conts, log)
	// Pushed definitions may name only step functions that are deployed
	// ("<stack>-<function>", the orchestrator's naming convention).
	deployed := internal.NewDeployedFunctions(lambdasvc.NewFromConfig(cfg), os.Getenv("ORDO_RESOURCE_PREFIX"))
	handle := internal.FunctionURLHandler(api.New(engine, starter, starter, api.WithRedeliverer(redeliver),
		api.WithAuthenticator(internal.IAMCallers(role)), api.WithFunctions(deployed.Has)))
	lambda.Start(func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		resp, err := handle(ctx, req)
		_ = emf.Flush(os.Stdout, time.Now())
		flushTraces(ctx)
		return resp, err
	})
}
