package semantictest

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// Runtime is what the suite runs workflows on: an engine (definitions,
// reads, heartbeats) and the Scheduler through which runs are started,
// operated and driven.
type Runtime struct {
	Engine *orchestrator.Engine
	Scheduler
}

// Scheduler runs the engine's commands and gets the runs they leave
// needing a drive driven: the embedded runtime's goroutines, or the
// orchestrator Lambda's queue and handlers. *embedded.Runtime is one.
type Scheduler interface {
	// Start starts a run (or finds the one with its key) and gets it driven.
	Start(ctx context.Context, req orchestrator.StartRequest) (orchestrator.Started, error)
	// Signal, Complete, Resubmit and Cancel run the engine's command and
	// get the runs it names driven.
	Signal(ctx context.Context, run, name string, payload json.RawMessage) error
	Complete(ctx context.Context, token string, resp step.Response) error
	Resubmit(ctx context.Context, res orchestrator.Resubmission) error
	Cancel(ctx context.Context, run, by, reason string) error
	// Poke gets run driven (again).
	Poke(run string)
	// Wait blocks until run is completed, failed, cancelled or in review.
	Wait(ctx context.Context, run string) (journal.Status, error)
	// Resume gets every unfinished run driven (a restart).
	Resume(ctx context.Context) (int, error)
	// Close stops driving runs.
	Close() error
}

// NewRuntime builds a runtime over store whose step functions come from
// reg. It is called once per subtest; the runtime is closed when t ends.
type NewRuntime func(t *testing.T, store journal.Store, reg *step.Registry, log *slog.Logger) *Runtime

// Embedded is the default runtime: orchestrator/embedded, one driver
// goroutine per run.
func Embedded(_ *testing.T, store journal.Store, reg *step.Registry, log *slog.Logger) *Runtime {
	rt := embedded.New(store, reg, embedded.WithLogger(log),
		embedded.WithEngineOptions(orchestrator.WithCallbackKeys(CallbackKeys)))
	return &Runtime{Engine: rt.Engine, Scheduler: rt}
}

var _ Scheduler = (*embedded.Runtime)(nil)

// Option configures Run.
type Option func(*config)

type config struct {
	runtime  NewRuntime
	patience time.Duration
	skip     map[string]string // "Group/Test" -> why
}

// WithSkip skips the subtest named "Group/Test" (e.g. "Map/TenThousandItems")
// with the reason why: a runtime that cannot meet one test's patience says
// so in the test output instead of leaving the suite.
func WithSkip(test, why string) Option {
	return func(c *config) {
		if c.skip == nil {
			c.skip = map[string]string{}
		}
		c.skip[test] = why
	}
}

// WithPatience sets how long each wait and poll of the suite may take
// (default 20s): a runtime whose every step is a network round trip needs
// longer for the suite's largest runs on a loaded machine.
func WithPatience(d time.Duration) Option { return func(c *config) { c.patience = d } }

// WithRuntime runs the suite on the runtimes newRuntime builds (default:
// Embedded). The AWS wiring (functions/internal) runs it this way, with
// several Lambda handlers driving each run at once from a queue that
// delivers every message more than once.
func WithRuntime(newRuntime NewRuntime) Option { return func(c *config) { c.runtime = newRuntime } }
