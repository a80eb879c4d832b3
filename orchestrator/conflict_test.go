package orchestrator_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// racingStore lets another engine append to the run just before this
// engine's next commit (once), and counts the loads of the run that follow.
type racingStore struct {
	journal.Store
	mu     sync.Mutex
	before func()
	fired  bool
	loads  int
}

func (s *racingStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	s.mu.Lock()
	f := s.before
	s.before = nil
	s.mu.Unlock()
	if f != nil {
		f()
		s.mu.Lock()
		s.fired = true
		s.mu.Unlock()
	}
	return s.Store.Append(ctx, c)
}

func (s *racingStore) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	s.mu.Lock()
	if s.fired {
		s.loads++
	}
	s.mu.Unlock()
	return s.Store.Load(ctx, run)
}

// Results of one run's asynchronous attempts reaching two containers at
// once: the commit of one conflicts with the other's. The losing drive
// catches up from the state it had journaled (one Since) instead of
// loading the run again, and both results are journaled once.
func TestDriveResultsConflictCatchesUp(t *testing.T) {
	ctx := testContext(t)
	def := workflow.New("fan", workflow.Key("input.id"),
		workflow.Map("m", "f", "input.items", workflow.MaxConcurrency(10), workflow.Timeout(time.Minute)),
	).MustBuild()
	store := memjournal.New()
	opts := []orchestrator.Option{orchestrator.WithStepInvoke(workflow.InvokeAsync)}
	b := newEngine(t, store, &eventInvoker{}, def, opts...)
	st, err := b.Start(ctx, orchestrator.StartRequest{Workflow: "fan", Input: json.RawMessage(`{"id":"f-1","items":[1,2,3]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	result := func(i int) orchestrator.StepResult {
		return orchestrator.StepResult{Step: "m", Attempt: 1, Index: i, Response: step.Response{Result: step.Result{Output: json.RawMessage(`"ok"`)}}}
	}
	race := &racingStore{Store: store}
	a := newEngine(t, race, &eventInvoker{}, def, opts...)
	race.before = func() {
		if _, err := b.DriveResults(ctx, st.Run, result(2)); err != nil {
			t.Error(err)
		}
	}
	if _, err := a.DriveResults(ctx, st.Run, result(1)); err != nil {
		t.Fatal(err)
	}
	if !race.fired {
		t.Fatal("the other engine's commit did not come first")
	}
	if race.loads != 0 {
		t.Errorf("the conflicting drive loaded the run %d times, want 0 (a catch-up from its own state)", race.loads)
	}
	if _, err := a.DriveResults(ctx, st.Run, result(3)); err != nil {
		t.Fatal(err)
	}
	head, events := load(t, store, st.Run)
	if head.Status != journal.StatusCompleted {
		t.Fatalf("run %s, want completed", head.Status)
	}
	for i := 1; i <= 3; i++ {
		n := 0
		for _, e := range events {
			if e.Kind == journal.StepSucceeded && e.Step == "m" && e.Index == i {
				n++
			}
		}
		if n != 1 {
			t.Errorf("item %d succeeded %d times in the journal, want 1", i, n)
		}
	}
}
