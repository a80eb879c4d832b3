package effect_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

const run = "w/k1"

var def = workflow.New("w", workflow.Step("a", "fa")).MustBuild()

var email = journal.Effect{ID: run + "/a/1/0", Kind: "email", Target: "ada@example.com", Payload: json.RawMessage(`{"n":1}`)}

// newRun returns a store holding a run whose step a succeeded asking for
// email.
func newRun(t *testing.T) *memjournal.Store {
	t.Helper()
	store := memjournal.New()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	_, err := store.Append(context.Background(), journal.Commit{Run: run, After: 0, Workflow: "w", DefHash: def.Hash(), At: now,
		Events: []journal.Event{
			{Kind: journal.RunStarted, At: now, Workflow: "w", DefHash: def.Hash(), Key: "k1", Input: json.RawMessage(`{}`)},
			{Kind: journal.StepScheduled, At: now, Step: "a", Attempt: 1},
			{Kind: journal.StepSucceeded, At: now, Step: "a", Attempt: 1, Output: json.RawMessage(`null`),
				Effects: []journal.Effect{email}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// outcomes returns the Effect* events journaled for id.
func outcomes(t *testing.T, store journal.Store, id string) []journal.Event {
	t.Helper()
	_, events, err := store.Load(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	var out []journal.Event
	for _, e := range events {
		if (e.Kind == journal.EffectSucceeded || e.Kind == journal.EffectFailed) && e.EffectID == id {
			out = append(out, e)
		}
	}
	return out
}

// outstanding folds the run and returns the effects without an outcome.
func outstanding(t *testing.T, store journal.Store) []journal.Effect {
	t.Helper()
	_, events, err := store.Load(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := orchestrator.View(def, events)
	if err != nil {
		t.Fatal(err)
	}
	return snap.Outstanding
}

func TestExecuteJournalsSuccessOnce(t *testing.T) {
	t.Parallel()
	store := newRun(t)
	if got := outstanding(t, store); len(got) != 1 {
		t.Fatalf("outstanding before = %v, want the email", got)
	}
	x := effect.NewExecutor(store)
	var calls atomic.Int32
	var got journal.Effect
	x.Handle("email", effect.HandlerFunc(func(_ context.Context, r string, e journal.Effect) error {
		calls.Add(1)
		if r != run {
			t.Errorf("handler run = %q, want %q", r, run)
		}
		got = e
		return nil
	}))
	ctx := context.Background()
	for i := range 2 {
		if err := x.Execute(ctx, run, email); err != nil {
			t.Fatalf("Execute #%d: %v", i+1, err)
		}
	}
	if diff := cmp.Diff(got, email); diff != "" {
		t.Errorf("handler got (-got +want):\n%s", diff)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1 (the second Execute finds the outcome journaled)", n)
	}
	if evs := outcomes(t, store, email.ID); len(evs) != 1 || evs[0].Kind != journal.EffectSucceeded {
		t.Errorf("outcomes = %+v, want one EffectSucceeded", evs)
	}
	if got := outstanding(t, store); len(got) != 0 {
		t.Errorf("outstanding after = %v, want none", got)
	}
}

func TestExecuteConcurrentRedeliveries(t *testing.T) {
	t.Parallel()
	store := newRun(t)
	x := effect.NewExecutor(store)
	x.Handle("email", effect.HandlerFunc(func(context.Context, string, journal.Effect) error { return nil }))
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := x.Execute(context.Background(), run, email); err != nil {
				t.Errorf("Execute: %v", err)
			}
		})
	}
	wg.Wait()
	if evs := outcomes(t, store, email.ID); len(evs) != 1 || evs[0].Kind != journal.EffectSucceeded {
		t.Errorf("outcomes = %+v, want exactly one EffectSucceeded", evs)
	}
}

var errSMTP = errors.New("smtp: 421 try later")

func TestExecuteFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		attempts  int
		failFirst int // the handler fails this many calls, then succeeds
		wantCalls int32
		wantKind  journal.Kind
	}{
		{"fails every attempt", 3, 100, 3, journal.EffectFailed},
		{"one attempt", 1, 100, 1, journal.EffectFailed},
		{"zero attempts means one", 0, 100, 1, journal.EffectFailed},
		{"succeeds on the last attempt", 3, 2, 3, journal.EffectSucceeded},
		{"succeeds on a retry", 5, 1, 2, journal.EffectSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			store := newRun(t)
			x := effect.NewExecutor(store)
			x.Attempts = tc.attempts
			var calls atomic.Int32
			x.Handle("email", effect.HandlerFunc(func(context.Context, string, journal.Effect) error {
				if calls.Add(1) <= int32(tc.failFirst) {
					return errSMTP
				}
				return nil
			}))
			err := x.Execute(context.Background(), run, email)
			if tc.wantKind == journal.EffectFailed && !errors.Is(err, errSMTP) {
				t.Errorf("Execute: err = %v, want %v", err, errSMTP)
			}
			if tc.wantKind == journal.EffectSucceeded && err != nil {
				t.Errorf("Execute: %v", err)
			}
			if n := calls.Load(); n != tc.wantCalls {
				t.Errorf("handler called %d times, want %d", n, tc.wantCalls)
			}
			evs := outcomes(t, store, email.ID)
			if len(evs) != 1 || evs[0].Kind != tc.wantKind {
				t.Fatalf("outcomes = %+v, want one %s", evs, tc.wantKind)
			}
			if tc.wantKind == journal.EffectFailed {
				want := &journal.Error{Message: errSMTP.Error(), Kind: "email"}
				if diff := cmp.Diff(evs[0].Error, want); diff != "" {
					t.Errorf("EffectFailed error (-got +want):\n%s", diff)
				}
			}
			if got := outstanding(t, store); len(got) != 0 {
				t.Errorf("outstanding = %v, want none", got)
			}
		})
	}
}

func TestExecuteUnknownKind(t *testing.T) {
	t.Parallel()
	store := newRun(t)
	x := effect.NewExecutor(store)
	x.Handle("log", effect.HandlerFunc(func(context.Context, string, journal.Effect) error {
		t.Error("log handler called for an email effect")
		return nil
	}))
	err := x.Execute(context.Background(), run, email)
	if !errors.Is(err, effect.ErrNoHandler) {
		t.Fatalf("Execute: err = %v, want ErrNoHandler", err)
	}
	evs := outcomes(t, store, email.ID)
	if len(evs) != 1 || evs[0].Kind != journal.EffectFailed || evs[0].Error == nil || evs[0].Error.Kind != "email" {
		t.Fatalf("outcomes = %+v, want one EffectFailed of kind email", evs)
	}
}

func TestExecuteUnknownRun(t *testing.T) {
	t.Parallel()
	x := effect.NewExecutor(memjournal.New())
	x.Handle("email", effect.HandlerFunc(func(context.Context, string, journal.Effect) error { return nil }))
	err := x.Execute(context.Background(), "w/nope", email)
	if !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("Execute: err = %v, want journal.ErrNotFound", err)
	}
}

