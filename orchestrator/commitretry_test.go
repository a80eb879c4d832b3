package orchestrator_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// failOnceStore fails, once, the first append that journals a step result,
// writing nothing (a group commit rolled back, a throttled write).
type failOnceStore struct {
	journal.Store
	mu     sync.Mutex
	failed bool
}

func (s *failOnceStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	s.mu.Lock()
	fail := !s.failed && len(c.Events) > 0 && c.Events[0].Kind == journal.StepSucceeded
	if fail {
		s.failed = true
	}
	s.mu.Unlock()
	if fail {
		return 0, errors.New("injected: the journal failed the write (nothing written)")
	}
	return s.Store.Append(ctx, c)
}

// TestDriveRetriesFailedCommit fails the commit that journals a step's
// result, writing nothing: the Drive tries it again and goes on, so the
// run completes in that Drive with each step invoked once. Before, the
// Drive returned the error and dropped the result; the next Drive found
// the attempt in flight under its lease (the step's timeout, 15 minutes by
// default, plus a margin) and the run waited for it to expire, then
// invoked the step again.
func TestDriveRetriesFailedCommit(t *testing.T) {
	ctx := testContext(t)
	store := &failOnceStore{Store: memjournal.New()}
	var mu sync.Mutex
	calls := map[string]int{}
	count := func(ctx context.Context, req step.Request) (step.Result, error) {
		mu.Lock()
		calls[req.Step]++
		mu.Unlock()
		return echo(ctx, req)
	}
	e := newEngine(t, store, handlers(map[string]step.HandlerFunc{"fa": count, "fb": count, "fc": count, "fd": count}), diamond)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: []byte(`{"id":"r1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Drive(ctx, st.Run)
	if err != nil {
		t.Fatalf("Drive: %v, want the failed commit tried again", err)
	}
	if !store.failed {
		t.Fatal("no commit failed: the test injected nothing")
	}
	if out.Status != journal.StatusCompleted {
		t.Fatalf("status %s after one Drive, want completed", out.Status)
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		if calls[s] != 1 {
			t.Errorf("step %s invoked %d times, want 1", s, calls[s])
		}
	}
}
