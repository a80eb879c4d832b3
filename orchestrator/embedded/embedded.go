// Package embedded runs ordo in one process: triggers (Start), the
// orchestrator (an Engine per run, driven by goroutines), the effects
// executor and timers, on any journal.Store (SQLite by default). Steps are
// in-process Go functions from a step.Registry.
//
// The Runtime is the one place that schedules drives: its commands (Start,
// Signal, Complete, Resubmit, Cancel) call the engine's and schedule the
// runs the engine reports as needing a drive; Drive's own reports (child
// runs, parents, deferred runs, wake-up times) are scheduled by the driver
// goroutine. The runtime is the effects dispatcher too: it executes a run's
// outstanding effects after each Drive and journals their outcomes.
//
// Nothing lives only in memory: timers and retries are journaled with their
// due time, and Resume, called at start-up, drives every unfinished run from
// the journal, first ending the attempts the stopped process left in flight
// (Engine.Reclaim). A process killed at any moment loses no accepted work.
package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// Runtime is the embedded orchestrator.
type Runtime struct {
	Engine   *orchestrator.Engine
	Effects  *effect.Executor
	store    journal.Store
	registry *step.Registry
	log      *slog.Logger
	// effectsSpan: see WithEffectRecovery.
	effectsSpan time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	active  map[string]bool // runs with a driver goroutine
	again   map[string]bool // runs poked while being driven
	waiters map[string][]chan waited
	timers  map[string]*time.Timer
}

// waited is what a Wait learns when its run stops being driven: the status
// it settled in, or why it cannot be driven.
type waited struct {
	status journal.Status
	err    error
}

// Option configures a Runtime.
type Option func(*config)

type config struct {
	log         *slog.Logger
	engine      []orchestrator.Option
	effectsSpan time.Duration
	sealer      sensitive.Sealer
}

// WithSealer sets the keys sensitive values are sealed with in the journal
// and opened with for steps and effects (default: a random key of the
// runtime's own, so what it seals opens only in this process).
func WithSealer(s sensitive.Sealer) Option { return func(c *config) { c.sealer = s } }

// WithEffectRecovery sets how far back Resume looks for settled runs whose
// effects may not have run (default 24h): a process killed after journaling
// a run's last step but before its effects ran leaves them outstanding.
func WithEffectRecovery(d time.Duration) Option { return func(c *config) { c.effectsSpan = d } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithEngineOptions passes options to the engine.
func WithEngineOptions(opts ...orchestrator.Option) Option {
	return func(c *config) { c.engine = append(c.engine, opts...) }
}

// New returns a runtime over store whose steps come from reg. Call Close to
// stop it.
func New(store journal.Store, reg *step.Registry, opts ...Option) *Runtime {
	cfg := config{log: slog.Default(), effectsSpan: 24 * time.Hour}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runtime{store: store, registry: reg, log: cfg.log, effectsSpan: cfg.effectsSpan, ctx: ctx, cancel: cancel,
		active: map[string]bool{}, again: map[string]bool{}, waiters: map[string][]chan waited{},
		timers: map[string]*time.Timer{}}
	if cfg.sealer == nil {
		cfg.sealer = localkey.Random()
	}
	r.Effects = effect.NewExecutor(store)
	r.Effects.OpenWith(cfg.sealer)
	r.Effects.Handle("log", effect.Sealed(effect.HandlerFunc(func(_ context.Context, run string, e journal.Effect) error {
		r.log.Info("effect", "run", run, "effect", e.ID, "kind", e.Kind, "target", e.Target, "payload", string(sensitive.Redact(e.Payload)))
		return nil
	})))
	// No dispatcher: the runtime executes a run's outstanding effects itself
	// each time Drive returns, and journals their outcomes in one commit.
	// The runtime drives every run it starts: a run's first decision goes
	// in the commit that creates it.
	engOpts := append([]orchestrator.Option{orchestrator.WithLogger(cfg.log), orchestrator.WithSealer(cfg.sealer),
		orchestrator.WithStartDecision()}, cfg.engine...)
	r.Engine = orchestrator.New(store, Invoker{Registry: reg}, engOpts...)
	return r
}

// Invoker runs steps in-process from a registry.
type Invoker struct{ Registry *step.Registry }

// Invoke runs req.Function's handler.
func (i Invoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	h, ok := i.Registry.Lookup(req.Function)
	if !ok {
		return step.Response{Error: &step.Failure{Message: fmt.Sprintf("function %q is not registered", req.Function), Kind: step.KindUnregistered, Terminal: true}}, nil
	}
	return step.Invoke(ctx, h, req), nil
}

// Start starts a run (or finds the existing one with its key) and drives it
// in the background.
func (r *Runtime) Start(ctx context.Context, req orchestrator.StartRequest) (orchestrator.Started, error) {
	st, err := r.Engine.Start(ctx, req)
	if err != nil {
		return st, err
	}
	_ = r.Schedule(ctx, st.Wake...)
	return st, nil
}

// Signal delivers an external event to run (Engine.Signal) and drives it.
func (r *Runtime) Signal(ctx context.Context, run, name string, payload json.RawMessage) error {
	return r.schedule(r.Engine.Signal(ctx, run, name, payload))
}

// Complete finishes an async step attempt (Engine.Complete) and drives its
// run.
func (r *Runtime) Complete(ctx context.Context, token string, resp step.Response) error {
	return r.schedule(r.Engine.Complete(ctx, token, resp))
}

// Resubmit takes a run out of review (Engine.Resubmit) and drives it.
func (r *Runtime) Resubmit(ctx context.Context, res orchestrator.Resubmission) error {
	return r.schedule(r.Engine.Resubmit(ctx, res))
}

// Cancel cancels a run (Engine.Cancel) and drives it: its compensations
// run and its children are cancelled.
func (r *Runtime) Cancel(ctx context.Context, run, by, reason string) error {
	return r.schedule(r.Engine.Cancel(ctx, run, by, reason))
}

func (r *Runtime) schedule(rec orchestrator.Receipt, err error) error {
	if err != nil {
		return err
	}
	return r.Schedule(context.Background(), rec.Wake...)
}

// Schedule gets runs driven in the background (each once, however often
// it is asked while its driver runs: the driver goes round again). It never
// fails; the error is for the api.Scheduler interface.
func (r *Runtime) Schedule(_ context.Context, runs ...string) error {
	for _, run := range runs {
		r.Poke(run)
	}
	return nil
}

// Poke makes sure run is being driven.
func (r *Runtime) Poke(run string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return
	}
	if t, ok := r.timers[run]; ok {
		t.Stop()
		delete(r.timers, run)
	}
	if r.active[run] {
		r.again[run] = true
		return
	}
	r.active[run] = true
	r.wg.Add(1)
	go r.drive(run)
}

