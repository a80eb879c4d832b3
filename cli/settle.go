package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// settle drives run until it settles or wait elapses and describes where
// it stands: its status, or for a deferred run the run it waits behind. A
// deferred run behind a run that cannot end on its own (in review, or
// waiting for an event) is reported at once.
func (a *Runtime) settle(ctx context.Context, run string, wait time.Duration) (string, error) {
	if desc, stuck, err := a.deferral(ctx, run); err != nil || stuck {
		return desc, err
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	status, err := a.Wait(wctx, run)
	if !errors.Is(err, context.DeadlineExceeded) {
		return string(status), err
	}
	if desc, _, err := a.deferral(ctx, run); err != nil || desc != "" {
		return desc, err
	}
	head, _, err := a.Store.Load(ctx, run)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (still; it resumes with `ordo dev`)", head.Status), nil
}

// deferral describes run if it is deferred ("deferred behind H (status)"),
// else returns "". stuck reports that H cannot end without an operator or
// an event.
func (a *Runtime) deferral(ctx context.Context, run string) (desc string, stuck bool, err error) {
	head, _, err := a.Store.Load(ctx, run)
	if err != nil || head.Status != journal.StatusDeferred {
		return "", false, err
	}
	holder, _, err := a.Engine.Holder(ctx, run)
	if err != nil {
		return "", false, err
	}
	if holder == "" {
		return "deferred (the key is being handed to it; it resumes with `ordo dev`)", false, nil
	}
	h, _, err := a.Store.Load(ctx, holder)
	if err != nil {
		return "", false, fmt.Errorf("run %s waits behind %s: %w", run, holder, err)
	}
	desc = fmt.Sprintf("deferred behind %s (%s); it starts when that run ends", holder, h.Status)
	switch h.Status {
	case journal.StatusReview, journal.StatusWaiting, journal.StatusDeferred:
		return desc, true, nil
	}
	return desc, false, nil
}
