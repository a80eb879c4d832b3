// Command orchestrator is the orchestrator Lambda: it consumes the trigger
// queue, the Kinesis trigger stream and its own continuation queue, appends
// every state change to the DynamoDB journal, and invokes the step Lambdas.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/workflows"
)

func main() {
	log := slog.New(observe.LogHandler(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: internal.LogLevel()})))
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	env, err := internal.RequireEnv("ORDO_TABLE", "ORDO_ORCHESTRATOR_QUEUE_URL", "ORDO_EFFECTS_QUEUE_URL", "ORDO_RESOURCE_PREFIX")
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	invoke, err := internal.StepInvoke(os.Getenv)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	calls := internal.NewCallCounter()
	cfg.APIOptions = append(cfg.APIOptions, calls.Middleware)
	sqsClient := sqs.NewFromConfig(cfg)
	keys, err := internal.CallbackKeys(ctx, cfg, os.Getenv)
	if err != nil {
		log.Error("callback keys", "err", err)
		os.Exit(1)
	}
	sealer := internal.Sealer(cfg, os.Getenv)
	if sealer == nil {
		log.Error("configuration: no sealing key", "env", internal.EnvSealingKey)
		os.Exit(1)
	}
	// Runs, steps, retries and effects as EMF log lines, and one trace per
	// run (spans go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT says where,
	// else to the global provider; without either only the traceparent
	// reaches the steps).
	tp, flushTraces, err := internal.Tracing(ctx, os.Getenv)
	if err != nil {
		log.Error("traces", "err", err)
		os.Exit(1)
	}
	emf, tracer := observe.NewEMF(), observe.NewTracer(tp)
	shards, err := internal.IndexShards()
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	journal := dynamojournal.New(dynamodb.NewFromConfig(cfg, internal.DynamoOptions), env["ORDO_TABLE"],
		append(internal.JournalOptions(cfg, os.Getenv("ORDO_PAYLOAD_BUCKET")), shards...)...)
	// Attempts scheduled by another container are timed from the journal.
	store := observe.Wrap(journal, observe.NewTally(emf, observe.WithJournal(journal)), tracer)
	conts := internal.NewContinuations(sqsClient, env["ORDO_ORCHESTRATOR_QUEUE_URL"])
	stepTimeout, err := internal.StepFunctionTimeout(os.Getenv)
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	lambdaClient := awslambda.NewFromConfig(cfg)
	engine := orchestrator.New(store,
		tracer.Invoker(internal.NewLambdaInvoker(lambdaClient, env["ORDO_RESOURCE_PREFIX"])),
		orchestrator.WithFunctionTimeouts(internal.NewFunctionTimeouts(lambdaClient, env["ORDO_RESOURCE_PREFIX"], stepTimeout)),
		orchestrator.WithDispatcher(internal.NewSQSDispatcher(sqsClient, env["ORDO_EFFECTS_QUEUE_URL"])),
		orchestrator.WithLogger(log),
		orchestrator.WithInlineWait(2*time.Second),
		orchestrator.WithDeadlineMargin(5*time.Second),
		orchestrator.WithCallbackKeys(keys),
		orchestrator.WithStepInvoke(invoke),
		orchestrator.WithSealer(sealer))
	if _, err := workflows.Setup(ctx, engine); err != nil {
		log.Error("workflow definitions", "err", err)
		os.Exit(1)
	}
	// The platform's queues' depths, as EMF, at most once a minute per
	// container.
	depths := internal.NewQueueDepths(sqsClient, internal.QueueDepthInterval,
		internal.Queue{Name: "orchestrator", URL: env["ORDO_ORCHESTRATOR_QUEUE_URL"]},
		internal.Queue{Name: "orchestrator-dlq", URL: os.Getenv("ORDO_ORCHESTRATOR_DLQ_URL")},
		internal.Queue{Name: "effects", URL: env["ORDO_EFFECTS_QUEUE_URL"]},
		internal.Queue{Name: "effects-dlq", URL: os.Getenv("ORDO_EFFECTS_DLQ_URL")})
	h := internal.NewOrchestrator(engine, conts, env["ORDO_RESOURCE_PREFIX"], log)
	lambda.Start(func(ctx context.Context, event json.RawMessage) (any, error) {
		out, err := h.Handle(ctx, event)
		_ = internal.WriteEMF(os.Stdout, "orchestrator", calls.Take(), time.Now())
		_ = emf.Flush(os.Stdout, time.Now())
		if err := depths.Sample(ctx, os.Stdout, time.Now()); err != nil {
			log.Warn("queue depths", "err", err)
		}
		flushTraces(ctx)
		return out, err
	})
}
