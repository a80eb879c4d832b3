package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/journal"
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
// again with fresh attempts. Drive the run afterwards.
func (e *Engine) Resubmit(ctx context.Context, r Resubmission) error {
	defer e.wake(ctx, r.Run)
	return e.operate(ctx, r.Run, func(rs *RunState) (journal.Event, journal.Status, error) {
		if rs.Status != journal.StatusReview {
			return journal.Event{}, "", fmt.Errorf("resubmit %s: %w (status %s)", r.Run, ErrNotInReview, rs.Status)
		}
		if r.Step != "" {
			if _, ok := rs.Steps[r.Step]; !ok {
				return journal.Event{}, "", fmt.Errorf("resubmit %s: unknown step %q", r.Run, r.Step)
			}
		}
		return journal.Event{Kind: journal.Resubmitted, Step: r.Step, Input: r.Input, State: r.State,
			By: r.By, Reason: r.Reason}, journal.StatusRunning, nil
	})
}

// Cancel stops a run: no new steps start, and the compensations of its
// completed steps run (newest first). Attempts already running finish;
// their results are journaled, and a step that completes after the cancel
// is compensated too.
func (e *Engine) Cancel(ctx context.Context, run, by, reason string) error {
	defer e.wake(ctx, run)
	return e.operate(ctx, run, func(rs *RunState) (journal.Event, journal.Status, error) {
		if rs.Status.Terminal() {
			return journal.Event{}, "", fmt.Errorf("cancel %s: %w (status %s)", run, ErrFinished, rs.Status)
		}
		return journal.Event{Kind: journal.Cancelled, By: by, Reason: reason}, journal.StatusCancelled, nil
	})
}

// operate appends one operator event, reloading on conflicts.
func (e *Engine) operate(ctx context.Context, run string, f func(*RunState) (journal.Event, journal.Status, error)) error {
	for {
		e.cache.drop(run)
		rs, err := e.load(ctx, run)
		if err != nil {
			return err
		}
		ev, status, err := f(rs)
		if err != nil {
			return err
		}
		ev.At = e.now()
		stamp(ctx, &ev)
		_, err = e.store.Append(ctx, journal.Commit{Run: run, After: rs.Seq, Events: []journal.Event{ev}, Status: status, At: ev.At})
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", ev.Kind, run, err)
		}
		return nil
	}
}
