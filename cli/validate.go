package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// runsQuery checks the filters of `ordo runs` against what exists: a status
// must be one of journal.Statuses and a workflow one the App defines or
// the journal stores, so that a typo is an error naming the valid values
// rather than an empty table.
func (g *Env) runsQuery(ctx context.Context, s journal.Store, wf, status string) (journal.Query, error) {
	q := journal.Query{Workflow: wf}
	st, err := parseStatus(status)
	if err != nil {
		return q, err
	}
	q.Status = st
	if wf == "" {
		return q, nil
	}
	known, err := g.workflowNames(ctx, s)
	if err != nil {
		return q, err
	}
	if !slices.Contains(known, wf) && !slices.Contains(legacyWorkflows, wf) {
		return q, fmt.Errorf("--workflow: no workflow %q: want one of %s", wf, strings.Join(known, ", "))
	}
	return q, nil
}

// parseStatus checks a --status flag ("" is no filter).
func parseStatus(status string) (journal.Status, error) {
	if status == "" {
		return "", nil
	}
	st, err := journal.ParseStatus(status)
	if err != nil {
		return "", fmt.Errorf("--status: %w", err)
	}
	return st, nil
}

// workflowNames lists the workflows of the App and those stored in the
// journal (pushed definitions), sorted.
func (g *Env) workflowNames(ctx context.Context, s journal.Store) ([]string, error) {
	reg := step.NewRegistry()
	if g.app.Register != nil {
		g.app.Register(reg)
	}
	var defs []*workflow.Definition
	if g.app.Definitions != nil {
		var err error
		if defs, err = g.app.Definitions(reg); err != nil {
			return nil, err
		}
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
	}
	stored, err := s.Definitions(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, d := range stored {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// legacyWorkflows are the names under which earlier versions journaled
// internal streams as runs; such runs may still be listed (docs/deploy.md,
// "Upgrading").
var legacyWorkflows = []string{"_deferred", "_malformed", "_effects"}
