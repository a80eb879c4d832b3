package internal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// QueueStarter is the API Lambda's api.Starter: it never drives a run
// itself. Start journals the run (engine.Start) and then asks the
// orchestrator to drive it with a continuation message on the
// orchestrator's queue. A duplicate start sends the message again, so a
// client retrying after a failed send heals a run that was journaled but
// not handed on.
type QueueStarter struct {
	engine *orchestrator.Engine
	conts  *Continuations
	log    *slog.Logger
}

// NewQueueStarter returns a starter over engine that hands runs on through
// conts.
func NewQueueStarter(engine *orchestrator.Engine, conts *Continuations, log *slog.Logger) *QueueStarter {
	if log == nil {
		log = slog.Default()
	}
	return &QueueStarter{engine: engine, conts: conts, log: log}
}

// Start implements api.Starter.
func (s *QueueStarter) Start(ctx context.Context, req orchestrator.StartRequest) (orchestrator.Started, error) {
	st, err := s.engine.Start(ctx, req)
	if err != nil {
		return st, err
	}
	if err := s.conts.Schedule(ctx, st.Wake...); err != nil {
		return st, fmt.Errorf("run %s is journaled but was not handed to the orchestrator (retry the start): %w: %w",
			st.Run, orchestrator.ErrNotScheduled, err)
	}
	return st, nil
}

// Schedule implements api.Scheduler: it asks the orchestrator to drive
// runs (after an event, a callback, a resubmit or a cancel). A failed send
// is an orchestrator.ErrNotScheduled: the change is journaled but nothing
// drives the run, so the API answers 503 and the client repeats the
// command with the same Idempotency-Key, which schedules it again.
func (s *QueueStarter) Schedule(ctx context.Context, runs ...string) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.conts.Schedule(sctx, runs...); err != nil {
		s.log.Error("run changed but not handed to the orchestrator", "runs", runs, "err", err)
		return fmt.Errorf("runs %v: %w: %w", runs, orchestrator.ErrNotScheduled, err)
	}
	return nil
}

// ErrNoSteps is what NoInvoker returns.
var ErrNoSteps = errors.New("this function does not run steps: the orchestrator does")

// NoInvoker is the orchestrator.Invoker of engines that only start and
// operate runs (the API Lambda): invoking a step is an error.
type NoInvoker struct{}

var _ orchestrator.Invoker = NoInvoker{}

// Invoke implements orchestrator.Invoker.
func (NoInvoker) Invoke(context.Context, step.Request) (step.Response, error) {
	return step.Response{}, ErrNoSteps
}
