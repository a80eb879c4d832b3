package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/callback"
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

// Engine drives runs: Start appends a run's first commit, Drive advances it
// until it finishes, waits, or runs out of time.
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
	waker        Waker
	// callbacks signs and verifies async steps' callback tokens.
	callbacks *callback.Keyring

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

// WithDispatcher sets where effects go (default: nowhere; they stay
// outstanding in the journal).
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

// New returns an engine over store that runs steps with invoker.
func New(store journal.Store, invoker Invoker, opts ...Option) *Engine {
	e := &Engine{store: store, invoker: invoker, now: time.Now, log: slog.Default(),
		margin: 2 * time.Second, latest: map[string]*workflow.Definition{}, byHash: map[string]*workflow.Definition{},
		cache: newStateCache(1 << 14), effectsEvery: time.Second}
	for _, o := range opts {
		o(e)
	}
	if e.callbacks == nil {
		e.callbacks = ephemeralKeys()
	}
	return e
}

// Store returns the engine's journal.
func (e *Engine) Store() journal.Store { return e.store }

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

// Refresh makes the newest stored definition of each workflow the one new
// runs start on, when it differs from the registered one: definitions
// pushed by `ordo definitions push` or the API while this engine runs
// (versioning). Runs in flight keep the definition they pinned.
func (e *Engine) Refresh(ctx context.Context) error {
	stored, err := e.store.Definitions(ctx, "")
	if err != nil {
		return fmt.Errorf("refresh definitions: %w", err)
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

// StartRequest asks for a new run.
type StartRequest struct {
	Workflow string
	Input    json.RawMessage
	// Key is the run key. Empty: the workflow's Key expression over the
	// input, else Trigger, else a random id.
	Key string
	// Trigger identifies the message that asked for the run (for tracing).
	Trigger string
	// Parent, ParentStep and ParentAttempt are set for a child run (a sub
	// step): its completion is reported to that step.
	Parent        string
	ParentStep    string
	ParentAttempt int
}

// Started reports the run a Start refers to.
type Started struct {
	Run     string
	Created bool // false: the run already existed (a duplicate start)
	Status  journal.Status
}

// RunID is the id of the run of workflow with key.
func RunID(workflow, key string) string { return workflow + "/" + key }

// Start appends a new run's first commit: RunStarted plus its first
// decision. Starting a run whose key exists is a no-op that reports the
// existing run. Start does not invoke steps: Drive does.
func (e *Engine) Start(ctx context.Context, req StartRequest) (Started, error) {
	def, ok := e.Workflow(req.Workflow)
	if !ok {
		return Started{}, fmt.Errorf("%w %q", ErrUnknownWorkflow, req.Workflow)
	}
	input := req.Input
	if len(input) == 0 {
		input = json.RawMessage(`{}`)
	}
	in, err := workflow.DecodeJSON(input)
	if err != nil {
		return Started{}, fmt.Errorf("%w: start %s: input is not JSON: %w", ErrBadInput, req.Workflow, err)
	}
	key := req.Key
	if key == "" {
		if key, err = def.EvalKey(in); err != nil {
			return Started{}, fmt.Errorf("%w: start %s: key: %w", ErrBadInput, req.Workflow, err)
		}
	}
	if key == "" {
		key = req.Trigger
	}
	if key == "" {
		key = uuid.NewString()
	}
	if err := CheckKey(key); err != nil {
		return Started{}, fmt.Errorf("start %s: %w", req.Workflow, err)
	}
	run := RunID(def.Name, key)
	now := e.now()
	rs := NewRunState(def)
	first := journal.Event{Kind: journal.RunStarted, At: now, Workflow: def.Name, DefHash: def.Hash(),
		Key: key, Trigger: req.Trigger, Input: input, Parent: req.Parent, Step: req.ParentStep, Attempt: req.ParentAttempt}
	if err := rs.Apply(&first); err != nil {
		return Started{}, err
	}
	if def.DeferredKey != "" {
		queued, existing, err := e.enqueue(ctx, def, run, in)
		if err != nil || existing != nil {
			return orStarted(existing), err
		}
		if queued != "" {
			// Another run holds the key: this one waits, journaled as deferred.
			deferred := journal.Event{Kind: journal.Deferred, At: now, Child: queued}
			_ = rs.Apply(&deferred)
			st, err := e.create(ctx, rs, run, def, now, []journal.Event{first, deferred}, journal.StatusDeferred)
			if err != nil || !st.Created {
				return st, err
			}
			// The key may have come to this run while it was being created
			// (its predecessor ended in between and found no run to release).
			return e.releaseIfAcquired(ctx, queued, st)
		}
	}
	d := rs.Decide(now)
	status := journal.StatusRunning
	if d.Status != "" {
		status = d.Status
	}
	return e.create(ctx, rs, run, def, now, append([]journal.Event{first}, d.Events...), status)
}

func orStarted(s *Started) Started {
	if s == nil {
		return Started{}
	}
	return *s
}

// create appends a run's first commit; a conflict means the run exists.
func (e *Engine) create(ctx context.Context, rs *RunState, run string, def *workflow.Definition, now time.Time,
	events []journal.Event, status journal.Status) (Started, error) {
	stamp(ctx, &events[0])
	seq, err := e.store.Append(ctx, journal.Commit{Run: run, After: 0, Events: events,
		Status: status, Workflow: def.Name, DefHash: def.Hash(), At: now})
	if errors.Is(err, journal.ErrConflict) {
		head, _, lerr := e.store.Load(ctx, run)
		if lerr != nil {
			return Started{}, fmt.Errorf("start %s: %w", run, lerr)
		}
		return Started{Run: run, Status: head.Status}, nil
	}
	if err != nil {
		return Started{}, fmt.Errorf("start %s: %w", run, err)
	}
	rs.Seq = seq
	e.cache.store(run, cached{rs: rs, fresh: true})
	e.log.Debug("run started", "run", run, "workflow", def.Name, "defHash", def.Hash())
	return Started{Run: run, Created: true, Status: status}, nil
}

// Forget drops the engine's cached state of run, after something else
// appended to its journal; the next Drive reloads it.
func (e *Engine) Forget(run string) { e.cache.drop(run) }

// Outcome is where Drive left a run.
type Outcome struct {
	Status journal.Status
	// WakeAt is when the run next needs driving (a retry or timer is due);
	// zero when it waits for nothing time-based.
	WakeAt time.Time
	// Continue is true when Drive stopped because its deadline was near:
	// the run must be driven again at once (a continuation).
	Continue bool
	// Done is true when the run will make no more progress on its own
	// (see Decision.Done).
	Done bool
	// Effects lists the run's journaled effects without an outcome when
	// Drive returned (dispatched, or to be executed by a caller that runs
	// effects itself, like the embedded runtime).
	Effects []journal.Effect
}

// load returns the run's state: the cached one brought up to date, else
// folded from the journal.
func (e *Engine) load(ctx context.Context, run string) (*RunState, error) {
	if c, ok := e.cache.take(run); ok && (c.fresh || e.catchUp(ctx, run, c.rs)) {
		return c.rs, nil
	}
	head, events, err := e.store.Load(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", run, err)
	}
	def, err := e.Definition(ctx, head.DefHash)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", run, err)
	}
	rs, err := Fold(def, events)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", run, err)
	}
	rs.Seq = head.Seq
	if n := len(events); n > 0 && events[n-1].Seq > rs.Seq {
		rs.Seq = events[n-1].Seq
	}
	return rs, nil
}

