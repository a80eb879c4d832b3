package soak_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/workflows"
)

// awsRates are the faults of the AWS soak, per opportunity. SDK faults go
// in below the SDK's retryer, as a network or a service would cause them.
var awsRates = map[lambdatest.Kind]float64{
	lambdatest.CrashAfterAppend:     0.002,
	lambdatest.CrashBeforeInvoke:    0.002,
	lambdatest.CrashAfterInvoke:     0.002,
	lambdatest.CrashAfterEffectSend: 0.01,
	lambdatest.CrashBeforeAck:       0.005,
	lambdatest.DynamoThrottle:       0.01,
	lambdatest.Dynamo5xx:            0.005,
	lambdatest.DynamoTimeout:        0.003,
	lambdatest.LambdaThrottle:       0.01,
	lambdatest.LambdaTimeout:        0.003,
	lambdatest.FunctionTimeout:      0.005,
	lambdatest.SQSSendFailure:       0.01,
}

// TestSoakAWS drives the order runs through the Lambdas' wiring
// (lambdatest: the orchestrator handler in four containers polling one
// queue that delivers every message 1-3 times out of order, the effects
// handler, the real SDK clients) on DynamoDB Local, with faults.
func TestSoakAWS(t *testing.T) {
	n, sd := runs(t), seed(t)
	faults := lambdatest.NewFaults(sd, awsRates)
	c := dynamotest.Client(t, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, faults.APIOption) })
	table := dynamotest.Table(t, c)
	store := dynamojournal.New(c, table)
	// The checks read through a client without faults.
	clean := dynamojournal.New(dynamotest.Client(t), table)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	calls := &counter{n: map[lambdatest.Attempt]int{}}
	recv := &receiver{deliveries: map[string]int{}}
	s, err := lambdatest.Start(lambdatest.Config{
		Store: store, Registry: countingRegistry(calls, nil, nil),
		Setup: func(ctx context.Context, e *orchestrator.Engine) error {
			_, err := workflows.Setup(ctx, e)
			return err
		},
		Drivers: 4, Copies: 3, Batch: 5, Visibility: time.Second,
		Effects: map[string]effect.Handler{"email": recv, "publish": recv},
		Faults:  faults, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Seed: sd,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	inputs, os := orders(n)
	began := time.Now()
	for i := range n {
		// A producer retries a failed send, as an SQS client would.
		for {
			err := s.Send(ctx, lambdatest.OrdersQueue, string(inputs[i]))
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("send order %d: %v", i, err)
			}
		}
	}
	heads := settle(ctx, t, clean, os, 10*time.Minute)
	awaitEffects(ctx, t, clean, os, recv, time.Minute)
	qs := s.Queues.Stats()
	cold, crashes := s.Counts()
	rep := &report{Runtime: "AWS wiring (DynamoDB Local)", Runs: n, Faults: faults, Duplicates: qs.Duplicates,
		Elapsed: time.Since(began)}
	check(ctx, t, clean, os, heads, calls.counts(), recv, rep)
	t.Logf("queues: %+v; %d cold starts, %d crashed invocations", qs, cold, crashes)
	finish(ctx, t, clean, rep)
}
