package orchestrator

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Register makes defs startable (the latest registered per name wins) and
// stores each in the journal by hash.
func (e *Engine) Register(ctx context.Context, defs ...*workflow.Definition) error {
	for _, d := range defs {
		err := e.store.PutDefinition(ctx, journal.Definition{Hash: d.Hash(), Name: d.Name, Version: d.Version,
			JSON: d.CanonicalJSON(), Created: e.now()})
		if err != nil {
			return fmt.Errorf("register %s@%s: %w", d.Name, d.Version, err)
		}
		e.mu.Lock()
		e.latest[d.Name] = d
		e.byHash[d.Hash()] = d
		e.mu.Unlock()
	}
	return nil
}

// Workflow returns the latest registered definition named name.
func (e *Engine) Workflow(name string) (*workflow.Definition, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	d, ok := e.latest[name]
	return d, ok
}

// Refresh makes the newest stored definition of each workflow (of the
// named ones only, when names are given) the one new runs start on, when
// it differs from the registered one: definitions pushed by `ordo
// definitions push` or the API while this engine runs (versioning). Runs
// in flight keep the definition they pinned.
func (e *Engine) Refresh(ctx context.Context, names ...string) error {
	if len(names) == 0 {
		names = []string{""} // every workflow's
	}
	var stored []journal.Definition
	for _, name := range names {
		defs, err := e.store.Definitions(ctx, name)
		if err != nil {
			return fmt.Errorf("refresh definitions: %w", err)
		}
		stored = append(stored, defs...)
	}
	seen := map[string]bool{}
	for _, sd := range stored { // newest first
		if seen[sd.Name] {
			continue
		}
		seen[sd.Name] = true
		if cur, ok := e.Workflow(sd.Name); ok && cur.Hash() == sd.Hash {
			continue
		}
		d, err := e.Definition(ctx, sd.Hash)
		if err != nil {
			return err
		}
		e.mu.Lock()
		e.latest[d.Name] = d
		e.mu.Unlock()
	}
	return nil
}

// Workflows returns the latest registered definition of every workflow.
func (e *Engine) Workflows() []*workflow.Definition {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*workflow.Definition, 0, len(e.latest))
	for _, d := range e.latest {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *workflow.Definition) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Definition returns the definition with hash, from memory or the journal.
func (e *Engine) Definition(ctx context.Context, hash string) (*workflow.Definition, error) {
	e.mu.RLock()
	d, ok := e.byHash[hash]
	e.mu.RUnlock()
	if ok {
		return d, nil
	}
	stored, err := e.store.Definition(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrUnknownDefinition, hash, err)
	}
	d, err = workflow.Load(stored.JSON, stored.Name+"@"+stored.Version)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrUnknownDefinition, hash, err)
	}
	e.mu.Lock()
	e.byHash[hash] = d
	e.mu.Unlock()
	return d, nil
}
