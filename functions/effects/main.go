// Command effects is the effects Lambda: it consumes the effects queue,
// performs each side effect a step emitted (email, publish, sqs, kinesis,
// http, log) and journals its outcome (see functions/internal.Effects).
package main

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ordoflow/ordo/functions/internal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator/effect/egress"
)

func main() {
	log := internal.JSONLogger(internal.LogLevel())
	ctx := context.Background()
	env, err := internal.RequireEnv("ORDO_TABLE", "ORDO_NOTIFICATIONS_QUEUE_URL", "ORDO_EVENTS_STREAM", "ORDO_EFFECTS_MAX_RECEIVE")
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	maxReceives, err := strconv.Atoi(env["ORDO_EFFECTS_MAX_RECEIVE"])
	if err != nil {
		log.Error("configuration: ORDO_EFFECTS_MAX_RECEIVE is not a number", "err", err)
		os.Exit(1)
	}
	// Unset or empty: http effects may go nowhere.
	targets, err := egress.Parse(os.Getenv("ORDO_HTTP_EFFECT_TARGETS"))
	if err != nil {
		log.Error("configuration: ORDO_HTTP_EFFECT_TARGETS", "err", err)
		os.Exit(1)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("aws config", "err", err)
		os.Exit(1)
	}
	calls := internal.NewCallCounter()
	cfg.APIOptions = append(cfg.APIOptions, calls.Middleware)
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
	// Effect outcomes as EMF log lines; each delivery a span of its run's
	// trace, as are the commits that journal the outcomes.
	emf, tracer := observe.NewEMF(), observe.NewTracer(tp)
	store := observe.Wrap(dynamojournal.New(dynamodb.NewFromConfig(cfg, internal.DynamoOptions), env["ORDO_TABLE"],
		append(internal.JournalOptions(cfg, os.Getenv("ORDO_PAYLOAD_BUCKET")), shards...)...), observe.NewTally(emf), tracer)
	fx := internal.NewEffects(store, internal.EffectsConfig{
		SQS:                   sqs.NewFromConfig(cfg),
		Kinesis:               kinesis.NewFromConfig(cfg),
		HTTPTargets:           targets,
		HTTPTimeout:           10 * time.Second,
		NotificationsQueueURL: env["ORDO_NOTIFICATIONS_QUEUE_URL"],
		EventsStream:          env["ORDO_EVENTS_STREAM"],
		MaxReceives:           maxReceives,
		Log:                   log,
		Tracer:                tracer,
		// Payloads' sealed values open here, for the handlers only.
		Sealer: internal.Sealer(cfg, os.Getenv),
	})
	lambda.Start(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		out, err := fx.HandleSQS(ctx, ev)
		if werr := internal.WriteEMF(os.Stdout, "effects", calls.Take(), time.Now()); werr != nil {
			slog.Warn("metrics", "err", werr)
		}
		if werr := emf.Flush(os.Stdout, time.Now()); werr != nil {
			slog.Warn("metrics", "err", werr)
		}
		flushTraces(ctx)
		return out, err
	})
}
