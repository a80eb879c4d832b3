package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// AuditWorkflow names the journal's audit runs of definition pushes: each
// workflow's pushes are the events of the run "_definitions/<workflow>",
// one DefinitionPushed per push, with who pushed it (By) and its version
// and hash. The journal's append-only, conditional writes make the trail
// as durable as the runs themselves.
const AuditWorkflow = "_definitions"

// Push registers d, as Register does, and journals who pushed it (ctx's
// actor, WithActor) on the workflow's audit run.
func (e *Engine) Push(ctx context.Context, d *workflow.Definition) error {
	if err := e.Register(ctx, d); err != nil {
		return err
	}
	run := RunID(AuditWorkflow, d.Name)
	input, _ := json.Marshal(map[string]string{"name": d.Name, "version": d.Version, "hash": d.Hash()})
	for {
		now := e.now()
		ev := journal.Event{Kind: journal.DefinitionPushed, At: now, Workflow: d.Name, Input: input}
		stamp(ctx, &ev)
		c := journal.Commit{Run: run, Events: []journal.Event{ev}, Status: journal.StatusCompleted, At: now,
			Workflow: AuditWorkflow, DefHash: d.Hash()}
		_, events, err := e.store.Load(ctx, run)
		switch {
		case errors.Is(err, journal.ErrNotFound):
		case err != nil:
			return fmt.Errorf("audit push of %s: %w", d.Name, err)
		case len(events) > 0:
			c.After = events[len(events)-1].Seq
		}
		_, err = e.store.Append(ctx, c)
		if errors.Is(err, journal.ErrConflict) {
			continue // another push at the same moment
		}
		if err != nil {
			return fmt.Errorf("audit push of %s: %w", d.Name, err)
		}
		return nil
	}
}
