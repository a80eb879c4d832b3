package embedded_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestReviewWhileAttemptRuns sends a run to review while a parallel step's
// attempt still runs. That attempt's result must be journaled (not lost
// with the Drive, its lease left live), so that after a resubmit the run
// completes at once instead of waiting out the lease (15 minutes here).
func TestReviewWhileAttemptRuns(t *testing.T) {
	release := make(chan struct{})
	reg := step.NewRegistry()
	reg.Register("slow", step.Func(func(ctx context.Context, _ json.RawMessage) (string, error) {
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}))
	reg.Register("pay", step.Func(func(ctx context.Context, _ json.RawMessage) (string, error) {
		if req, _ := step.RequestFrom(ctx); req.Attempt < 2 {
			return "", step.Terminal(errors.New("declined"))
		}
		return "paid", nil
	}))
	def, err := workflow.New("inflight",
		workflow.Step("slow", "slow"),
		workflow.Step("pay", "pay"),
	).Build(workflow.Functions(reg.Has))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rt := embedded.New(memjournal.New(), reg)
	defer rt.Close()
	if err := rt.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "inflight", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	waitHead(ctx, t, rt, st.Run, journal.StatusReview)
	close(release) // the slow attempt finishes while the run is in review
	if err := rt.Resubmit(ctx, orchestrator.Resubmission{Run: st.Run, By: "test"}); err != nil {
		t.Fatal(err)
	}
	waitHead(ctx, t, rt, st.Run, journal.StatusCompleted)
}

// waitHead polls run's head until it has status want or ctx ends.
func waitHead(ctx context.Context, t *testing.T, rt *embedded.Runtime, run string, want journal.Status) {
	t.Helper()
	for {
		head, events, err := rt.Engine.Store().Load(ctx, run)
		if err == nil && head.Status == want {
			return
		}
		select {
		case <-ctx.Done():
			for _, e := range events {
				t.Logf("%d %s %s#%d[%d]", e.Seq, e.Kind, e.Step, e.Attempt, e.Index)
			}
			t.Fatalf("run %s: status %s (%v), want %s", run, head.Status, err, want)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
