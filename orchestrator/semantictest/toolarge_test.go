package semantictest_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Oversized events that are not step results: a map's item list, the run's
// output, an event's payload passed on to a step. Each is built by the
// engine from a smaller input, fits nowhere however often it is retried,
// and must send the run to review (kind too-large, naming what was too
// large) instead of failing every Drive. Commands whose caller is present
// (Signal, Resubmit) refuse what the journal cannot take with a
// journal.TooLargeError and change nothing.

// tooLargeCase sizes the payloads for one journal: unit is a string the
// definitions repeat 20 times (20 units are over the limit, one unit fits
// with room), payload is an event payload that fits once but not twice.
type tooLargeCase struct {
	name           string
	store          func(t *testing.T) journal.Store
	unit, payload  int
	oversizedInput int // over the limit on its own
}

func tooLargeCases() []tooLargeCase {
	return []tooLargeCase{
		{name: "SQLite", unit: 1 << 20, payload: 10 << 20, oversizedInput: 17 << 20,
			store: func(t *testing.T) journal.Store {
				s, err := sqlitejournal.New(context.Background(), filepath.Join(t.TempDir(), "j.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}},
		// No S3 bucket: 400 KB per item after compression. The payloads are
		// random base64, which compresses to about 3/4.
		{name: "DynamoDB", unit: 40 << 10, payload: 350 << 10, oversizedInput: 700 << 10,
			store: func(t *testing.T) journal.Store {
				c := dynamotest.Client(t)
				return dynamojournal.New(c, dynamotest.Table(t, c))
			}},
	}
}

// noise returns n random base64 characters (incompressible to 3/4).
func noise(n int) string {
	b := make([]byte, n*3/4+3)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)[:n]
}

var twenty = `[` + strings.TrimSuffix(strings.Repeat(`0,`, 20), ",") + `]`

func TestTooLargeDecisions(t *testing.T) {
	for _, tc := range tooLargeCases() {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store(t)
			big := noise(tc.unit)
			t.Run("map item list", func(t *testing.T) {
				def := workflow.New("bigmap", workflow.Key("input.k"),
					workflow.Map("m", "fm", "input.xs.map(x, input.big)")).MustBuild()
				h := newTooLarge(t, store, def)
				run := h.start(json.RawMessage(fmt.Sprintf(`{"k":"1","xs":%s,"big":%q}`, twenty, big)))
				h.wantReview(run, "m", "map step m: its item list")
				if h.calls > 0 {
					t.Errorf("the map's items were invoked %d times, want none", h.calls)
				}
			})
			t.Run("run output", func(t *testing.T) {
				def := workflow.New("bigout", workflow.Key("input.k"),
					workflow.Step("a", "fa"),
					workflow.Output("input.xs.map(x, input.big)")).MustBuild()
				h := newTooLarge(t, store, def)
				run := h.start(json.RawMessage(fmt.Sprintf(`{"k":"1","xs":%s,"big":%q}`, twenty, big)))
				h.wantReview(run, "", "the run's output")
				if h.calls != 1 {
					t.Errorf("step a invoked %d times, want once", h.calls)
				}
			})
			t.Run("event payload", func(t *testing.T) {
				def := workflow.New("bigevent", workflow.Key("input.k"),
					workflow.Await("e", "go"),
					workflow.Step("b", "fb", workflow.After("e"), workflow.Input(`{"a": steps.e.output, "b": steps.e.output}`)),
				).MustBuild()
				h := newTooLarge(t, store, def)
				run := h.start(json.RawMessage(`{"k":"1"}`))
				h.drive(run)
				// Over the limit on its own: refused, nothing journaled.
				_, err := h.e.Signal(h.ctx, run, "go", json.RawMessage(fmt.Sprintf("%q", noise(tc.oversizedInput))))
				var tl *journal.TooLargeError
				if !errors.As(err, &tl) {
					t.Fatalf("Signal with an oversized payload: %v, want a journal.TooLargeError", err)
				}
				// Fits once, not passed on: the run goes to review.
				if _, err := h.e.Signal(h.ctx, run, "go", json.RawMessage(fmt.Sprintf("%q", noise(tc.payload)))); err != nil {
					t.Fatalf("Signal: %v", err)
				}
				h.wantReview(run, "", "")
				if h.calls > 0 {
					t.Errorf("step b invoked %d times, want none", h.calls)
				}
			})
			t.Run("resubmit input", func(t *testing.T) {
				def := workflow.New("bigresubmit", workflow.Key("input.k"),
					workflow.Step("a", "fa", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 1}))).MustBuild()
				h := newTooLarge(t, store, def)
				h.fail = true
				run := h.start(json.RawMessage(`{"k":"1"}`))
				if out := h.drive(run); out.Status != journal.StatusReview {
					t.Fatalf("run %s, want review", out.Status)
				}
				_, err := h.e.Resubmit(h.ctx, orchestrator.Resubmission{Run: run, By: "ops", Step: "a",
					Input: json.RawMessage(fmt.Sprintf("%q", noise(tc.oversizedInput)))})
				var tl *journal.TooLargeError
				if !errors.As(err, &tl) {
					t.Fatalf("Resubmit with an oversized input: %v, want a journal.TooLargeError", err)
				}
				if head, _, _ := store.Load(h.ctx, run); head.Status != journal.StatusReview {
					t.Errorf("after a refused resubmit the run is %s, want still review", head.Status)
				}
				h.fail = false
				if _, err := h.e.Resubmit(h.ctx, orchestrator.Resubmission{Run: run, By: "ops", Step: "a",
					Input: json.RawMessage(`{"small":true}`)}); err != nil {
					t.Fatal(err)
				}
				if out := h.drive(run); out.Status != journal.StatusCompleted {
					t.Errorf("resubmitted run %s, want completed", out.Status)
				}
			})
		})
	}
}

