package orchestrator

import (
	"context"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/journal"
)

// ErrNotScheduled is returned (wrapped) by a runtime's scheduler when a
// command or start was journaled but the drive of its run could not be
// scheduled (the orchestrator's queue refused the message): nothing drives
// the run until the caller repeats the command with the same command id
// (WithCommandID; for a start, the same key), which schedules it again.
var ErrNotScheduled = errors.New("orchestrator: journaled, but the run's drive could not be scheduled")

type commandKey struct{}

// WithCommandID returns ctx naming the command a caller is making (the API
// uses "api:" and the request's Idempotency-Key): Signal, Complete,
// Resubmit and Cancel journal it as their event's Trigger, and a command
// whose id the run's journal already holds is not applied again: it
// succeeds at once and reports the run as needing a drive, as the first
// did. A caller that could not get the run driven after a command (a
// failed send to the orchestrator's queue) repeats the command with the
// same id to have it scheduled again, without doubling it.
func WithCommandID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, commandKey{}, id)
}

func commandID(ctx context.Context) string {
	id, _ := ctx.Value(commandKey{}).(string)
	return id
}

// commandDone reports whether run's journal holds the command id (an event
// other than the run's start with that Trigger).
func (e *Engine) commandDone(ctx context.Context, run, id string) (bool, error) {
	_, events, err := e.store.Load(ctx, run)
	if err != nil {
		return false, fmt.Errorf("command %s on %s: %w", id, run, err)
	}
	for _, ev := range events {
		if ev.Trigger == id && ev.Kind != journal.RunStarted {
			return true, nil
		}
	}
	return false, nil
}