func (r *Runtime) drive(run string) {
	defer r.wg.Done()
	backoff := 50 * time.Millisecond
	for {
		out, err := r.Engine.Drive(r.ctx, run)
		if r.ctx.Err() != nil {
			r.finish(run, "")
			return
		}
		if err != nil {
			r.log.Error("drive failed; retrying", "run", run, "err", err, "in", backoff)
			if errors.Is(err, journal.ErrNotFound) || errors.Is(err, orchestrator.ErrCorruptJournal) || errors.Is(err, orchestrator.ErrUnknownDefinition) {
				r.mu.Lock()
				r.notify(run, waited{err: err})
				r.finishLocked(run, "")
				r.mu.Unlock()
				return
			}
			select {
			case <-time.After(backoff):
			case <-r.ctx.Done():
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		_ = r.Schedule(r.ctx, out.Wake...)
		if len(out.Effects) > 0 && r.runEffects(run, out.Effects) {
			// Their outcomes are journaled: decide again, which settles the
			// wake-up Decide asked for while they were undispatched.
			continue
		}
		if out.Continue {
			continue
		}
		r.mu.Lock()
		if r.again[run] {
			delete(r.again, run)
			r.mu.Unlock()
			continue
		}
		if !out.WakeAt.IsZero() {
			r.timers[run] = time.AfterFunc(time.Until(out.WakeAt), func() { r.Poke(run) })
		}
		// Going idle in the same critical section as the check of again: a
		// Poke (a timer, an event) after this starts a new driver, one before
		// it made this driver go round again. Nothing falls in between.
		status := journal.Status("")
		if out.Done {
			status = out.Status
		}
		r.finishLocked(run, status)
		r.mu.Unlock()
		return
	}
}

// runEffects executes a run's outstanding effects and journals their
// outcomes in one commit; it reports whether they were journaled. Effects
// outlive Close's cancellation, so an accepted effect is not abandoned
// half-way; a failure to journal leaves them outstanding, and the wake-up
// Decide asks for while they are undispatched brings them back.
func (r *Runtime) runEffects(run string, effects []journal.Effect) bool {
	failed, err := r.Effects.Run(context.WithoutCancel(r.ctx), run, effects)
	if err != nil {
		r.log.Warn("effect outcomes not journaled; they run again", "run", run, "err", err)
		return false
	}
	for id, ferr := range failed {
		r.log.Warn("effect failed", "run", run, "effect", id, "err", ferr)
	}
	// The engine's cached state of run catches up with the outcomes (they
	// moved the run's sequence on) at the next Drive.
	return true
}

// finish marks run idle and wakes waiters if it settled.
func (r *Runtime) finish(run string, status journal.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finishLocked(run, status)
}

// finishLocked is finish with r.mu held.
func (r *Runtime) finishLocked(run string, status journal.Status) {
	delete(r.active, run)
	delete(r.again, run)
	if settled(status) {
		r.notify(run, waited{status: status})
	}
}

// notify answers run's waiters, with r.mu held.
func (r *Runtime) notify(run string, w waited) {
	for _, ch := range r.waiters[run] {
		ch <- w
	}
	delete(r.waiters, run)
}

// settled reports whether Wait returns on status.
func settled(status journal.Status) bool {
	return status.Terminal() || status == journal.StatusReview
}

// Wait blocks until run is completed, failed, cancelled or in review, and
// returns that status. While a driver runs the run, Wait only waits for it
// to finish; otherwise it reads the run's head once, as the run may have
// settled before.
func (r *Runtime) Wait(ctx context.Context, run string) (journal.Status, error) {
	ch := make(chan waited, 1)
	r.mu.Lock()
	r.waiters[run] = append(r.waiters[run], ch)
	active := r.active[run]
	r.mu.Unlock()
	if !active {
		// No driver: it finishes after this registration (and answers ch)
		// or it finished before, and the journal says how.
		head, _, err := r.store.Load(ctx, run)
		if err != nil || settled(head.Status) {
			r.unwait(run, ch)
			return head.Status, err
		}
	}
	select {
	case w := <-ch:
		return w.status, w.err
	case <-ctx.Done():
		r.unwait(run, ch)
		return "", ctx.Err()
	}
}

// unwait removes the waiter ch of run, if still registered.
func (r *Runtime) unwait(run string, ch chan waited) {
	r.mu.Lock()
	defer r.mu.Unlock()
	chans := slices.DeleteFunc(r.waiters[run], func(c chan waited) bool { return c == ch })
	if len(chans) == 0 {
		delete(r.waiters, run)
		return
	}
	r.waiters[run] = chans
}

// Resume drives every run the journal says is unfinished (running or
// waiting), and re-dispatches outstanding effects of runs that settled
// within the effect-recovery window: call it once at start-up, before
// anything else drives runs on the journal. The attempts of unfinished runs
// still in flight were the stopped process's: Resume ends them first
// (Engine.Reclaim), and their retry policies take over. It returns how many
// unfinished runs it resumed.
func (r *Runtime) Resume(ctx context.Context) (int, error) {
	n, err := r.resume(ctx, true, journal.Query{}, journal.StatusRunning, journal.StatusWaiting)
	if err != nil || r.effectsSpan <= 0 {
		return n, err
	}
	// Driving a settled run only re-dispatches its outstanding effects.
	_, err = r.resume(ctx, false, journal.Query{Since: time.Now().Add(-r.effectsSpan)},
		journal.StatusCompleted, journal.StatusReview, journal.StatusFailed, journal.StatusCancelled)
	return n, err
}

func (r *Runtime) resume(ctx context.Context, reclaim bool, q journal.Query, statuses ...journal.Status) (int, error) {
	n := 0
	for _, status := range statuses {
		cursor := ""
		for {
			q.Status, q.Cursor, q.Limit = status, cursor, 500
			runs, next, err := r.store.Runs(ctx, q)
			if err != nil {
				return n, fmt.Errorf("resume: %w", err)
			}
			for _, run := range runs {
				if reclaim {
					r.reclaim(ctx, run.ID)
				}
				r.Poke(run.ID)
				n++
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return n, nil
}

// reclaimPauses are the pauses before Resume tries a failed reclaim again.
var reclaimPauses = []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 250 * time.Millisecond}

// reclaim ends the attempts of run the stopped process left in flight
// (Engine.Reclaim), trying again when the journal fails the write: a
// reclaim that is not journaled leaves them to their leases (the step's
// timeout and more) before they are retried. Trying again is safe: Reclaim
// ends only attempts still in flight.
func (r *Runtime) reclaim(ctx context.Context, run string) {
	for i := 0; ; i++ {
		_, err := r.Engine.Reclaim(ctx, run, "the process that invoked it stopped before its result came")
		if err == nil {
			return
		}
		if i == len(reclaimPauses) || ctx.Err() != nil {
			r.log.Warn("attempts in flight not reclaimed; they end when their leases expire", "run", run, "err", err)
			return
		}
		select {
		case <-time.After(reclaimPauses[i]):
		case <-ctx.Done():
		}
	}
}

// Close stops driving runs and waits for in-flight work to stop. Unfinished
// runs stay in the journal and resume on the next Resume.
func (r *Runtime) Close() error {
	r.mu.Lock()
	r.cancel()
	for run, t := range r.timers {
		t.Stop()
		delete(r.timers, run)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}
