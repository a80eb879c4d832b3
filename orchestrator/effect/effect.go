// Package effect executes the side effects steps ask for, at least once, and
// journals each outcome (EffectSucceeded / EffectFailed) on the run.
//
// Handlers are registered by effect kind ("log", "sqs", "kinesis", "http",
// ...). An effect carries a stable ID, so a handler that reaches an external
// system passes it on as an idempotency key. The executor runs an effect
// until one attempt succeeds and journals every attempt's outcome; once
// EffectSucceeded is journaled, redeliveries are skipped.
package effect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
)

// Handler performs one effect.
type Handler interface {
	Do(ctx context.Context, run string, e journal.Effect) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, run string, e journal.Effect) error

// Do calls f.
func (f HandlerFunc) Do(ctx context.Context, run string, e journal.Effect) error {
	return f(ctx, run, e)
}

// ErrNoHandler is returned for an effect kind nobody handles.
var ErrNoHandler = errors.New("effect: no handler for kind")

// Executor runs effects through handlers and journals their outcome.
type Executor struct {
	store    journal.Store
	mu       sync.RWMutex
	handlers map[string]Handler
	now      func() time.Time
	// sealer opens sealed payloads for handlers (OpenWith).
	sealer sensitive.Sealer
	// Attempts bounds how often a failing effect is tried in one Execute
	// (default 3) before EffectFailed is journaled.
	Attempts int
}

// NewExecutor returns an executor that journals outcomes in store.
func NewExecutor(store journal.Store) *Executor {
	return &Executor{store: store, handlers: map[string]Handler{}, now: time.Now, Attempts: 3}
}

// OpenWith makes the executor open the sealed values of effects' payloads
// (package sensitive) with s right before a handler performs them, so
// handlers get them in clear, and only then; handlers wrapped with Sealed
// get payloads as journaled. A payload that does not open fails its effect
// (EffectFailed, naming the key problem). An error a handler returns is
// scrubbed of the clear values before it is journaled.
func (x *Executor) OpenWith(s sensitive.Sealer) { x.sealer = s }

// Sealed marks h as a handler that needs no clear values (one that only
// logs or records): it gets payloads as journaled, sealed values as
// envelopes, which it should show with sensitive.Redact.
func Sealed(h Handler) Handler { return sealedHandler{h} }

type sealedHandler struct{ Handler }

// AnyKind registered with Handle names the handler of every kind that has
// no handler of its own.
const AnyKind = "*"

// Handle registers h for kind (or AnyKind).
func (x *Executor) Handle(kind string, h Handler) {
	x.mu.Lock()
	x.handlers[kind] = h
	x.mu.Unlock()
}

// Execute performs e for run (unless it already succeeded) and journals
// the outcome. It returns the handler's last error, if any, after
// journaling EffectFailed; a journal error is returned as is and nothing is
// lost: the effect stays outstanding and is dispatched again.
func (x *Executor) Execute(ctx context.Context, run string, e journal.Effect) error {
	return x.ExecuteAll(ctx, run, []journal.Effect{e})
}

// ExecuteAll is Run with the handlers' errors joined.
func (x *Executor) ExecuteAll(ctx context.Context, run string, effects []journal.Effect) error {
	failed, err := x.Run(ctx, run, effects)
	if err != nil {
		return err
	}
	errs := make([]error, 0, len(failed))
	for _, e := range effects {
		if ferr := failed[e.ID]; ferr != nil {
			errs = append(errs, ferr)
		}
	}
	return errors.Join(errs...)
}

// Run performs those of effects that have not succeeded yet (an effect
// whose earlier attempt failed is tried again: a redelivery may succeed)
// and journals all their outcomes, EffectSucceeded or EffectFailed, in one
// commit. It returns the handler errors by effect id, or the journal's
// error (then nothing is recorded and the effects stay outstanding).
func (x *Executor) Run(ctx context.Context, run string, effects []journal.Effect) (map[string]error, error) {
	if len(effects) == 0 {
		return nil, nil
	}
	_, events, err := x.store.Load(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("effects of %s: %w", run, err)
	}
	failed := map[string]error{}
	var outcomes []journal.Event
	seen := make(map[string]bool, len(effects))
	for _, e := range effects {
		if succeeded(events, e.ID) || seen[e.ID] {
			continue // a redelivery of an effect already performed (or twice in one batch)
		}
		seen[e.ID] = true
		ev := journal.Event{Kind: journal.EffectSucceeded, EffectID: e.ID, At: x.now()}
		if err := x.do(ctx, run, e); err != nil {
			ev.Kind, ev.Error = journal.EffectFailed, &journal.Error{Message: err.Error(), Kind: e.Kind}
			failed[e.ID] = err
		}
		outcomes = append(outcomes, ev)
	}
	if err := x.record(ctx, run, outcomes, events); err != nil {
		return nil, err
	}
	return failed, nil
}

// do runs e's handler, up to Attempts times, its payload's sealed values
// opened unless the handler is Sealed.
func (x *Executor) do(ctx context.Context, run string, e journal.Effect) error {
	x.mu.RLock()
	h, ok := x.handlers[e.Kind]
	if !ok {
		h, ok = x.handlers[AnyKind]
	}
	x.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w %q (effect %s)", ErrNoHandler, e.Kind, e.ID)
	}
	var clears []string
	if _, sealed := h.(sealedHandler); x.sealer != nil && !sealed && sensitive.Contains(e.Payload) {
		p, c, err := sensitive.OpenAll(ctx, x.sealer, e.Payload, "payload")
		if err != nil {
			return fmt.Errorf("effect %s: %w", e.ID, err)
		}
		e.Payload, clears = p, c
	}
	err := x.try(ctx, h, run, e)
	if err != nil && len(clears) > 0 {
		err = errors.New(sensitive.Scrub(err.Error(), clears))
	}
	return err
}

// try runs h up to Attempts times.
func (x *Executor) try(ctx context.Context, h Handler, run string, e journal.Effect) error {
	var err error
	for i := 0; i < max(x.Attempts, 1); i++ {
		if err = h.Do(ctx, run, e); err == nil || ctx.Err() != nil {
			break
		}
	}
	return err
}

// record appends outcomes to run in one commit, reloading on conflicts;
// an outcome is dropped once the effect is journaled as succeeded (another
// executor got there first). events is the journal as last loaded.
func (x *Executor) record(ctx context.Context, run string, outcomes, events []journal.Event) error {
	for {
		var todo []journal.Event
		for _, ev := range outcomes {
			if !succeeded(events, ev.EffectID) {
				todo = append(todo, ev)
			}
		}
		if len(todo) == 0 {
			return nil
		}
		var seq int64
		if n := len(events); n > 0 {
			seq = events[n-1].Seq
		}
		_, err := x.store.Append(ctx, journal.Commit{Run: run, After: seq, Events: todo, At: todo[0].At})
		if !errors.Is(err, journal.ErrConflict) {
			if err != nil {
				return fmt.Errorf("effects of %s: %w", run, err)
			}
			return nil
		}
		if _, events, err = x.store.Load(ctx, run); err != nil {
			return fmt.Errorf("effects of %s: %w", run, err)
		}
	}
}

func succeeded(events []journal.Event, id string) bool {
	for _, e := range events {
		if e.Kind == journal.EffectSucceeded && e.EffectID == id {
			return true
		}
	}
	return false
}
