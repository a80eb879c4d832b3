package orchestrator_test

import (
	"log/slog"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// TestSemanticsFromSnapshots runs the semantics suite on an engine that
// snapshots after every commit it can, keeps every value it can in
// snapshot parts, and caches no run's state: most drives load
// their run from a snapshot, decide on a state whose values are still in
// parts, and resolve them only when a decision needs them. Every
// construct must behave as on a state folded in full.
func TestSemanticsFromSnapshots(t *testing.T) {
	semantictest.Run(t, func(t *testing.T) journal.Store { return memjournal.New() },
		semantictest.WithRuntime(func(_ *testing.T, store journal.Store, reg *step.Registry, log *slog.Logger) *semantictest.Runtime {
			rt := embedded.New(store, reg, embedded.WithLogger(log), embedded.WithEngineOptions(
				orchestrator.WithCallbackKeys(semantictest.CallbackKeys), orchestrator.WithSnapshotEvery(1), orchestrator.WithColdLoads()))
			return &semantictest.Runtime{Engine: rt.Engine, Scheduler: rt}
		}))
}
