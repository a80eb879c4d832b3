package orchestratortest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// maxDrives bounds how often one call of the harness drives runs before
// it gives up on a workflow that never settles (a retry loop without end).
const maxDrives = 10_000

// Harness runs workflows in-process on an in-memory journal with a manual
// clock. It is not safe for concurrent use by several goroutines of a test.
type Harness struct {
	t testing.TB
	// Clock is the engine's clock; Advance and Settle move it.
	Clock *Clock
	// Store is the run's journal.
	Store *memjournal.Store
	// Engine is the engine under test, for what the harness does not wrap.
	Engine *orchestrator.Engine

	ctx     context.Context
	effects *effect.Executor
	invoker *invoker

	mu        sync.Mutex
	queue     []string             // runs to drive now, in order
	wakeAt    map[string]time.Time // runs waiting for the clock
	performed []journal.Effect
	custom    map[string]effect.Handler // effect handlers the test set
	kinds     map[string]bool           // effect kinds with a recorder
	keys      *callback.Keyring         // signs the callback tokens
}

// Option configures a Harness.
type Option func(*config)

type config struct {
	start time.Time
	log   *slog.Logger
}

// WithStart sets the clock's first reading (default Epoch).
func WithStart(t time.Time) Option { return func(c *config) { c.start = t } }

