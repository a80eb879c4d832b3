package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// AuditStream names the internal stream (journal.Streams) of a workflow's
// definition pushes: one DefinitionPushed per push, with who pushed it
// (By) and its version and hash. Like the deferral queues it is not a run:
// it never shows in run listings. The journal's append-only, conditional
// writes make the trail as durable as the runs themselves.
func AuditStream(workflow string) string { return "definitions/" + workflow }

// Push registers d, as Register does, and journals who pushed it (ctx's
// actor, WithActor) on the workflow's audit stream.
func (e *Engine) Push(ctx context.Context, d *workflow.Definition) error {
	if err := e.Register(ctx, d); err != nil {
		return err
	}
	streams, err := e.streams()
	if err != nil {
		return fmt.Errorf("audit push of %s: %w", d.Name, err)
	}
	id := AuditStream(d.Name)
	input, _ := json.Marshal(map[string]string{"name": d.Name, "version": d.Version, "hash": d.Hash()})
	for {
		events, err := streams.ReadStream(ctx, id)
		if err != nil {
			return fmt.Errorf("audit push of %s: %w", d.Name, err)
		}
		var after int64
		if n := len(events); n > 0 {
			after = events[n-1].Seq
		}
		ev := journal.Event{Kind: journal.DefinitionPushed, At: e.now(), Workflow: d.Name, Input: input}
		stamp(ctx, &ev)
		_, err = streams.AppendStream(ctx, id, after, []journal.Event{ev})
		if errors.Is(err, journal.ErrConflict) {
			continue // another push at the same moment
		}
		if err != nil {
			return fmt.Errorf("audit push of %s: %w", d.Name, err)
		}
		return nil
	}
}

// Pushes returns the journaled pushes of workflow's definitions, oldest
// first (see AuditStream).
func (e *Engine) Pushes(ctx context.Context, workflow string) ([]journal.Event, error) {
	streams, err := e.streams()
	if err != nil {
		return nil, err
	}
	return streams.ReadStream(ctx, AuditStream(workflow))
}
