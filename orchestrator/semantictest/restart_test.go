package semantictest_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestRestart stops the runtime while a run waits (for an event, a
// callback, a timer, or its turn on a deferred key), builds a new runtime
// on the same SQLite file, resumes, delivers what the run waits for, and
// checks that the run completes.
func TestRestart(t *testing.T) {
	t.Parallel()
	tokens := make(chan string, 8)
	defineTimer := func(h *semantictest.Harness) {
		h.Define(workflow.New("timer", workflow.Wait("nap", 300*time.Millisecond)), `
name: timer
steps: [{name: nap, type: wait, duration: 300ms}]
`)
	}
	for _, tc := range []struct {
		name   string
		define func(h *semantictest.Harness)
		// before starts runs and returns once they wait; after finishes them.
		before func(h *semantictest.Harness) []string
		after  func(h *semantictest.Harness, runs []string)
	}{
		{"EventStep",
			func(h *semantictest.Harness) { h.DefineApproval() },
			func(h *semantictest.Harness) []string {
				run := h.Start("approval", `{}`)
				h.Scheduled(run, "approve", 1)
				return []string{run}
			},
			func(h *semantictest.Harness, runs []string) {
				h.Signal(runs[0], "approved", `"after restart"`)
				h.Wait(runs[0], journal.StatusCompleted)
				if got := h.Output(runs[0]); got != `"after restart"` {
					h.T.Errorf("output %s", got)
				}
			}},
		{"AsyncStep",
			func(h *semantictest.Harness) { h.DefineAsync(time.Minute, tokens) },
			func(h *semantictest.Harness) []string {
				run := h.Start("async", `{}`)
				<-tokens // the first runtime handed the token out
				// and journaled the start's acknowledgement: from then on the
				// run waits for the callback, not for the start's lease.
				h.Await(run, "async step started", func(e journal.Event) bool { return e.Kind == journal.StepStarted })
				return []string{run}
			},
			func(h *semantictest.Harness, runs []string) {
				token := h.Token(runs[0], "ask", 1)
				err := h.RT.Complete(h.Ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`"done"`)}})
				if err != nil {
					h.T.Fatal(err)
				}
				h.Wait(runs[0], journal.StatusCompleted)
			}},
		{"Timer",
			defineTimer,
			func(h *semantictest.Harness) []string {
				run := h.Start("timer", `{}`)
				h.Await(run, "timer started", func(e journal.Event) bool { return e.Kind == journal.TimerStarted })
				return []string{run}
			},
			func(h *semantictest.Harness, runs []string) {
				h.Wait(runs[0], journal.StatusCompleted)
				var due time.Time
				for _, e := range h.Events(runs[0]) {
					if e.Kind == journal.TimerStarted {
						due = e.Due
					}
				}
				if now := time.Now(); now.Before(due) {
					h.T.Errorf("completed at %s, before the timer was due at %s", now, due)
				}
			}},
		{"DeferredQueue",
			func(h *semantictest.Harness) { h.DefineDeferred() },
			func(h *semantictest.Harness) []string {
				r1 := h.Start("deferred", `{"id": "a", "account": "A"}`)
				r2 := h.Start("deferred", `{"id": "b", "account": "A"}`)
				h.Scheduled(r1, "hold", 1)
				if s := h.Head(r2).Status; s != journal.StatusDeferred {
					h.T.Fatalf("r2 is %s, want deferred", s)
				}
				return []string{r1, r2}
			},
			func(h *semantictest.Harness, runs []string) {
				h.Signal(runs[0], "go", `{"fail": false}`)
				h.Wait(runs[0], journal.StatusCompleted)
				h.Scheduled(runs[1], "hold", 1)
				h.Signal(runs[1], "go", `{"fail": false}`)
				h.Wait(runs[1], journal.StatusCompleted)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "journal.db")
			open := func() *sqlitejournal.Store {
				s, err := sqlitejournal.New(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			s1 := open()
			h1 := semantictest.NewHarness(t, s1)
			tc.define(h1)
			runs := tc.before(h1)
			if err := h1.RT.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s1.Close(); err != nil {
				t.Fatal(err)
			}

			s2 := open()
			t.Cleanup(func() { s2.Close() })
			h2 := semantictest.NewHarness(t, s2)
			tc.define(h2)
			if n, err := h2.RT.Resume(h2.Ctx); err != nil || n < 1 {
				t.Fatalf("resume: %d runs, %v", n, err)
			}
			tc.after(h2, runs)
		})
	}
}