// WithLogger sets the engine's logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// New returns a harness whose steps come from reg (nil: only stubs) and
// whose startable workflows are defs. Register adds more definitions.
func New(t testing.TB, reg *step.Registry, defs []*workflow.Definition, opts ...Option) *Harness {
	t.Helper()
	cfg := config{start: Epoch, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	h := &Harness{t: t, Clock: NewClock(cfg.start), Store: memjournal.New(), ctx: context.Background(),
		invoker: &invoker{reg: reg, stubs: map[string]step.Handler{}}, wakeAt: map[string]time.Time{},
		custom: map[string]effect.Handler{}, kinds: map[string]bool{}}
	key, err := callback.NewKey()
	if err != nil {
		t.Fatalf("orchestratortest: %v", err)
	}
	h.keys, _ = callback.NewKeyring(key)
	// Sensitive values are sealed in the harness's journal as in
	// production, and opened for steps and effects.
	sealer := localkey.Random()
	h.Engine = orchestrator.New(h.Store, h.invoker, orchestrator.WithClock(h.Clock.Now),
		orchestrator.WithLogger(cfg.log), orchestrator.WithCallbackKeys(h.keys), orchestrator.WithSealer(sealer))
	h.effects = effect.NewExecutor(h.Store)
	h.effects.OpenWith(sealer)
	if err := h.Register(h.ctx, defs...); err != nil {
		t.Fatalf("orchestratortest: %v", err)
	}
	return h
}

// Register makes defs startable (the latest per name wins). With it a
// Harness is a registrar for a team's setup function:
//
//	h := orchestratortest.New(t, nil, nil)
//	reg, err := workflows.Setup(ctx, h)
//	h.UseSteps(reg)
func (h *Harness) Register(ctx context.Context, defs ...*workflow.Definition) error {
	return h.Engine.Register(ctx, defs...)
}

// UseSteps makes reg the registry that runs the steps not stubbed.
func (h *Harness) UseSteps(reg *step.Registry) {
	h.invoker.mu.Lock()
	h.invoker.reg = reg
	h.invoker.mu.Unlock()
}

// Stub replaces the step (or function) named name in every run, whatever
// the registry holds. behaviour is one of:
//
//	step.Handler  called as the step (Output, Fail, Sequence, step.Func ...)
//	error         the step fails with it (step.Terminal(err): no retry)
//	step.Result   the step succeeds with this output, state patch, effects
//	anything else the step succeeds with it as output (encoded as JSON)
func (h *Harness) Stub(name string, behaviour any) {
	var hd step.Handler
	switch b := behaviour.(type) {
	case step.Handler:
		hd = b
	case error:
		hd = Fail(b)
	case step.Result:
		hd = Result(b)
	default:
		hd = Output(b)
	}
	h.invoker.mu.Lock()
	h.invoker.stubs[name] = hd
	h.invoker.mu.Unlock()
}

// Now reads the harness's clock.
func (h *Harness) Now() time.Time { return h.Clock.Now() }

// Start starts a run of workflow with input (a json.RawMessage, or a
// value encoded as JSON) and drives it, and any run it wakes, as far as it
// goes at the current time: the clock does not move. Settle (or Advance)
// lets retries, timers and timeouts fall due.
func (h *Harness) Start(workflowName string, input any) *Run {
	h.t.Helper()
	return h.StartRequest(orchestrator.StartRequest{Workflow: workflowName, Input: mustJSON(input)})
}

// StartRequest is Start with every field of the request (a key, a trigger).
func (h *Harness) StartRequest(req orchestrator.StartRequest) *Run {
	h.t.Helper()
	st, err := h.Engine.Start(h.ctx, req)
	if err != nil {
		h.t.Fatalf("orchestratortest: start %s: %v", req.Workflow, err)
	}
	h.enqueue(st.Run)
	h.enqueue(st.Wake...)
	h.drain()
	return &Run{h: h, ID: st.Run}
}

// Run starts a run and settles it: Start, then Settle.
func (h *Harness) Run(workflowName string, input any) *Run {
	h.t.Helper()
	r := h.Start(workflowName, input)
	r.Settle()
	return r
}

// Signal delivers the external event name with payload to run r and drives
// the runs it wakes at the current time.
func (h *Harness) Signal(r *Run, name string, payload any) {
	h.t.Helper()
	rc, err := h.Engine.Signal(h.ctx, r.ID, name, mustJSON(payload))
	if err != nil {
		h.t.Fatalf("orchestratortest: signal %s to %s: %v", name, r.ID, err)
	}
	h.enqueue(rc.Wake...)
	h.drain()
}

// Complete completes the async step attempt token names with output, as
// the API or CLI would, and drives the run at the current time.
func (h *Harness) Complete(token string, output any) {
	h.t.Helper()
	h.complete(token, step.Response{Result: step.Result{Output: mustJSON(output)}})
}

// CompleteErr fails the async step attempt token names with err.
func (h *Harness) CompleteErr(token string, err error) {
	h.t.Helper()
	h.complete(token, step.Response{Error: step.FailureOf(err)})
}

func (h *Harness) complete(token string, resp step.Response) {
	h.t.Helper()
	rc, err := h.Engine.Complete(h.ctx, token, resp)
	if err != nil {
		h.t.Fatalf("orchestratortest: complete callback: %v", err)
	}
	h.enqueue(rc.Wake...)
	h.drain()
}

// Advance moves the clock forward by d and drives every run whose retry,
// timer or timeout has fallen due, in the order they fall due.
func (h *Harness) Advance(d time.Duration) {
	h.t.Helper()
	until := h.Clock.Now().Add(d)
	for {
		next, ok := h.nextWake()
		if !ok || next.After(until) {
			break
		}
		h.Clock.AdvanceTo(next)
		h.wakeDue()
		h.drain()
	}
	h.Clock.AdvanceTo(until)
}

// Calls returns the requests the step (or function) named name received,
// stubbed or not, in order.
func (h *Harness) Calls(name string) []step.Request {
	h.invoker.mu.Lock()
	defer h.invoker.mu.Unlock()
	var out []step.Request
	for _, c := range h.invoker.calls {
		if c.Step == name || c.Function == name {
			out = append(out, c)
		}
	}
	return out
}

// Effects returns the side effects performed so far, in order. Every
// effect succeeds unless HandleEffect says otherwise.
func (h *Harness) Effects() []journal.Effect {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.performed)
}

// HandleEffect makes effects of kind go to hd (to make them fail, say).
// Effects it performs without error are recorded as performed.
func (h *Harness) HandleEffect(kind string, hd effect.Handler) {
	h.mu.Lock()
	h.custom[kind] = hd
	h.kinds[kind] = true
	h.mu.Unlock()
	h.effects.Handle(kind, h.recorder(kind))
}