// TestFailedEffectSucceedsOnRedelivery: a failure is journaled, the effect
// is tried again on its next delivery, and its success is journaled too.
func TestFailedEffectSucceedsOnRedelivery(t *testing.T) {
	store := memjournal.New()
	ctx := context.Background()
	const run = "w/late"
	if _, err := store.Append(ctx, journal.Commit{Run: run, Workflow: "w", DefHash: "h",
		Events: []journal.Event{{Kind: journal.RunStarted}}}); err != nil {
		t.Fatal(err)
	}
	x := effect.NewExecutor(store)
	x.Attempts = 1
	calls := 0
	x.Handle("flaky", effect.HandlerFunc(func(context.Context, string, journal.Effect) error {
		calls++
		if calls == 1 {
			return errors.New("down")
		}
		return nil
	}))
	e := journal.Effect{ID: run + "/a/1/0", Kind: "flaky"}
	if err := x.Execute(ctx, run, e); err == nil {
		t.Fatal("first delivery: want the handler's error")
	}
	for range 2 { // a redelivery, then a duplicate of it
		if err := x.Execute(ctx, run, e); err != nil {
			t.Fatal(err)
		}
	}
	_, events, _ := store.Load(ctx, run)
	var kinds []journal.Kind
	for _, ev := range events[1:] {
		kinds = append(kinds, ev.Kind)
	}
	if calls != 2 || len(kinds) != 2 || kinds[0] != journal.EffectFailed || kinds[1] != journal.EffectSucceeded {
		t.Fatalf("calls %d, outcomes %v; want 2 calls, [EffectFailed EffectSucceeded]", calls, kinds)
	}
}

// TestRunOnceWhenABatchRepeatsAnEffect: a standard queue may hand the same
// message twice in one batch; the effect runs and is journaled once.
func TestRunOnceWhenABatchRepeatsAnEffect(t *testing.T) {
	t.Parallel()
	store := newRun(t)
	x := effect.NewExecutor(store)
	var calls atomic.Int32
	x.Handle("email", effect.HandlerFunc(func(context.Context, string, journal.Effect) error {
		calls.Add(1)
		return nil
	}))
	failed, err := x.Run(context.Background(), run, []journal.Effect{email, email})
	if err != nil || len(failed) != 0 {
		t.Fatalf("Run = %v, %v", failed, err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
	if got := outcomes(t, store, email.ID); len(got) != 1 {
		t.Errorf("%d outcomes journaled, want 1: %+v", len(got), got)
	}
}
