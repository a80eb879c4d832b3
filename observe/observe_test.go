package observe_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/observe/prom"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// runtime runs "ship": pack (fails once, then succeeds with a log effect)
// → send (fails for good when input.bad).
func runtime(t *testing.T, observers ...observe.Observer) *embedded.Runtime {
	t.Helper()
	reg := step.NewRegistry()
	var packs atomic.Int32
	reg.Register("pack", step.HandlerFunc(func(ctx context.Context, req step.Request) (step.Result, error) {
		if packs.Add(1) == 1 {
			return step.Result{}, errors.New("scanner busy")
		}
		return step.Result{Output: []byte(`"packed"`), Effects: []step.Effect{{Kind: "log", Payload: []byte(`{"packed":true}`)}}}, nil
	}))
	reg.Register("send", step.Func(func(ctx context.Context, in map[string]any) (string, error) {
		if in["bad"] == true {
			return "", step.Terminal(errors.New("no address"))
		}
		return "sent", nil
	}))
	def := workflow.New("ship", workflow.Key("input.id"),
		workflow.Step("pack", "pack", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Millisecond)})),
		workflow.Step("send", "send", workflow.After("pack")),
	).MustBuild(workflow.Functions(reg.Has))
	rt := embedded.New(observe.Wrap(memjournal.New(), observers...), reg)
	t.Cleanup(func() { rt.Close() })
	if err := rt.Engine.Register(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	return rt
}

func drive(t *testing.T, rt *embedded.Runtime, input string, want journal.Status) string {
	t.Helper()
	st, err := rt.Start(context.Background(), orchestrator.StartRequest{Workflow: "ship", Input: []byte(input)})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		head, _, err := rt.Engine.Store().Load(context.Background(), st.Run)
		// Pack's effect outcome is journaled after the run settles.
		if err == nil && head.Status == want && effectDone(t, rt, st.Run) {
			return st.Run
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s (%v), want %s", st.Run, head.Status, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func effectDone(t *testing.T, rt *embedded.Runtime, run string) bool {
	_, events, _ := rt.Engine.Store().Load(context.Background(), run)
	for _, e := range events {
		if e.Kind == journal.EffectSucceeded {
			return true
		}
	}
	return false
}

func TestPrometheusCountsWhatTheJournalSays(t *testing.T) {
	p := prom.New()
	rt := runtime(t, observe.NewTally(p))
	drive(t, rt, `{"id":"ok"}`, journal.StatusCompleted)
	drive(t, rt, `{"id":"bad","bad":true}`, journal.StatusReview)

	p.RunsByStatus(func(ctx context.Context) (map[journal.Status]int, error) {
		return map[journal.Status]int{journal.StatusReview: 1, journal.StatusCompleted: 1}, nil
	})
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	body := scrape(t, srv.URL)
	for _, want := range []string{
		`ordo_runs_started_total{workflow="ship"} 2`,
		`ordo_runs_ended_total{status="completed",workflow="ship"} 1`,
		`ordo_runs_ended_total{status="review",workflow="ship"} 1`,
		`ordo_step_retries_total{step="pack",workflow="ship"} 1`,
		`ordo_effects_total{outcome="succeeded",workflow="ship"} 2`,
		`ordo_step_duration_seconds_count{outcome="failed",step="pack",workflow="ship"} 1`,
		`ordo_step_duration_seconds_count{outcome="succeeded",step="pack",workflow="ship"} 2`,
		`ordo_step_duration_seconds_count{outcome="failed",step="send",workflow="ship"} 1`,
		`ordo_runs{status="review"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// only is a journal.Store that has exactly the optional ports it embeds.
type only struct{ journal.Store }

type onlySnaps struct {
	journal.Store
	journal.Snapshots
}

type onlyStreams struct {
	journal.Store
	journal.Streams
}

func TestWrapKeepsStreamsAndReviews(t *testing.T) {
	mem := memjournal.New()
	for _, inner := range []journal.Store{mem, only{mem}, onlySnaps{mem, mem}, onlyStreams{mem, mem}} {
		w := observe.Wrap(inner)
		_, innerStreams := inner.(journal.Streams)
		_, innerReviews := inner.(journal.Reviews)
		_, innerSnaps := inner.(journal.Snapshots)
		if _, ok := w.(journal.Streams); ok != innerStreams {
			t.Errorf("%T: wrapped store is Streams: %v, the journal: %v", inner, ok, innerStreams)
		}
		if _, ok := w.(journal.Reviews); ok != innerReviews {
			t.Errorf("%T: wrapped store is Reviews: %v, the journal: %v", inner, ok, innerReviews)
		}
		if _, ok := w.(journal.Snapshots); ok != innerSnaps {
			t.Errorf("%T: wrapped store is Snapshots: %v, the journal: %v", inner, ok, innerSnaps)
		}
		if u, ok := w.(interface{ Unwrap() journal.Store }); !ok || u.Unwrap() != inner {
			t.Errorf("%T: the wrapped store does not unwrap to the journal", inner)
		}
	}
	// Snapshots written through the wrapper reach the journal.
	w := observe.Wrap(mem).(journal.Snapshots)
	if err := w.PutSnapshot(t.Context(), "r", 2, []byte("state")); err != nil {
		t.Fatal(err)
	}
	if seq, data, err := mem.LatestSnapshot(t.Context(), "r"); err != nil || seq != 2 || string(data) != "state" {
		t.Errorf("got %d %q %v", seq, data, err)
	}
	if seq, _, err := w.LatestSnapshot(t.Context(), "r"); err != nil || seq != 2 {
		t.Errorf("through the wrapper: got %d %v", seq, err)
	}
}
