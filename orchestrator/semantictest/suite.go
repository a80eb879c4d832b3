// Package semantictest is the semantics suite of the orchestrator: every
// construct of a workflow definition (retries, timeouts, map fan-out, sub
// workflows, external events, async callbacks, timers, deferred keys,
// versions, compensation, cancellation, state patches, resubmission) run end
// to end through the embedded runtime on a given journal.Store.
//
// Each journal backend runs it from one of its tests, with a function that
// builds a fresh, empty store:
//
//	func TestSemantics(t *testing.T) {
//		semantictest.Run(t, func(t *testing.T) journal.Store { return memjournal.New() })
//	}
//
// Every workflow of the suite is written twice, in the Go DSL and in YAML;
// the suite checks that both build to the same hash before it runs it, so
// the documentation's claim that the two are the same value is tested for
// every construct. Subtests run in parallel, each on its own store and
// runtime; nothing waits with a fixed sleep: the suite polls the journal
// with a deadline.
package semantictest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// patience bounds every wait of the suite: a run that needs longer is stuck.
const patience = 20 * time.Second

// Run runs the semantics suite on stores built by newStore. newStore is
// called once per subtest, possibly concurrently; each call must return a
// store no other subtest sees, released with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) journal.Store, opts ...Option) {
	t.Helper()
	cfg := config{runtime: Embedded, patience: patience}
	for _, o := range opts {
		o(&cfg)
	}
	groups := []struct {
		name  string
		tests []test
	}{
		{"Retry", retryTests},
		{"Map", mapTests},
		{"Sub", subTests},
		{"Wait", waitTests},
		{"Deferred", deferredTests},
		{"Version", versionTests},
		{"Compensation", compensationTests},
		{"Cancel", cancelTests},
		{"State", stateTests},
		{"Resubmit", resubmitTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					if why, ok := cfg.skip[g.name+"/"+tc.name]; ok {
						t.Skip(why)
					}
					t.Parallel()
					tc.fn(t, newHarnessOn(t, newStore(t), cfg))
				})
			}
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, h *Harness)
}

// Harness is one runtime on one store, with helpers to define, start,
// signal and inspect runs. The restart tests build several on one file.
type Harness struct {
	T     *testing.T
	Ctx   context.Context
	Store journal.Store
	Reg   *step.Registry
	RT    *Runtime
	// Patience bounds each wait and poll (default 20s); tests that expect
	// a known problem may lower it.
	Patience time.Duration

	cfg config
}

// CallbackKeys signs the callback tokens of every harness, so a token
// handed out before a restart completes its step after it.
var CallbackKeys = func() *callback.Keyring {
	r, err := callback.NewKeyring(callback.Key("semantictest callback key, not a secret"))
	if err != nil {
		panic(err)
	}
	return r
}()

// Token returns the signed callback token of run's step attempt.
func (h *Harness) Token(run, stepName string, attempt int) string {
	return CallbackKeys.Sign(callback.Claims{Run: run, Step: stepName, Attempt: attempt})
}

// NewHarness returns a running runtime over store with an empty registry;
// it is closed when t ends.
func NewHarness(t *testing.T, store journal.Store) *Harness { return newHarness(t, store) }

func newHarness(t *testing.T, store journal.Store) *Harness {
	return newHarnessOn(t, store, config{runtime: Embedded, patience: patience})
}

func newHarnessOn(t *testing.T, store journal.Store, cfg config) *Harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.patience)
	t.Cleanup(cancel)
	reg := step.NewRegistry()
	h := &Harness{T: t, Ctx: ctx, Store: store, Reg: reg, Patience: cfg.patience, cfg: cfg}
	h.RT = cfg.runtime(t, store, reg, logger(t))
	t.Cleanup(func() { h.RT.Close() })
	return h
}

// on returns a fresh harness of the same kind of runtime over store.
func (h *Harness) on(t *testing.T, store journal.Store) *Harness {
	return newHarnessOn(t, store, h.cfg)
}

