// Package effect executes the side effects steps ask for, at least once, and
// journals each outcome (EffectSucceeded / EffectFailed) on the run.
//
// Handlers are registered by effect kind ("log", "sqs", "kinesis", "http",
// ...). An effect carries a stable ID, so a handler that reaches an external
// system passes it on as an idempotency key, and the executor journals one
// outcome per effect however often it is redelivered.
package effect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
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
	// Attempts bounds how often a failing effect is tried in one Execute
	// (default 3) before EffectFailed is journaled.
	Attempts int
}

// NewExecutor returns an executor that journals outcomes in store.
func NewExecutor(store journal.Store) *Executor {
	return &Executor{store: store, handlers: map[string]Handler{}, now: time.Now, Attempts: 3}
}

// Handle registers h for kind.
func (x *Executor) Handle(kind string, h Handler) {
	x.mu.Lock()
	x.handlers[kind] = h
	x.mu.Unlock()
}

// Execute performs e for run (unless its outcome is already journaled) and
// journals the outcome. It returns the handler's last error, if any, after
// journaling EffectFailed; a journal error is returned as is and nothing is
// lost: the effect stays outstanding and is dispatched again.
func (x *Executor) Execute(ctx context.Context, run string, e journal.Effect) error {
	if _, events, err := x.store.Load(ctx, run); err != nil {
		return fmt.Errorf("effect %s: %w", e.ID, err)
	} else if hasOutcome(events, e.ID) {
		return nil // a redelivery of an effect already performed
	}
	x.mu.RLock()
	h, ok := x.handlers[e.Kind]
	x.mu.RUnlock()
	var err error
	if !ok {
		err = fmt.Errorf("%w %q (effect %s)", ErrNoHandler, e.Kind, e.ID)
	} else {
		for i := 0; i < max(x.Attempts, 1); i++ {
			if err = h.Do(ctx, run, e); err == nil || ctx.Err() != nil {
				break
			}
		}
	}
	ev := journal.Event{Kind: journal.EffectSucceeded, EffectID: e.ID, At: x.now()}
	if err != nil {
		ev.Kind, ev.Error = journal.EffectFailed, &journal.Error{Message: err.Error(), Kind: e.Kind}
	}
	if jerr := x.record(ctx, run, ev); jerr != nil {
		return jerr
	}
	return err
}

// record appends ev to run, reloading on conflicts; it does nothing if an
// outcome for the effect is already journaled.
func (x *Executor) record(ctx context.Context, run string, ev journal.Event) error {
	for {
		head, events, err := x.store.Load(ctx, run)
		if err != nil {
			return fmt.Errorf("effect %s: %w", ev.EffectID, err)
		}
		if hasOutcome(events, ev.EffectID) {
			return nil
		}
		seq := head.Seq
		if n := len(events); n > 0 {
			seq = max(seq, events[n-1].Seq)
		}
		_, err = x.store.Append(ctx, journal.Commit{Run: run, After: seq, Events: []journal.Event{ev}, At: ev.At})
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("effect %s: %w", ev.EffectID, err)
		}
		return nil
	}
}

func hasOutcome(events []journal.Event, id string) bool {
	for _, e := range events {
		if (e.Kind == journal.EffectSucceeded || e.Kind == journal.EffectFailed) && e.EffectID == id {
			return true
		}
	}
	return false
}
