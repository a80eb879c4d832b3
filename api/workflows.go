package api

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ordoflow/ordo/orchestrator"
)

// legacyWorkflows are the names under which earlier versions journaled
// internal streams as runs; listing them stays possible.
var legacyWorkflows = []string{"_deferred", "_malformed", "_effects"}

// knownWorkflow checks a listing's workflow filter: "" or a workflow the
// engine runs or the journal holds a definition of. An unknown name is an
// ErrBadInput naming the known ones, not an empty page.
func (s *Server) knownWorkflow(ctx context.Context, name string) error {
	if name == "" || slices.Contains(legacyWorkflows, name) {
		return nil
	}
	if _, ok := s.engine.Workflow(name); ok {
		return nil
	}
	defs, err := s.engine.Store().Definitions(ctx, "")
	if err != nil {
		return err
	}
	var known []string
	for _, d := range defs {
		if d.Name == name {
			return nil
		}
		known = append(known, d.Name)
	}
	for _, d := range s.engine.Workflows() {
		known = append(known, d.Name)
	}
	slices.Sort(known)
	return fmt.Errorf("%w: workflow %q: want one of %s", orchestrator.ErrBadInput, name, strings.Join(slices.Compact(known), ", "))
}