// recorder is the executor's handler of kind: the test's handler if it
// set one, then a record of the effect.
func (h *Harness) recorder(kind string) effect.Handler {
	return effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		h.mu.Lock()
		hd := h.custom[kind]
		h.mu.Unlock()
		if hd != nil {
			if err := hd.Do(ctx, run, e); err != nil {
				return err
			}
		}
		h.mu.Lock()
		h.performed = append(h.performed, e)
		h.mu.Unlock()
		return nil
	})
}

func (h *Harness) enqueue(runs ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, run := range runs {
		if !slices.Contains(h.queue, run) {
			h.queue = append(h.queue, run)
		}
	}
}

// drain drives queued runs until none is left.
func (h *Harness) drain() {
	h.t.Helper()
	for n := 0; ; n++ {
		if n == maxDrives {
			h.t.Fatalf("orchestratortest: runs still need driving after %d drives (a loop that never settles?)", n)
		}
		h.mu.Lock()
		if len(h.queue) == 0 {
			h.mu.Unlock()
			return
		}
		run := h.queue[0]
		h.queue = h.queue[1:]
		h.mu.Unlock()
		h.drive(run)
	}
}

func (h *Harness) drive(run string) {
	h.t.Helper()
	out, err := h.Engine.Drive(h.ctx, run)
	if err != nil {
		h.t.Fatalf("orchestratortest: drive %s: %v", run, err)
	}
	if len(out.Effects) > 0 {
		h.perform(run, out.Effects)
	}
	h.enqueue(out.Wake...)
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.wakeAt, run)
	switch {
	case out.Continue:
		h.queue = append(h.queue, run)
	case !out.WakeAt.IsZero() && !out.Done:
		h.wakeAt[run] = out.WakeAt
	}
}

// perform runs effects through the executor (which journals their
// outcomes); every kind gets the recorder, which calls the test's own
// handler first when it set one.
func (h *Harness) perform(run string, effects []journal.Effect) {
	h.t.Helper()
	h.mu.Lock()
	for _, ef := range effects {
		if !h.kinds[ef.Kind] {
			h.kinds[ef.Kind] = true
			h.effects.Handle(ef.Kind, h.recorder(ef.Kind))
		}
	}
	h.mu.Unlock()
	if _, err := h.effects.Run(h.ctx, run, effects); err != nil {
		h.t.Fatalf("orchestratortest: effects of %s: %v", run, err)
	}
	h.Engine.Forget(run)
}

func (h *Harness) nextWake() (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var next time.Time
	for _, t := range h.wakeAt {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next, !next.IsZero()
}

// wakeDue queues the runs whose wake-up time has come.
func (h *Harness) wakeDue() {
	now := h.Clock.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	var due []string
	for run, t := range h.wakeAt {
		if !t.After(now) {
			due = append(due, run)
		}
	}
	slices.Sort(due)
	for _, run := range due {
		delete(h.wakeAt, run)
		if !slices.Contains(h.queue, run) {
			h.queue = append(h.queue, run)
		}
	}
}

// invoker runs stubs first, then the registry's functions, and records
// every request.
type invoker struct {
	mu    sync.Mutex
	reg   *step.Registry
	stubs map[string]step.Handler
	calls []step.Request
}

func (i *invoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	i.mu.Lock()
	i.calls = append(i.calls, req)
	hd, ok := i.stubs[req.Step]
	if !ok {
		hd, ok = i.stubs[req.Function]
	}
	reg := i.reg
	i.mu.Unlock()
	if !ok && reg != nil {
		hd, ok = reg.Lookup(req.Function)
	}
	if !ok {
		return step.Response{Error: &step.Failure{Kind: "unregistered", Terminal: true,
			Message: fmt.Sprintf("step %s: function %q is neither stubbed nor registered", req.Step, req.Function)}}, nil
	}
	return step.Invoke(ctx, hd, req), nil
}

var _ orchestrator.Invoker = (*invoker)(nil)
