package orchestrator

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Invoker runs one step attempt: in-process (embedded) or as a Lambda
// invoke (AWS). A returned error is a transport failure and is retried; a
// step's own failure comes back in Response.Error.
type Invoker interface {
	Invoke(ctx context.Context, req step.Request) (step.Response, error)
}

// Dispatcher hands journaled effects to the effects executor (a queue in
// AWS, a goroutine pool in the embedded runtime). It may be called more than
// once for the same effect; effect IDs are stable.
type Dispatcher interface {
	Dispatch(ctx context.Context, run string, effects []journal.Effect) error
}

// Engine drives runs. It has three jobs, each in its own file:
// definitions (Register, Workflow, Definition), commands that append to a
// run's journal (Start, Signal, Complete, Heartbeat, Resubmit, Cancel,
// Reclaim) and the driver (Drive), which decides, journals, dispatches
// effects and invokes steps. The engine never schedules a drive itself:
// commands and Drive report the runs that need one (Receipt.Wake,
// Outcome.Wake, Outcome.WakeAt), and the runtime around the engine (the
// embedded runtime, the orchestrator Lambda) is the one place that
// schedules drives.
type Engine struct {
	store    journal.Store
	invoker  Invoker
	dispatch Dispatcher
	now      func() time.Time
	log      *slog.Logger
	margin   time.Duration
	inline   time.Duration
	// effectsEvery bounds how long journaled effects wait to be sent while
	// a Drive runs on.
	effectsEvery time.Duration
	// snapEvery is the number of events between two snapshots of a run's
	// state (WithSnapshotEvery; 0: none).
	snapEvery int
	// partMin is the size from which snapshots keep a value in a part
	// (partMin when 0; tests lower it).
	partMin int
	// callbacks signs and verifies async steps' callback tokens.
	callbacks *callback.Keyring
	// stepInvoke is the invoke mode of steps that set none (WithStepInvoke).
	stepInvoke string
	// timeouts knows step functions' configured timeouts (nil: unknown).
	timeouts FunctionTimeouts
	// sealer seals and opens the values definitions declare sensitive.
	sealer sensitive.Sealer
	// startDecision: Start journals the first decision (WithStartDecision).
	startDecision bool

	mu     sync.RWMutex
	latest map[string]*workflow.Definition
	byHash map[string]*workflow.Definition

	// cache keeps runs' folded state between Drives; a Drive catches up
	// with what others appended (Store.Since) before deciding, so a copy is
	// never used stale.
	cache *stateCache
}

// Option configures an Engine.
type Option func(*Engine)

// WithDispatcher sets where effects go. Drive sends the effects its
// decisions list (Decision.Dispatch) and journals EffectDispatched for each
// one sent. Default: none; Drive then only reports the run's outstanding
// effects in Outcome.Effects, for a caller that executes them itself (the
// embedded runtime) and journals their outcomes.
func WithDispatcher(d Dispatcher) Option { return func(e *Engine) { e.dispatch = d } }

// WithClock sets the engine's clock (tests).
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithLogger sets the structured logger.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithDeadlineMargin stops Drive from starting new work when less than d
// remains before ctx's deadline (default 2s), so it can journal and hand the
// run on (a continuation) before the Lambda is cut off.
func WithDeadlineMargin(d time.Duration) Option { return func(e *Engine) { e.margin = d } }

// WithEffectDelay bounds how long journaled effects wait to be sent while
// a Drive goes on (default 1s; they are always sent when it returns).
func WithEffectDelay(d time.Duration) Option { return func(e *Engine) { e.effectsEvery = d } }

// WithInlineWait lets Drive sleep through retry delays and timers shorter
// than d instead of returning (default 0: always return WakeAt).
func WithInlineWait(d time.Duration) Option { return func(e *Engine) { e.inline = d } }

// WithStartDecision makes Start journal a new run's first decision in the
// commit that creates the run, for a runtime whose engine drives the runs it
// starts (the embedded runtime): a run then takes one commit fewer. The
// attempts that decision schedules are leased to this engine, and its next
// Drive of the run invokes them before deciding again. A runtime whose
// starts are driven elsewhere (a trigger that queues the run for another
// process) must not use it: those attempts would wait for their leases to
// expire; such a runtime can still ask for it per start, where it drives
// the run itself (StartRequest.Decide). Deferred runs are created as
// before and decide once released.
func WithStartDecision() Option { return func(e *Engine) { e.startDecision = true } }

// New returns an engine over store that runs steps with invoker.
func New(store journal.Store, invoker Invoker, opts ...Option) *Engine {
	e := &Engine{store: store, invoker: invoker, now: time.Now, log: slog.Default(),
		margin: 2 * time.Second, latest: map[string]*workflow.Definition{}, byHash: map[string]*workflow.Definition{},
		cache: newStateCache(1 << 14), effectsEvery: time.Second, snapEvery: DefaultSnapshotEvery}
	for _, o := range opts {
		o(e)
	}
	if e.callbacks == nil {
		e.callbacks = ephemeralKeys()
	}
	if e.sealer == nil {
		e.sealer = defaultSealer()
	}
	return e
}

// Store returns the engine's journal.
func (e *Engine) Store() journal.Store { return e.store }
