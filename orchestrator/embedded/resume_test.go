package embedded_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
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

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// failReclaimOnce fails, once, the first append that reclaims an attempt
// (a StepFailed of kind lease), writing nothing.
type failReclaimOnce struct {
	journal.Store
	mu     sync.Mutex
	failed bool
}

func (s *failReclaimOnce) Append(ctx context.Context, c journal.Commit) (int64, error) {
	s.mu.Lock()
	fail := !s.failed && len(c.Events) > 0 && c.Events[0].Kind == journal.StepFailed &&
		c.Events[0].Error != nil && c.Events[0].Error.Kind == step.KindLease
	if fail {
		s.failed = true
	}
	s.mu.Unlock()
	if fail {
		return 0, errors.New("injected: the journal failed the write (nothing written)")
	}
	return s.Store.Append(ctx, c)
}

// TestResumeRetriesFailedReclaim stops a runtime while a step's attempt is
// in flight, and fails the new runtime's first reclaim of it (nothing
// written). Resume tries the reclaim again, so the run completes at once
// instead of waiting for the attempt's lease (15 minutes here) to expire.
func TestResumeRetriesFailedReclaim(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stopped atomic.Bool // the first runtime's attempt never finishes
	started := make(chan struct{}, 1)
	reg := step.NewRegistry()
	reg.Register("work", step.Func(func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
		if !stopped.Load() {
			started <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return in, nil
	}))
	def := workflow.New("resume", workflow.Step("a", "work")).MustBuild(workflow.Functions(reg.Has))
	mem := memjournal.New()
	first := embedded.New(mem, reg, embedded.WithLogger(quietLog))
	if err := first.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	st, err := first.Start(ctx, orchestrator.StartRequest{Workflow: "resume", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	stopped.Store(true)
	_ = first.Close()
	if _, events, _ := mem.Load(ctx, st.Run); countKind(events, journal.StepScheduled, "a") != 1 ||
		countKind(events, journal.StepFailed, "") != 0 || countKind(events, journal.StepSucceeded, "") != 0 {
		t.Fatalf("setup: want attempt a#1 in flight, journal %+v", events)
	}

	store := &failReclaimOnce{Store: mem}
	second := embedded.New(store, reg, embedded.WithLogger(quietLog))
	defer second.Close()
	if err := second.Engine.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	if _, err := second.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if !store.failed {
		t.Fatal("no reclaim failed: the test injected nothing")
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	waitHead(wctx, t, second, st.Run, journal.StatusCompleted)
}
