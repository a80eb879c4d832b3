package embedded_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestTimerFiresWhileLoneStepRuns: a step whose attempt is the only one
// running does not hold up a timer that falls due meanwhile. Step slow
// finishes only once mark, after a 20 ms wait beside it, has run.
func TestTimerFiresWhileLoneStepRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	marked := make(chan struct{})
	reg := step.NewRegistry()
	reg.Register("noop", step.Func(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }))
	reg.Register("mark", step.Func(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		close(marked)
		return in, nil
	}))
	reg.Register("slow", step.Func(func(ctx context.Context, _ json.RawMessage) (string, error) {
		select {
		case <-marked:
			return "after mark", nil
		case <-ctx.Done():
			return "", step.Terminal(errors.New("mark never ran while slow was running"))
		}
	}))
	for _, first := range []bool{false, true} {
		// Without a first step, slow and the wait are the run's first
		// decision (journaled by Start); with one, a later decision of the
		// Drive.
		opts := []workflow.Option{workflow.Step("slow", "slow", workflow.Timeout(5*time.Second)),
			workflow.Wait("pause", 20*time.Millisecond), workflow.Step("mark", "mark", workflow.After("pause"))}
		name := "timer-beside"
		if first {
			name = "timer-beside-after-first"
			opts = []workflow.Option{workflow.Step("first", "noop"),
				workflow.Step("slow", "slow", workflow.Timeout(5*time.Second), workflow.After("first")),
				workflow.Wait("pause", 20*time.Millisecond, workflow.After("first")),
				workflow.Step("mark", "mark", workflow.After("pause"))}
		}
		marked = make(chan struct{})
		def, err := workflow.New(name, opts...).Build(workflow.Functions(reg.Has))
		if err != nil {
			t.Fatal(err)
		}
		rt := embedded.New(memjournal.New(), reg, embedded.WithLogger(quietLog))
		if err := rt.Engine.Register(ctx, def); err != nil {
			t.Fatal(err)
		}
		st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: name, Key: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if status, err := rt.Wait(ctx, st.Run); err != nil || status != journal.StatusCompleted {
			t.Errorf("%s: %s, %v; want completed", name, status, err)
		}
		rt.Close()
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestLateResultOfLoneStepTimesOut: a result that comes back after its
// attempt's lease expired is not journaled; the attempt times out, as it
// would have while the Drive waited for it.
func TestLateResultOfLoneStepTimesOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	reg := step.NewRegistry()
	reg.Register("late", step.Func(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) {
		clock.Add(time.Minute + orchestrator.LeaseMargin + time.Second) // past its lease
		return in, nil
	}))
	def, err := workflow.New("late",
		workflow.Step("late", "late", workflow.Timeout(time.Minute), workflow.Retry(workflow.RetryPolicy{MaxAttempts: 1})),
	).Build(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatal(err)
	}
	store := memjournal.New()
	rt := embedded.New(store, reg, embedded.WithLogger(quietLog),
		embedded.WithEngineOptions(orchestrator.WithClock(clock.Now)))
	defer rt.Close()
	if err := rt.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "late", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := rt.Wait(ctx, st.Run); err != nil || status != journal.StatusReview {
		t.Fatalf("run: %s, %v; want review", status, err)
	}
	_, events, err := store.Load(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	timedOut := false
	for _, e := range events {
		switch {
		case e.Kind == journal.StepSucceeded:
			t.Errorf("a result after the lease was journaled: %+v", e)
		case e.Kind == journal.StepFailed && e.Error != nil && e.Error.Kind == step.KindTimeout:
			timedOut = true
		}
	}
	if !timedOut {
		t.Errorf("no timeout journaled for the late attempt")
	}
}
