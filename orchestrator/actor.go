package orchestrator

import (
	"context"

	"github.com/ordoflow/ordo/journal"
)

type actorKey struct{}

// WithActor returns ctx naming who acts (an operator's token name, an IAM
// caller ARN): the engine journals it as the By of the events it appends
// on that caller's behalf (starts, events, callbacks, resubmits, cancels)
// when they name no one themselves.
func WithActor(ctx context.Context, by string) context.Context {
	return context.WithValue(ctx, actorKey{}, by)
}

// actor returns who acts in ctx ("" for the platform itself).
func actor(ctx context.Context) string {
	by, _ := ctx.Value(actorKey{}).(string)
	return by
}

// stamp sets the By of ev to ctx's actor when ev names no one.
func stamp(ctx context.Context, ev *journal.Event) {
	if ev.By == "" {
		ev.By = actor(ctx)
	}
}