// logger discards the runtime's logs unless ORDO_SEMANTIC_LOG is set.
func logger(t *testing.T) *slog.Logger {
	if os.Getenv("ORDO_SEMANTIC_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

// With returns h reporting to t (a subtest's): helpers fail the test they
// are called from.
func (h *Harness) With(t *testing.T) *Harness {
	c := *h
	c.T = t
	return &c
}

// Define builds b and loads src, fails unless both hash the same, and
// registers the loaded definition. The functions they name must be
// registered first.
func (h *Harness) Define(b *workflow.Builder, src string) *workflow.Definition {
	h.T.Helper()
	d := h.Same(b, src)
	if err := h.RT.Engine.Register(h.Ctx, d); err != nil {
		h.T.Fatal(err)
	}
	return d
}

// Same builds b and loads src and fails unless they hash the same; it
// returns the loaded definition.
func (h *Harness) Same(b *workflow.Builder, src string) *workflow.Definition {
	h.T.Helper()
	dsl, err := b.Build(workflow.Functions(h.Reg.Has))
	if err != nil {
		h.T.Fatalf("DSL: %v", err)
	}
	y, err := workflow.Load([]byte(src), dsl.Name+".yaml", workflow.Functions(h.Reg.Has))
	if err != nil {
		h.T.Fatalf("YAML: %v", err)
	}
	if dsl.Hash() != y.Hash() {
		var a, b any
		_ = json.Unmarshal(dsl.CanonicalJSON(), &a)
		_ = json.Unmarshal(y.CanonicalJSON(), &b)
		h.T.Fatalf("DSL and YAML differ (-dsl +yaml):\n%s", cmp.Diff(a, b))
	}
	return y
}

// Func registers fn under name.
func (h *Harness) Func(name string, fn func(ctx context.Context, req step.Request) (step.Result, error)) {
	h.Reg.Register(name, step.HandlerFunc(fn))
}

// Start starts a run of wf with input (JSON) and returns its id.
func (h *Harness) Start(wf, input string) string {
	h.T.Helper()
	st, err := h.RT.Start(h.Ctx, orchestrator.StartRequest{Workflow: wf, Input: json.RawMessage(input)})
	if err != nil {
		h.T.Fatalf("start %s %s: %v", wf, input, err)
	}
	return st.Run
}

// Wait waits until run settles and fails unless it settled in want.
func (h *Harness) Wait(run string, want journal.Status) {
	h.T.Helper()
	h.WaitWithin(run, want, h.Patience)
}

// WaitWithin is Wait with a deadline d.
func (h *Harness) WaitWithin(run string, want journal.Status, d time.Duration) {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(h.Ctx, d)
	defer cancel()
	got, err := h.RT.Wait(ctx, run)
	if err != nil {
		h.Dump(run)
		h.T.Fatalf("wait %s: %v", run, err)
	}
	if got != want {
		h.Dump(run)
		h.T.Fatalf("run %s settled %s, want %s", run, got, want)
	}
}

// Events returns run's journal.
func (h *Harness) Events(run string) []journal.Event {
	h.T.Helper()
	_, events, err := h.Store.Load(h.Ctx, run)
	if err != nil {
		h.T.Fatalf("load %s: %v", run, err)
	}
	return events
}

// Head returns run's head.
func (h *Harness) Head(run string) journal.Run {
	h.T.Helper()
	head, _, err := h.Store.Load(h.Ctx, run)
	if err != nil {
		h.T.Fatalf("load %s: %v", run, err)
	}
	return head
}

// Output returns the output of run's RunCompleted event.
func (h *Harness) Output(run string) string {
	h.T.Helper()
	for _, e := range h.Events(run) {
		if e.Kind == journal.RunCompleted {
			return compact(e.Output)
		}
	}
	h.Dump(run)
	h.T.Fatalf("run %s has no RunCompleted", run)
	return ""
}

// Dump logs run's journal (on failure).
func (h *Harness) Dump(run string) {
	_, events, err := h.Store.Load(context.WithoutCancel(h.Ctx), run)
	if err != nil {
		h.T.Logf("load %s: %v", run, err)
		return
	}
	h.T.Logf("journal of %s:", run)
	for _, e := range events {
		h.T.Logf("  %3d %-16s %s#%d[%d] comp=%v name=%s child=%s parent=%s in=%s out=%s state=%s err=%v reason=%q due=%s",
			e.Seq, e.Kind, e.Step, e.Attempt, e.Index, e.Compensation, e.Name, e.Child, e.Parent,
			e.Input, e.Output, e.State, e.Error, e.Reason, e.Due.Format("15:04:05.000"))
	}
}

// Await polls run's journal until an event matches, and returns it.
func (h *Harness) Await(run, what string, match func(journal.Event) bool) journal.Event {
	h.T.Helper()
	var found journal.Event
	defer func() {
		if h.T.Failed() {
			h.Dump(run)
		}
	}()
	h.Eventually(run+": "+what, func() bool {
		_, events, err := h.Store.Load(h.Ctx, run)
		if err != nil {
			return false
		}
		for _, e := range events {
			if match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// Scheduled waits until step (attempt, or any when 0) of run is scheduled.
func (h *Harness) Scheduled(run, stepName string, attempt int) journal.Event {
	h.T.Helper()
	return h.Await(run, "step "+stepName+" scheduled", func(e journal.Event) bool {
		return e.Kind == journal.StepScheduled && e.Step == stepName && !e.Compensation && e.Index == 0 &&
			(attempt == 0 || e.Attempt == attempt)
	})
}

// Eventually polls cond until it holds, failing after the suite's patience.
func (h *Harness) Eventually(what string, cond func() bool) {
	h.T.Helper()
	deadline := time.Now().Add(h.Patience)
	for !cond() {
		if time.Now().After(deadline) {
			h.T.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(3 * time.Millisecond)
	}
}

// StartStatus starts a run of wf with input and returns what Start said.
func (h *Harness) StartStatus(wf, input string) orchestrator.Started {
	h.T.Helper()
	st, err := h.RT.Start(h.Ctx, orchestrator.StartRequest{Workflow: wf, Input: json.RawMessage(input)})
	if err != nil {
		h.T.Fatalf("start %s %s: %v", wf, input, err)
	}
	return st
}

// Cancel cancels run through the runtime, which schedules its drive.
func (h *Harness) Cancel(run string) {
	h.T.Helper()
	if err := h.RT.Cancel(h.Ctx, run, "semantictest", "cancelled by the test"); err != nil {
		h.T.Fatalf("cancel %s: %v", run, err)
	}
}

// Signal delivers the event name with payload to run.
func (h *Harness) Signal(run, name, payload string) {
	h.T.Helper()
	if err := h.RT.Signal(h.Ctx, run, name, json.RawMessage(payload)); err != nil {
		h.T.Fatalf("signal %s %s: %v", run, name, err)
	}
}

// count counts events of kind about step (any step when "").
func count(events []journal.Event, kind journal.Kind, stepName string) int {
	n := 0
	for _, e := range events {
		if e.Kind == kind && (stepName == "" || e.Step == stepName) {
			n++
		}
	}
	return n
}

// filter returns the events that match.
func filter(events []journal.Event, match func(journal.Event) bool) []journal.Event {
	var out []journal.Event
	for _, e := range events {
		if match(e) {
			out = append(out, e)
		}
	}
	return out
}

// attempt is a step attempt as the journal tells it.
type attempt struct {
	Kind    journal.Kind
	Step    string
	Attempt int
	Index   int
	ErrKind string
}

// attempts summarises the step-attempt events of a journal (scheduled,
// failed, retried, succeeded), compensations excluded.
func attempts(events []journal.Event, stepName string) []attempt {
	var out []attempt
	for _, e := range events {
		switch e.Kind {
		case journal.StepScheduled, journal.StepFailed, journal.RetryScheduled, journal.StepSucceeded, journal.ItemFailed:
		default:
			continue
		}
		if e.Step != stepName || e.Compensation {
			continue
		}
		a := attempt{Kind: e.Kind, Step: e.Step, Attempt: e.Attempt, Index: e.Index}
		if e.Error != nil && e.Kind == journal.StepFailed {
			a.ErrKind = e.Error.Kind
		}
		out = append(out, a)
	}
	return out
}

func compact(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// jsonEq fails unless got and want are the same JSON value.
func jsonEq(t *testing.T, what, got, want string) {
	t.Helper()
	if c, w := compact(json.RawMessage(got)), compact(json.RawMessage(want)); c != w {
		t.Errorf("%s = %s, want %s", what, c, w)
	}
}

// out returns a step result with output v.
func out(v any) step.Result {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return step.Result{Output: b}
}

// decode decodes a step's input.
func decode[T any](req step.Request) T {
	var v T
	_ = json.Unmarshal(req.Input, &v)
	return v
}

// block waits for ch to close or ctx to end.
func block(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(patience):
		return errors.New("blocked past the suite's patience")
	}
}

// recorder records calls in order, safely from many goroutines.
type recorder struct {
	mu sync.Mutex
	s  []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s = append(r.s, fmt.Sprintf(format, args...))
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.s)
}
