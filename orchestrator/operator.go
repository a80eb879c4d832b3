package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// ErrNotInReview is returned when resubmitting a run that is not in review.
var ErrNotInReview = errors.New("orchestrator: run is not in review")

// ErrFinished is returned when cancelling a run that already finished.
var ErrFinished = errors.New("orchestrator: run already finished")

// Resubmission is an operator's decision to retry a run from review.
type Resubmission struct {
	Run string
	// By names the operator (journaled).
	By string
	// Step restarts this step too (default: the failed ones).
	Step string
	// Input replaces Step's input; State is a merge patch on the run state.
	Input, State json.RawMessage
	Reason       string
}

// Resubmit takes a run out of review: its failed steps (and Step) start
// again with fresh attempts. The run then needs a drive (Receipt).
func (e *Engine) Resubmit(ctx context.Context, r Resubmission) (Receipt, error) {
	if len(r.Input) > 0 && !json.Valid(r.Input) {
		return Receipt{}, fmt.Errorf("%w: resubmit %s: input is not JSON", ErrBadInput, r.Run)
	}
	if len(r.State) > 0 && !json.Valid(r.State) {
		return Receipt{}, fmt.Errorf("%w: resubmit %s: state is not JSON", ErrBadInput, r.Run)
	}
	err := e.operate(ctx, r.Run, func(rs *RunState) (journal.Event, journal.Status, error) {
		// The edits are checked against the step's input (sealEdits).
		rs, err := e.resolve(ctx, r.Run, rs)
		if err != nil {
			return journal.Event{}, "", err
		}
		if rs.status != journal.StatusReview {
			return journal.Event{}, "", fmt.Errorf("resubmit %s: %w (status %s)", r.Run, ErrNotInReview, rs.status)
		}
		if r.Step != "" {
			if _, ok := rs.byName[r.Step]; !ok {
				return journal.Event{}, "", fmt.Errorf("resubmit %s: unknown step %q", r.Run, r.Step)
			}
		}
		// Resubmitting a failed compensation resumes undoing under the
		// status the run ended with (applyResubmitted): the head says so
		// too, so that it moves when the compensations settle.
		status := journal.StatusRunning
		if rs.compensating {
			status = rs.endStatus
		}
		input, state, err := e.sealEdits(ctx, rs, r)
		if err != nil {
			return journal.Event{}, "", fmt.Errorf("resubmit %s: %w", r.Run, err)
		}
		return journal.Event{Kind: journal.Resubmitted, Step: r.Step, Input: input, State: state,
			By: r.By, Reason: r.Reason}, status, nil
	})
	if err != nil {
		return Receipt{}, err
	}
	return wakeOne(r.Run), nil
}

// Cancel stops a run: no new steps start, and the compensations of its
// completed steps run (newest first). Attempts already running finish;
// their results are journaled, and a step that completes after the cancel
// is compensated too. The run then needs a drive (Receipt): it settles,
// compensates and cancels its children there.
func (e *Engine) Cancel(ctx context.Context, run, by, reason string) (Receipt, error) {
	err := e.operate(ctx, run, func(rs *RunState) (journal.Event, journal.Status, error) {
		if rs.status.Terminal() {
			return journal.Event{}, "", fmt.Errorf("cancel %s: %w (status %s)", run, ErrFinished, rs.status)
		}
		return journal.Event{Kind: journal.Cancelled, By: by, Reason: reason}, journal.StatusCancelled, nil
	})
	if err != nil {
		return Receipt{}, err
	}
	return wakeOne(run), nil
}

