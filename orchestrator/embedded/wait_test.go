package embedded_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// loadCounter counts the runs a store loads.
type loadCounter struct {
	journal.Store
	loads atomic.Int64
}

func (s *loadCounter) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	s.loads.Add(1)
	return s.Store.Load(ctx, run)
}

func chainRuntime(t *testing.T, store journal.Store) *embedded.Runtime {
	t.Helper()
	return gatedChainRuntime(t, store, nil)
}

// gatedChainRuntime is chainRuntime whose first step waits for a value on
// gate before it returns (when gate is not nil).
func gatedChainRuntime(t *testing.T, store journal.Store, gate <-chan struct{}) *embedded.Runtime {
	t.Helper()
	reg := step.NewRegistry()
	reg.Register("echo", step.Func(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }))
	reg.Register("gate", step.Func(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if gate == nil {
			return in, nil
		}
		select {
		case <-gate:
			return in, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}))
	def, err := workflow.New("chain",
		workflow.Step("a", "gate"),
		workflow.Step("b", "echo", workflow.After("a")),
	).Build(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatal(err)
	}
	rt := embedded.New(store, reg, embedded.WithLogger(slog.New(slog.DiscardHandler)))
	t.Cleanup(func() { rt.Close() })
	if err := rt.Engine.Register(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	return rt
}

// TestWaitOnDrivenRunReadsNothing: a Wait on a run its driver is running
// waits for the driver; reading the run back from the journal would cost a
// load per run for nothing. The run's first step is held until the Wait is
// registered, so the driver is running the run when Wait looks, however
// loaded the machine.
func TestWaitOnDrivenRunReadsNothing(t *testing.T) {
	store := &loadCounter{Store: memjournal.New()}
	gate := make(chan struct{})
	rt := gatedChainRuntime(t, store, gate)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		status journal.Status
		err    error
	}
	for i := range 20 {
		st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "chain", Input: json.RawMessage(`{"i":1}`), Key: string(rune('a' + i))})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan result, 1)
		go func() {
			status, err := rt.Wait(ctx, st.Run)
			done <- result{status, err}
		}()
		for embedded.Waiters(rt, st.Run) == 0 {
			select {
			case <-ctx.Done():
				t.Fatalf("run %s: Wait not registered: %v", st.Run, ctx.Err())
			case <-time.After(time.Millisecond):
			}
		}
		gate <- struct{}{}
		got := <-done
		if got.err != nil || got.status != journal.StatusCompleted {
			t.Fatalf("run %s: %s, %v", st.Run, got.status, got.err)
		}
	}
	if n := store.loads.Load(); n != 0 {
		t.Errorf("%d loads for 20 runs started and awaited, want 0", n)
	}
	// Once the run is settled and no longer driven, Wait reads its head.
	status, err := rt.Wait(ctx, "chain/a")
	if err != nil || status != journal.StatusCompleted {
		t.Fatalf("wait on a settled run: %s, %v", status, err)
	}
	if n := store.loads.Load(); n != 1 {
		t.Errorf("%d loads after a Wait on a settled run, want 1", n)
	}
}

// TestWaitOnUnknownRun: a Wait on a run that does not exist fails with
// journal.ErrNotFound, whether or not something pokes it meanwhile.
func TestWaitOnUnknownRun(t *testing.T) {
	rt := chainRuntime(t, memjournal.New())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 20 {
		rt.Poke("chain/none")
		if _, err := rt.Wait(ctx, "chain/none"); !errors.Is(err, journal.ErrNotFound) {
			t.Fatalf("wait on a run that does not exist: %v, want journal.ErrNotFound", err)
		}
	}
	if _, err := rt.Wait(ctx, "chain/other"); !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("wait on a run that does not exist: %v, want journal.ErrNotFound", err)
	}
}
