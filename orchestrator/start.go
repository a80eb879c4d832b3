package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

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
	// Decide journals the run's first decision in the commit that creates
	// it (one commit fewer per run), as WithStartDecision does for every
	// start. Only for a caller that drives the run next with this same
	// engine (the orchestrator Lambda starting the run a trigger names,
	// then driving it): the attempts that decision schedules are leased to
	// this engine and invoked by its next Drive of the run. Elsewhere they
	// would wait for their leases to expire. A duplicate start ignores it.
	Decide bool
}

// Started reports the run a Start refers to. Its Receipt names the run when
// it needs a drive: it is running (new, or a duplicate start of a run not
// yet settled, which a drive never harms). A deferred run is driven once
// its turn comes; the Drive that hands it the key reports it.
type Started struct {
	Run     string
	Created bool // false: the run already existed (a duplicate start)
	Status  journal.Status
	Receipt
}

// RunID is the id of the run of workflow with key.
func RunID(workflow, key string) string { return workflow + "/" + key }

// Start appends a new run's first commit: RunStarted (and, for a deferred
// workflow, its place in the key's queue; with WithStartDecision or
// StartRequest.Decide, the run's first decision). Starting a run whose key
// exists is a no-op that reports the existing run. Start does not invoke
// steps: Drive does, when the runtime schedules the run (Started.Wake).
func (e *Engine) Start(ctx context.Context, req StartRequest) (Started, error) {
	st, err := e.start(ctx, req)
	if err == nil && st.Wake == nil && (st.Status == journal.StatusRunning || st.Status == journal.StatusWaiting) {
		st.Wake = []string{st.Run}
	}
	return st, err
}

func (e *Engine) start(ctx context.Context, req StartRequest) (Started, error) {
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
	// Keys are computed from the clear input; only the sealed one is
	// journaled.
	if input, err = e.sealInput(ctx, def, input); err != nil {
		return Started{}, fmt.Errorf("start %s: %w", req.Workflow, err)
	}
	run := RunID(def.Name, key)
	now := e.now()
	rs := NewRunState(def)
	rs.SetFunctionTimeouts(e.functionTimeouts(ctx, def))
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
	if e.startDecision || req.Decide {
		return e.createDecided(ctx, rs, run, def, now, first)
	}
	// The first decision is the driver's: it schedules the first attempts
	// and invokes them, under leases only it holds.
	return e.create(ctx, rs, run, def, now, []journal.Event{first}, journal.StatusRunning)
}

// createDecided creates the run with its first decision in the same commit
// (WithStartDecision, StartRequest.Decide). The attempts it schedules are
// owed to this engine's next Drive of the run, which the returned Started
// asks for whatever the decision did: a run settled at once still owes its
// parent or its deferred key (Drive settles it).
func (e *Engine) createDecided(ctx context.Context, rs *RunState, run string, def *workflow.Definition, now time.Time,
	first journal.Event) (Started, error) {
	dec := rs.Decide(now)
	status := journal.StatusRunning
	if dec.Status != "" {
		status = dec.Status
	}
	st, err := e.create(ctx, rs, run, def, now, append([]journal.Event{first}, dec.Events...), status)
	if err != nil || !st.Created {
		return st, err
	}
	e.cache.owe(run, dec.Start)
	st.Wake = []string{run}
	return st, nil
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
	rs.seq = seq
	if status != journal.StatusDeferred {
		e.cache.store(run, cached{rs: rs, fresh: true})
	}
	// A deferred run is not cached: its first Drive comes once it is
	// released, by whichever process ended the run before it, and must
	// read that release from the journal.
	e.log.Debug("run started", "run", run, "workflow", def.Name, "defHash", def.Hash())
	return Started{Run: run, Created: true, Status: status}, nil
}

// Forget drops the engine's cached state of run, after something else
// appended to its journal; the next Drive reloads it.
func (e *Engine) Forget(run string) { e.cache.drop(run) }