type attemptResult struct {
	inv  Invocation
	resp step.Response
}

// Drive advances run until it is done or in review, waits for something
// time-based (Outcome.WakeAt) or external, or ctx's deadline is near
// (Outcome.Continue). Every state change is journaled before the work it
// causes is sent. Drive is safe to call concurrently for the same run, in
// one process or many: the journal's conditional appends arbitrate.
func (e *Engine) Drive(ctx context.Context, run string) (Outcome, error) {
	rs, err := e.load(ctx, run)
	if err != nil {
		return Outcome{}, err
	}
	results := make(chan attemptResult, len(rs.Def.Steps)+workflow.DefaultMaxConcurrency)
	running := map[string]bool{}
	var stepsWG sync.WaitGroup
	defer stepsWG.Wait()
	stepCtx, cancelSteps := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSteps()
	var pending []journal.Event // step results not yet journaled
	recovering := true
	sent := map[string]bool{} // effects this Drive already dispatched
	// Journaled effects are sent when Drive returns, or at least every
	// effectsEvery while it runs: effect outcomes then rarely race this
	// Drive's own appends (each race costs a reload and a rewrite).
	var queued []journal.Effect
	flushed := time.Now()
	flush := func() {
		if len(queued) > 0 && e.dispatch != nil {
			if err := e.dispatch.Dispatch(ctx, run, queued); err != nil {
				e.log.Warn("effects not dispatched; they stay outstanding", "run", run, "err", err)
			}
		}
		queued, flushed = nil, time.Now()
	}
	// handOn fires when the deadline comes within the margin while Drive
	// waits for steps, so the caller still has time to continue the run.
	var handOn <-chan time.Time
	late := false // handOn fired
	if dl, ok := ctx.Deadline(); ok {
		t := time.NewTimer(time.Until(dl) - e.margin)
		defer t.Stop()
		handOn = t.C
	}
	for {
		now := e.now()
		d := rs.Decide(now)
		commit := append(pending, d.Events...)
		if len(commit) > 0 {
			seq, err := e.store.Append(ctx, journal.Commit{Run: run, After: rs.Seq, Events: commit, Status: d.Status, At: now})
			if errors.Is(err, journal.ErrConflict) {
				e.cache.drop(run)
				if rs, err = e.load(ctx, run); err != nil {
					return Outcome{}, err
				}
				pending = rs.absorb(pending)
				recovering = true
				continue
			}
			if err != nil {
				return Outcome{}, fmt.Errorf("drive %s: %w", run, err)
			}
			rs.Seq = seq
		}
		effects := effectsOf(pending)
		if recovering {
			effects = effects[:0]
			for _, ef := range rs.Outstanding {
				if !sent[ef.ID] {
					effects = append(effects, ef)
				}
			}
		}
		for _, ef := range effects {
			sent[ef.ID] = true
		}
		queued = append(queued, effects...)
		if time.Since(flushed) >= e.effectsEvery {
			flush()
		}
		pending = nil
		invs := d.Start
		if recovering {
			invs = append(invs, d.InFlight...)
		}
		recovering = false
		if d.Done {
			flush()
			if err := e.settle(ctx, run, rs); err != nil {
				return Outcome{}, err
			}
			return Outcome{Status: rs.Status, Done: true, Effects: slices.Clone(rs.Outstanding)}, nil
		}
		if late || e.nearDeadline(ctx) {
			flush()
			e.cache.put(run, rs)
			return Outcome{Status: rs.Status, Continue: true, Effects: slices.Clone(rs.Outstanding)}, nil
		}
		if len(invs) > 0 {
			// The goroutines get values: rs itself is replaced on a reload.
			state, wf := rs.StateJSON(), rs.Workflow
			for _, inv := range invs {
				if inv.Workflow != "" {
					// A sub step: start the child run (idempotent) and get it driven.
					if err := e.startChild(ctx, run, inv); err != nil {
						return Outcome{}, err
					}
					continue
				}
				key := flightKey(inv)
				if running[key] {
					continue
				}
				running[key] = true
				stepsWG.Add(1)
				go func() {
					defer stepsWG.Done()
					r := attemptResult{inv: inv, resp: e.invoke(stepCtx, wf, run, inv, state)}
					select {
					case results <- r:
					case <-stepCtx.Done():
					}
				}()
			}
		}
		var wake <-chan time.Time
		var timer *time.Timer
		if !d.WakeAt.IsZero() {
			wait := d.WakeAt.Sub(now)
			if len(running) == 0 && wait > e.inline {
				flush()
				e.cache.put(run, rs)
				return Outcome{Status: rs.Status, WakeAt: d.WakeAt, Effects: slices.Clone(rs.Outstanding)}, nil
			}
			timer = time.NewTimer(max(wait, 0))
			wake = timer.C
		} else if len(running) == 0 {
			flush()
			e.cache.put(run, rs) // waiting for an event, a callback or a child
			return Outcome{Status: rs.Status, Effects: slices.Clone(rs.Outstanding)}, nil
		}
		// take records the results that are in, r and any others ready.
		take := func(r attemptResult) error {
			for {
				delete(running, flightKey(r.inv))
				// An async step's invocation only hands it its token: unless
				// it failed, its result comes later through Complete.
				if !r.inv.Async || r.resp.Error != nil {
					ev := resultEvent(run, r, e.now())
					// Journal a result only while its attempt awaits one: after a
					// reload another driver may have journaled it already.
					if rs.awaits(&ev) {
						if err := rs.Apply(&ev); err != nil {
							return err
						}
						pending = append(pending, ev)
					}
				}
				select {
				case r = <-results:
				default:
					return nil
				}
			}
		}
		select {
		case r := <-results:
			if err := take(r); err != nil {
				return Outcome{}, err
			}
		case <-wake:
		case <-handOn:
			// Journal what is in and hand the run on (at the top of the
			// loop); attempts still running are re-invoked when the run
			// is next driven.
			late = true
			select {
			case r := <-results:
				if err := take(r); err != nil {
					return Outcome{}, err
				}
			default:
			}
		case <-ctx.Done():
			// Results of attempts still running are lost with this Drive;
			// the attempts are re-invoked when the run is next driven.
			// rs holds results not journaled: report no effects from it.
			if timer != nil {
				timer.Stop()
			}
			return Outcome{Status: rs.Status, Continue: true}, nil
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// absorb re-applies results gathered before a conflict to a reloaded state
// and returns those still needed (another writer may have recorded them).
func (rs *RunState) absorb(pending []journal.Event) []journal.Event {
	var keep []journal.Event
	for i := range pending {
		if !rs.awaits(&pending[i]) {
			continue
		}
		_ = rs.Apply(&pending[i])
		keep = append(keep, pending[i])
	}
	return keep
}

// awaits reports whether ev is the result an attempt in flight waits for.
func (rs *RunState) awaits(ev *journal.Event) bool {
	s, ok := rs.Steps[ev.Step]
	switch {
	case !ok:
		return false
	case ev.Compensation:
		return rs.comp != nil && rs.comp.idx == s.idx && rs.comp.Phase == PhaseRunning && rs.comp.Attempt == ev.Attempt
	case ev.Index > 0:
		return s.Phase == PhaseRunning && ev.Index <= len(s.Items) &&
			s.Items[ev.Index-1].Phase == PhaseRunning && s.Items[ev.Index-1].Attempt == ev.Attempt
	}
	return s.Phase == PhaseRunning && s.Attempt == ev.Attempt
}

// flightKey names an invocation among those a Drive has running.
func flightKey(inv Invocation) string {
	k := inv.Step + "#" + strconv.Itoa(inv.Index)
	if inv.Compensation {
		k += "~"
	}
	return k
}

func (e *Engine) nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < e.margin
}

func (e *Engine) invoke(ctx context.Context, wf, run string, inv Invocation, state json.RawMessage) step.Response {
	if inv.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, inv.Timeout)
		defer cancel()
	}
	req := step.Request{Workflow: wf, Run: run, Step: inv.Step, Function: inv.Function,
		Attempt: inv.Attempt, IdempotencyKey: run + "/" + effectStep(inv), Input: inv.Input, State: state,
		Index: inv.Index, Token: e.callbackToken(run, inv), Compensation: inv.Compensation}
	start := time.Now()
	resp, err := e.invoker.Invoke(ctx, req)
	switch {
	// An in-process step reports its context's end as its own failure; a
	// remote one as a transport error. Either way the attempt timed out.
	case ctx.Err() != nil && (err != nil || resp.Error != nil && !resp.Error.Terminal):
		resp = step.Response{Error: &step.Failure{Message: fmt.Sprintf("step %s timed out after %s", inv.Step, time.Since(start).Round(time.Millisecond)), Kind: "timeout"}}
	case err != nil:
		resp = step.Response{Error: &step.Failure{Message: err.Error(), Kind: "invoke"}}
	}
	if resp.Error != nil {
		e.log.Info("step failed", "run", run, "step", inv.Step, "attempt", inv.Attempt,
			"terminal", resp.Error.Terminal, "err", resp.Error.Message)
	}
	return resp
}

