package internal_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/functions/internal/lambdatest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestLeaseFromFunctionTimeout: on the Lambdas' wiring, a step without a
// timeout is leased (and its invocation bounded) by its Lambda function's
// configured timeout, read with GetFunctionConfiguration and cached, plus
// LeaseMargin; a step whose function's configuration cannot be read gets
// the deployment's default (ORDO_STEP_FUNCTION_TIMEOUT); a step with a
// timeout keeps it. A hung attempt of a 2-second function fails by
// timeout after 2 s, not 15 minutes.
func TestLeaseFromFunctionTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	def := workflow.New("leases", workflow.Key("input.id"),
		workflow.Step("a", "hangs-once"),
		workflow.Step("b", "unknown", workflow.After("a")),
		workflow.Step("c", "pinned", workflow.After("b"), workflow.Timeout(20*time.Second)),
	).MustBuild()
	var hung atomic.Bool
	reg := step.NewRegistry()
	reg.Register("hangs-once", step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		if !hung.Swap(true) {
			<-ctx.Done() // a function hung until Lambda ends it
			return step.Result{}, ctx.Err()
		}
		return step.Result{Output: json.RawMessage(`1`)}, nil
	}))
	ok := step.HandlerFunc(func(context.Context, step.Request) (step.Result, error) {
		return step.Result{Output: json.RawMessage(`1`)}, nil
	})
	reg.Register("unknown", ok)
	reg.Register("pinned", ok)
	store := memjournal.New()
	setup := func(ctx context.Context, e *orchestrator.Engine) error { return e.Register(ctx, def) }
	s, err := lambdatest.Start(lambdatest.Config{Store: store, Registry: reg, Drivers: 1, Setup: setup,
		StepTimeout: 7 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Functions.SetTimeout("hangs-once", 2*time.Second)
	s.Functions.SetTimeout("pinned", 2*time.Second)
	if err := setup(ctx, s.Engine); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var runs []string
	for _, id := range []string{"1", "2", "3"} {
		st, err := s.Starter.Start(ctx, orchestrator.StartRequest{Workflow: "leases", Input: json.RawMessage(`{"id":"` + id + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, st.Run)
	}
	for _, run := range runs {
		for {
			head, _, err := store.Load(ctx, run)
			if err == nil && head.Status == journal.StatusCompleted {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("run %s: %s after %s, want completed", run, head.Status, time.Since(began))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	lease := map[string]time.Duration{}
	var timedOut *journal.Error
	for _, run := range runs {
		_, events, _ := store.Load(ctx, run)
		for _, e := range events {
			switch {
			case e.Kind == journal.StepScheduled:
				lease[e.Step] = e.Due.Sub(e.At)
			case e.Kind == journal.StepFailed && e.Step == "a":
				timedOut = e.Error
			}
		}
	}
	want := map[string]time.Duration{
		"a": 2*time.Second + orchestrator.LeaseMargin,  // its function's timeout
		"b": 7*time.Second + orchestrator.LeaseMargin,  // unreadable: the deployment's default
		"c": 20*time.Second + orchestrator.LeaseMargin, // its own timeout wins
	}
	for st, w := range want {
		if lease[st] != w {
			t.Errorf("step %s leased for %s, want %s", st, lease[st], w)
		}
	}
	if timedOut == nil || timedOut.Kind != step.KindTimeout || !strings.Contains(timedOut.Message, "timed out after 2") {
		t.Errorf("the hung attempt failed with %+v, want kind timeout after 2 s", timedOut)
	}
	// One lookup per function and container (cached), not one per attempt.
	coldStarts, _ := s.Counts()
	if n := s.Functions.ConfigLookups(); n > 3*coldStarts {
		t.Errorf("%d GetFunctionConfiguration calls for 3 functions in %d containers, want at most %d", n, coldStarts, 3*coldStarts)
	}
	t.Logf("3 runs completed in %s (a hung attempt of a 2 s function timed out and was retried)", time.Since(began).Round(time.Millisecond))
}