// Reclaim ends the attempts of run that are in flight under a live lease,
// for a runtime that knows the driver holding them is gone: the embedded
// runtime, which is the journal's only writer, calls it for every
// unfinished run when it starts, since the process that invoked them has
// stopped. Each such attempt fails with kind step.KindLease and its retry
// policy takes over, as if its lease had expired; a reclaim costs no retry
// (see MaxReclaims). An async step whose start was acknowledged
// (StepStarted) is left alone: its callback token is out, and its callback
// or its timeout ends it; one whose start was not is reclaimed like any
// attempt. The run then needs a drive (Receipt).
func (e *Engine) Reclaim(ctx context.Context, run, reason string) (Receipt, error) {
	var failed []journal.Event
	err := e.operateMany(ctx, run, func(rs *RunState) ([]journal.Event, error) {
		failed = rs.reclaimable(reason, e.now())
		if len(failed) == 0 {
			return nil, errSkip
		}
		return failed, nil
	})
	if errors.Is(err, errSkip) {
		return wakeOne(run), nil
	}
	if err != nil {
		return Receipt{}, err
	}
	e.log.Info("attempts of a stopped driver reclaimed", "run", run, "attempts", len(failed))
	return wakeOne(run), nil
}

// reclaimable returns a failure for each attempt of rs in flight under a
// lease.
func (rs *RunState) reclaimable(reason string, now time.Time) []journal.Event {
	var out []journal.Event
	fail := func(stepName string, index, attempt int, comp bool) {
		out = append(out, journal.Event{Kind: journal.StepFailed, At: now, Step: stepName, Index: index, Attempt: attempt,
			Compensation: comp, Error: &journal.Error{Kind: step.KindLease,
				Message: fmt.Sprintf("step %s attempt %d: %s", stepName, attempt, reason)}})
	}
	flights := slices.Collect(maps.Keys(rs.leases))
	slices.SortFunc(flights, func(a, b flight) int {
		if a.step != b.step {
			return a.step - b.step
		}
		return a.item - b.item
	})
	for _, f := range flights {
		switch {
		case f == compFlight:
			if c := rs.comp; c != nil && c.phase == PhaseRunning {
				fail(rs.def.Steps[c.idx].Name, 0, c.attempt, true)
			}
		case f.item > 0:
			fail(rs.def.Steps[f.step].Name, f.item, rs.steps[f.step].items[f.item-1].attempt, false)
		default:
			fail(rs.def.Steps[f.step].Name, 0, rs.steps[f.step].attempt, false)
		}
	}
	return out
}

// operate appends one operator event, reloading on conflicts. A command
// id in ctx (WithCommandID) already journaled makes it a no-op. f gets the
// state as loaded: values still in snapshot parts are resolved only if f
// asks (Engine.resolve).
func (e *Engine) operate(ctx context.Context, run string, f func(*RunState) (journal.Event, journal.Status, error)) error {
	id := commandID(ctx)
	for {
		e.cache.drop(run)
		rs, _, err := e.loadLazy(ctx, run)
		if err != nil {
			return err
		}
		if id != "" {
			if done, err := e.commandDone(ctx, run, id); done || err != nil {
				return err
			}
		}
		ev, status, err := f(rs)
		if err != nil {
			return err
		}
		ev.At = e.now()
		if id != "" {
			ev.Trigger = id
		}
		stamp(ctx, &ev)
		_, err = e.store.Append(ctx, journal.Commit{Run: run, After: rs.seq, Events: []journal.Event{ev}, Status: status, At: ev.At})
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", ev.Kind, run, err)
		}
		return nil
	}
}

// operateMany appends the events f returns in one commit, reloading on
// conflicts.
func (e *Engine) operateMany(ctx context.Context, run string, f func(*RunState) ([]journal.Event, error)) error {
	for {
		e.cache.drop(run)
		rs, _, err := e.load(ctx, run)
		if err != nil {
			return err
		}
		events, err := f(rs)
		if err != nil {
			return err
		}
		for i := range events {
			stamp(ctx, &events[i])
		}
		_, err = e.store.Append(ctx, journal.Commit{Run: run, After: rs.seq, Events: events, At: e.now()})
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", events[0].Kind, run, err)
		}
		return nil
	}
}