func resultEvent(run string, r attemptResult, now time.Time) journal.Event {
	if f := r.resp.Error; f != nil {
		return journal.Event{Kind: journal.StepFailed, At: now, Step: r.inv.Step, Attempt: r.inv.Attempt,
			Index: r.inv.Index, Compensation: r.inv.Compensation,
			Error: &journal.Error{Message: f.Message, Kind: f.Kind, Terminal: f.Terminal}}
	}
	return successEvent(run, r.inv, r.resp.Result, now)
}

// successEvent records a successful attempt; its effects get ids stable
// across redeliveries: run/step[#item|~]/attempt/n.
func successEvent(run string, inv Invocation, res step.Result, now time.Time) journal.Event {
	r := attemptResult{inv: inv, resp: step.Response{Result: res}}
	ev := journal.Event{Kind: journal.StepSucceeded, At: now, Step: r.inv.Step, Attempt: r.inv.Attempt,
		Index: r.inv.Index, Compensation: r.inv.Compensation, Output: r.resp.Output, State: r.resp.State}
	if len(ev.Output) == 0 {
		ev.Output = json.RawMessage(`null`)
	}
	for i, ef := range r.resp.Effects {
		ev.Effects = append(ev.Effects, journal.Effect{
			ID:   run + "/" + effectStep(r.inv) + "/" + strconv.Itoa(r.inv.Attempt) + "/" + strconv.Itoa(i),
			Kind: ef.Kind, Target: ef.Target, Payload: ef.Payload})
	}
	return ev
}

func effectStep(inv Invocation) string {
	switch {
	case inv.Compensation:
		return inv.Step + "~"
	case inv.Index > 0:
		return inv.Step + "#" + strconv.Itoa(inv.Index)
	}
	return inv.Step
}

func effectsOf(events []journal.Event) []journal.Effect {
	var out []journal.Effect
	for _, ev := range events {
		out = append(out, ev.Effects...)
	}
	return out
}
