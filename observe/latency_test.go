package observe_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// latencies records StepFinished calls.
type latencies struct {
	mu   sync.Mutex
	took map[string]time.Duration
}

func (l *latencies) RunStarted(string)               {}
func (l *latencies) RunEnded(string, journal.Status) {}
func (l *latencies) Retry(string, string)            {}
func (l *latencies) Effect(string, string)           {}
func (l *latencies) StepFinished(wf, s string, ok bool, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.took[wf+"/"+s] = took
}

// tokens is an invoker that hands the async step's token over.
type tokens chan string

func (t tokens) Invoke(_ context.Context, req step.Request) (step.Response, error) {
	t <- req.Token
	return step.Response{}, nil
}

// TestStepLatencyAcrossEngines: one engine (a Lambda container) schedules
// an async attempt; another, observed, journals its result when the
// callback comes. The observer never saw the schedule, so it reads it
// from the journal: the latency is the journaled result time minus the
// journaled schedule time.
func TestStepLatencyAcrossEngines(t *testing.T) {
	for _, tc := range []struct {
		name    string
		journal bool
		want    time.Duration
	}{
		{"without the journal the attempt is not timed", false, 0},
		{"with the journal it is", true, 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			def := workflow.New("approval", workflow.Key("input.id"),
				workflow.Step("ask", "ask", workflow.Async(), workflow.Timeout(time.Hour)),
				workflow.Step("then", "then", workflow.After("ask")),
			).MustBuild()
			key, _ := callback.NewKey()
			keys, _ := callback.NewKeyring(key)
			store := memjournal.New()
			t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
			got := tokens(make(chan string, 1))
			scheduler := orchestrator.New(store, got, orchestrator.WithCallbackKeys(keys), orchestrator.WithClock(func() time.Time { return t0 }))
			if err := scheduler.Register(ctx, def); err != nil {
				t.Fatal(err)
			}
			st, err := scheduler.Start(ctx, orchestrator.StartRequest{Workflow: "approval", Input: json.RawMessage(`{"id":"a1"}`)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := scheduler.Drive(ctx, st.Run); err != nil {
				t.Fatal(err)
			}
			token := <-got

			rec := &latencies{took: map[string]time.Duration{}}
			var opts []observe.TallyOption
			if tc.journal {
				opts = append(opts, observe.WithJournal(store))
			}
			other := orchestrator.New(observe.Wrap(store, observe.NewTally(rec, opts...)), tokens(make(chan string, 1)),
				orchestrator.WithCallbackKeys(keys), orchestrator.WithClock(func() time.Time { return t0.Add(90 * time.Second) }))
			if err := other.Register(ctx, def); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`true`)}}); err != nil {
				t.Fatal(err)
			}
			took, timed := rec.took["approval/ask"]
			if timed != tc.journal || took != tc.want {
				t.Errorf("ask took %v (timed: %v), want %v (timed: %v)", took, timed, tc.want, tc.journal)
			}
		})
	}
}
