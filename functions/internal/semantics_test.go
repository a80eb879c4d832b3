package internal_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// TestSemanticsAWS runs the semantics suite on the Lambdas' wiring: the
// orchestrator handler in three containers at once polling one queue that
// delivers every message up to three times, out of order; runs started
// and operated through the API Lambda's engine and starter; effects on
// their own queue; steps invoked through the real Lambda client; the
// journal on DynamoDB Local. Every construct must behave as it does
// embedded.
func TestSemanticsAWS(t *testing.T) {
	dynamotest.Client(t) // skip the whole suite at once without the stack
	semantictest.Run(t, func(t *testing.T) journal.Store {
		c := dynamotest.Client(t)
		return dynamojournal.New(c, dynamotest.Table(t, c))
	}, semantictest.WithRuntime(awsRuntime))
}

func awsRuntime(t *testing.T, store journal.Store, reg *step.Registry, log *slog.Logger) *semantictest.Runtime {
	s, err := lambdatest.Start(lambdatest.Config{Store: store, Registry: reg, Drivers: 3, Copies: 3,
		Visibility: 300 * time.Millisecond, Log: log, Seed: uint64(time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	return &semantictest.Runtime{Engine: s.Engine, Scheduler: scheduler{s, store}}
}

// scheduler is the suite's view of the stack: starts and pokes go through
// the API Lambda's starter (a continuation message each); waiting polls
// the journal.
type scheduler struct {
	s     *lambdatest.Stack
	store journal.Store
}

func (c scheduler) Start(ctx context.Context, req orchestrator.StartRequest) (orchestrator.Started, error) {
	return c.s.Starter.Start(ctx, req)
}

func (c scheduler) Poke(run string) { c.s.Starter.Poke(run) }

func (c scheduler) Wait(ctx context.Context, run string) (journal.Status, error) {
	for {
		head, _, err := c.store.Load(ctx, run)
		if err == nil && (head.Status.Terminal() || head.Status == journal.StatusReview) {
			return head.Status, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return "", err
			}
			return "", ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Resume has nothing to do: every unfinished run has a message on its way.
func (c scheduler) Resume(context.Context) (int, error) { return 0, nil }

func (c scheduler) Close() error { return c.s.Close() }