// tooLarge is one engine on a store, with a counting step function.
type tooLarge struct {
	t     *testing.T
	ctx   context.Context
	e     *orchestrator.Engine
	store journal.Store
	calls int
	fail  bool
}

func newTooLarge(t *testing.T, store journal.Store, def *workflow.Definition) *tooLarge {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	h := &tooLarge{t: t, ctx: ctx, store: store}
	inv := invoker(func(_ context.Context, req step.Request) (step.Response, error) {
		h.calls++ // one attempt at a time in these runs
		if h.fail {
			return step.Response{Error: &step.Failure{Message: "no", Terminal: true}}, nil
		}
		return step.Response{Result: step.Result{Output: json.RawMessage(`1`)}}, nil
	})
	h.e = orchestrator.New(store, inv, orchestrator.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := h.e.Register(ctx, def); err != nil {
		t.Fatal(err)
	}
	return h
}

type invoker func(context.Context, step.Request) (step.Response, error)

func (f invoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	return f(ctx, req)
}

func (h *tooLarge) start(input json.RawMessage) string {
	h.t.Helper()
	st, err := h.e.Start(h.ctx, orchestrator.StartRequest{Workflow: h.e.Workflows()[0].Name, Input: input})
	if err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	return st.Run
}

// drive drives run until it settles or waits for something external; a
// Drive error fails the test (before the fix, every Drive failed).
func (h *tooLarge) drive(run string) orchestrator.Outcome {
	h.t.Helper()
	for range 50 {
		out, err := h.e.Drive(h.ctx, run)
		if err != nil {
			h.t.Fatalf("Drive %s: %v", run, err)
		}
		if out.Done || out.WakeAt.IsZero() {
			return out
		}
		time.Sleep(time.Until(out.WakeAt))
	}
	h.t.Fatalf("run %s did not settle", run)
	return orchestrator.Outcome{}
}

// wantReview drives run and checks it went to review with kind too-large,
// on step (if set), naming what (if set), in its head and its listing.
func (h *tooLarge) wantReview(run, stepName, what string) {
	h.t.Helper()
	if out := h.drive(run); out.Status != journal.StatusReview {
		h.t.Fatalf("run %s, want review", out.Status)
	}
	head, events, err := h.store.Load(h.ctx, run)
	if err != nil {
		h.t.Fatal(err)
	}
	if head.Status != journal.StatusReview {
		h.t.Errorf("head status %s, want review", head.Status)
	}
	last := events[len(events)-1]
	if last.Kind != journal.NeedsReview || last.Error == nil || last.Error.Kind != step.KindTooLarge ||
		!strings.Contains(last.Reason, "too large") || !strings.Contains(last.Reason, what) || last.Step != stepName && stepName != "" {
		h.t.Errorf("last event %s step %q reason %q error %+v; want NeedsReview, kind too-large, naming %q",
			last.Kind, last.Step, last.Reason, last.Error, what)
	}
	h.t.Logf("review: %.200s", last.Reason)
}
