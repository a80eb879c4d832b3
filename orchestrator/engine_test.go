package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// invokerFunc is an in-process Invoker.
type invokerFunc func(ctx context.Context, req step.Request) (step.Response, error)

func (f invokerFunc) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	return f(ctx, req)
}

// handlers runs step.Handlers in-process, keyed by function name, as the
// embedded runtime does.
func handlers(m map[string]step.HandlerFunc) orchestrator.Invoker {
	return invokerFunc(func(ctx context.Context, req step.Request) (step.Response, error) {
		h, ok := m[req.Function]
		if !ok {
			return step.Response{}, fmt.Errorf("no function %q", req.Function)
		}
		return step.Invoke(ctx, h, req), nil
	})
}

func echo(_ context.Context, req step.Request) (step.Result, error) {
	return step.Result{Output: json.RawMessage(fmt.Sprintf("%q", req.Step))}, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var fastRetry = workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Millisecond),
	MaxInterval: workflow.Duration(time.Millisecond)}

// diamond is a → (b, c) → d, keyed by input.id.
var diamond = workflow.New("diamond",
	workflow.Key("input.id"),
	workflow.DefaultRetryPolicy(fastRetry),
	workflow.Step("a", "fa"),
	workflow.Step("b", "fb", workflow.After("a")),
	workflow.Step("c", "fc", workflow.After("a")),
	workflow.Step("d", "fd", workflow.After("b", "c")),
).MustBuild()

func newEngine(t *testing.T, store journal.Store, inv orchestrator.Invoker, def *workflow.Definition, opts ...orchestrator.Option) *orchestrator.Engine {
	t.Helper()
	e := orchestrator.New(store, inv, append([]orchestrator.Option{orchestrator.WithLogger(quiet)}, opts...)...)
	if err := e.Register(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	return e
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// driveToEnd drives run until it is done, waiting for WakeAt in between.
func driveToEnd(t *testing.T, ctx context.Context, e *orchestrator.Engine, run string) orchestrator.Outcome {
	t.Helper()
	for range 1000 {
		out, err := e.Drive(ctx, run)
		if err != nil {
			t.Fatalf("Drive %s: %v", run, err)
		}
		if out.Status.Terminal() || out.Status == journal.StatusReview {
			return out
		}
		if !out.WakeAt.IsZero() {
			select {
			case <-time.After(time.Until(out.WakeAt)):
			case <-ctx.Done():
				t.Fatalf("Drive %s: %v", run, ctx.Err())
			}
		}
	}
	t.Fatalf("run %s did not finish", run)
	return orchestrator.Outcome{}
}

func load(t *testing.T, store journal.Store, run string) (journal.Run, []journal.Event) {
	t.Helper()
	head, events, err := store.Load(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return head, events
}

// checkOnce checks that the journal records each attempt's scheduling and
// result exactly once, and the run's completion once.
func checkOnce(t *testing.T, events []journal.Event) {
	t.Helper()
	count := map[string]int{}
	for _, e := range events {
		switch e.Kind {
		case journal.StepScheduled:
			count[fmt.Sprintf("scheduled %s#%d", e.Step, e.Attempt)]++
		case journal.StepSucceeded, journal.StepFailed:
			count[fmt.Sprintf("result %s#%d", e.Step, e.Attempt)]++
		case journal.RunStarted, journal.RunCompleted, journal.NeedsReview:
			count[string(e.Kind)]++
		}
	}
	for k, n := range count {
		if n != 1 {
			var log []string
			for _, e := range events {
				log = append(log, fmt.Sprintf("%d %s %s#%d", e.Seq, e.Kind, e.Step, e.Attempt))
			}
			t.Errorf("%s journaled %d times, want once; journal:\n%v", k, n, log)
		}
	}
}

func TestStartIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	e := newEngine(t, store, handlers(nil), diamond)
	first, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(`{"id":"o-1"}`), Trigger: "m-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := orchestrator.Started{Run: "diamond/o-1", Created: true, Status: journal.StatusRunning}
	if diff := cmp.Diff(first, want); diff != "" {
		t.Errorf("first Start (-got +want):\n%s", diff)
	}
	// A redelivered trigger, even through another engine, finds the run.
	other := newEngine(t, store, handlers(nil), diamond)
	again, err := other.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(`{"id":"o-1","x":1}`), Trigger: "m-2"})
	if err != nil {
		t.Fatal(err)
	}
	want.Created = false
	if diff := cmp.Diff(again, want); diff != "" {
		t.Errorf("duplicate Start (-got +want):\n%s", diff)
	}
	_, events := load(t, store, first.Run)
	checkOnce(t, events)
	if got := string(events[0].Input); got != `{"id":"o-1"}` {
		t.Errorf("run input %s, want the first start's", got)
	}
}

func TestStartConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	engines := []*orchestrator.Engine{newEngine(t, store, handlers(nil), diamond), newEngine(t, store, handlers(nil), diamond)}
	const n = 20
	results := make([]orchestrator.Started, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := engines[i%2].Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(`{"id":"o-2"}`)})
			if err != nil {
				t.Errorf("Start #%d: %v", i, err)
			}
			results[i] = st
		})
	}
	wg.Wait()
	created := 0
	for _, st := range results {
		if st.Run != "diamond/o-2" {
			t.Errorf("Start returned run %q, want diamond/o-2", st.Run)
		}
		if st.Created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d Starts created the run, want exactly 1", created)
	}
	runs, _, err := store.Runs(ctx, journal.Query{Workflow: "diamond"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %v, %v; want one", runs, err)
	}
	_, events := load(t, store, "diamond/o-2")
	checkOnce(t, events)
}

func TestStartUnknownWorkflow(t *testing.T) {
	t.Parallel()
	e := newEngine(t, memjournal.New(), handlers(nil), diamond)
	_, err := e.Start(testContext(t), orchestrator.StartRequest{Workflow: "nope"})
	if !errors.Is(err, orchestrator.ErrUnknownWorkflow) {
		t.Fatalf("Start: err = %v, want ErrUnknownWorkflow", err)
	}
}

func TestDriveUnknownRun(t *testing.T) {
	t.Parallel()
	e := newEngine(t, memjournal.New(), handlers(nil), diamond)
	_, err := e.Drive(testContext(t), "diamond/none")
	if !errors.Is(err, journal.ErrNotFound) {
		t.Fatalf("Drive: err = %v, want journal.ErrNotFound", err)
	}
}

// TestConcurrentDrivers drives each run from two engines at once, with
// steps of random duration and a flaky one, and checks every attempt is
// journaled once and every run completes once.
func TestConcurrentDrivers(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	var calls sync.Map // "run/step/attempt" -> *atomic.Int32
	slow := func(ctx context.Context, req step.Request) (step.Result, error) {
		c, _ := calls.LoadOrStore(fmt.Sprintf("%s/%s/%d", req.Run, req.Step, req.Attempt), new(atomic.Int32))
		c.(*atomic.Int32).Add(1)
		// Vary the interleaving of the two engines.
		d := time.Duration(len(req.Run)*7+len(req.Step)*int(time.Now().UnixNano()%5)) * 100 * time.Microsecond
		select {
		case <-time.After(d % (3 * time.Millisecond)):
		case <-ctx.Done():
		}
		if req.Step == "b" && req.Attempt == 1 {
			return step.Result{}, errors.New("flaky")
		}
		return step.Result{Output: json.RawMessage(`1`), State: json.RawMessage(fmt.Sprintf(`{%q:%d}`, req.Step, req.Attempt))}, nil
	}
	fns := map[string]step.HandlerFunc{"fa": slow, "fb": slow, "fc": slow, "fd": slow}
	engines := []*orchestrator.Engine{
		newEngine(t, store, handlers(fns), diamond, orchestrator.WithInlineWait(time.Second)),
		newEngine(t, store, handlers(fns), diamond, orchestrator.WithInlineWait(time.Second)),
	}
	const runs = 12
	var wg sync.WaitGroup
	for i := range runs {
		st, err := engines[0].Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(fmt.Sprintf(`{"id":"r%d"}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range engines {
			wg.Go(func() { driveToEnd(t, ctx, e, st.Run) })
		}
	}
	wg.Wait()
	for i := range runs {
		run := fmt.Sprintf("diamond/r%d", i)
		head, events := load(t, store, run)
		if head.Status != journal.StatusCompleted {
			t.Errorf("%s: status %s, want completed", run, head.Status)
		}
		checkOnce(t, events)
		last := events[len(events)-1]
		if last.Kind != journal.RunCompleted || string(last.Output) != `{"a":1,"b":2,"c":1,"d":1}` {
			t.Errorf("%s: last event %s %s, want RunCompleted with every step's state", run, last.Kind, last.Output)
		}
	}
}

// gatedInvoker blocks each invocation until the test releases it, so a test
// can order two engines' step results exactly.
type gatedInvoker struct {
	name     string
	started  chan string
	returned chan string
	release  map[string]chan struct{} // by step
}

func newGated(name string, started chan string, steps ...string) *gatedInvoker {
	g := &gatedInvoker{name: name, started: started, returned: make(chan string, len(steps)),
		release: map[string]chan struct{}{}}
	for _, s := range steps {
		g.release[s] = make(chan struct{})
	}
	return g
}

func (g *gatedInvoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	g.started <- g.name + "/" + req.Step
	select {
	case <-g.release[req.Step]:
	case <-ctx.Done():
		return step.Response{}, ctx.Err()
	}
	g.returned <- g.name + "/" + req.Step
	return step.Response{Result: step.Result{Output: json.RawMessage(fmt.Sprintf("%q", g.name))}}, nil
}

func waitFor(t *testing.T, ctx context.Context, started <-chan string, want ...string) {
	t.Helper()
	var got []string
	for len(got) < len(want) {
		select {
		case s := <-started:
			got = append(got, s)
		case <-ctx.Done():
			t.Fatalf("waiting for %v: got %v: %v", want, got, ctx.Err())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Fatalf("invocations (-got +want):\n%s", diff)
	}
}

// TestConcurrentDriversLateResult orders two engines so that one of them
// receives a step result after the other has journaled that attempt's
// result: the late one must not be journaled a second time.
func TestConcurrentDriversLateResult(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	def := workflow.New("par",
		workflow.Step("a", "fa"),
		workflow.Step("b", "fb"),
		workflow.Step("c", "fc", workflow.After("a", "b")),
	).MustBuild()
	store := memjournal.New()
	started := make(chan string, 16)
	ga, gb := newGated("A", started, "a", "b", "c"), newGated("B", started, "a", "b", "c")
	ea, eb := newEngine(t, store, ga, def), newEngine(t, store, gb, def)
	st, err := ea.Start(ctx, orchestrator.StartRequest{Workflow: "par", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		out orchestrator.Outcome
		err error
	}
	doneA, doneB := make(chan result, 1), make(chan result, 1)
	go func() { out, err := ea.Drive(ctx, st.Run); doneA <- result{out, err} }()
	waitFor(t, ctx, started, "A/a", "A/b")
	go func() { out, err := eb.Drive(ctx, st.Run); doneB <- result{out, err} }()
	waitFor(t, ctx, started, "B/a", "B/b")

	close(ga.release["a"]) // A journals a#1
	waitJournaled(t, ctx, store, st.Run, journal.StepSucceeded, "a")
	close(gb.release["b"]) // B conflicts, reloads, journals b#1 and schedules c
	waitFor(t, ctx, started, "B/c")
	close(gb.release["a"]) // B's a#1 arrives after A's was journaled
	waitFor(t, ctx, gb.returned, "B/b", "B/a")
	close(gb.release["c"]) // (c's result queues behind a's)
	if r := <-doneB; r.err != nil || r.out.Status != journal.StatusCompleted {
		t.Fatalf("B: %+v, %v; want completed", r.out, r.err)
	}
	close(ga.release["b"])
	close(ga.release["c"])
	if r := <-doneA; r.err != nil || r.out.Status != journal.StatusCompleted {
		t.Fatalf("A: %+v, %v; want completed", r.out, r.err)
	}
	_, events := load(t, store, st.Run)
	checkOnce(t, events)
	for _, e := range events {
		if e.Kind == journal.StepSucceeded && e.Step == "a" && string(e.Output) != `"A"` {
			t.Errorf("a#1 output %s, want A's (journaled first)", e.Output)
		}
	}
}

// waitJournaled polls until run's journal has an event of kind for step.
func waitJournaled(t *testing.T, ctx context.Context, store journal.Store, run string, kind journal.Kind, step string) {
	t.Helper()
	for {
		_, events, err := store.Load(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(events, func(e journal.Event) bool { return e.Kind == kind && e.Step == step }) {
			return
		}
		select {
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("waiting for %s %s: %v", kind, step, ctx.Err())
		}
	}
}

func TestDriveNearDeadlineContinues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// deadline and margin of the first Drive
		deadline, margin time.Duration
		// wantA: whether step a's result is journaled by the first Drive
		wantA bool
	}{
		{"deadline already within the margin", time.Minute, time.Hour, false},
		{"deadline comes near while a step runs", 900 * time.Millisecond, 400 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			store := memjournal.New()
			dl := time.Now().Add(tc.deadline)
			var aCalls atomic.Int32
			var inFirst atomic.Bool // the first Drive is running
			// a finishes shortly before the hand-on time; the first b
			// outlives the first driver.
			fa := func(ctx context.Context, req step.Request) (step.Result, error) {
				aCalls.Add(1)
				for time.Until(dl) >= tc.margin+200*time.Millisecond {
					select {
					case <-time.After(5 * time.Millisecond):
					case <-ctx.Done():
						return step.Result{}, ctx.Err()
					}
				}
				return step.Result{Output: json.RawMessage(`1`)}, nil
			}
			fb := func(ctx context.Context, req step.Request) (step.Result, error) {
				if inFirst.Load() {
					<-ctx.Done()
					return step.Result{}, ctx.Err()
				}
				return echo(ctx, req)
			}
			fns := map[string]step.HandlerFunc{"fa": fa, "fb": fb, "fc": echo, "fd": echo}
			e := newEngine(t, store, handlers(fns), diamond, orchestrator.WithDeadlineMargin(tc.margin))
			st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(`{"id":"x"}`)})
			if err != nil {
				t.Fatal(err)
			}
			short, cancel := context.WithDeadline(ctx, dl)
			defer cancel()
			inFirst.Store(true)
			out, err := e.Drive(short, st.Run)
			inFirst.Store(false)
			if err != nil {
				t.Fatal(err)
			}
			// Drive hands on before the deadline, while the caller can
			// still send a continuation.
			if left := time.Until(dl); left <= 0 {
				t.Errorf("Drive returned %s after its deadline, want before it", -left)
			}
			if !out.Continue || out.Status != journal.StatusRunning {
				t.Fatalf("first Drive: %+v, want Continue while running", out)
			}
			_, events := load(t, store, st.Run)
			gotA := slices.ContainsFunc(events, func(e journal.Event) bool { return e.Kind == journal.StepSucceeded && e.Step == "a" })
			if gotA != tc.wantA {
				t.Errorf("a journaled by the first Drive: %v, want %v", gotA, tc.wantA)
			}
			if n := aCalls.Load(); tc.wantA != (n == 1) {
				t.Errorf("a invoked %d times by the first Drive", n)
			}
			// A continuation, by another engine, finishes the run.
			next := newEngine(t, store, handlers(fns), diamond)
			if out := driveToEnd(t, ctx, next, st.Run); out.Status != journal.StatusCompleted {
				t.Fatalf("continuation: %+v, want completed", out)
			}
			_, events = load(t, store, st.Run)
			checkOnce(t, events)
		})
	}
}

// recorder is a Dispatcher that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	got  []journal.Effect
	fail error
}

func (r *recorder) Dispatch(_ context.Context, run string, effects []journal.Effect) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, effects...)
	return r.fail
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.got {
		out = append(out, e.ID)
	}
	slices.Sort(out)
	return out
}

func TestEffectsDispatchedAndRedispatched(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	emit := func(n int) step.HandlerFunc {
		return func(_ context.Context, req step.Request) (step.Result, error) {
			var r step.Result
			for i := range n {
				r.Effects = append(r.Effects, step.Effect{Kind: "email", Target: fmt.Sprintf("%s-%d", req.Step, i)})
			}
			return r, nil
		}
	}
	fns := map[string]step.HandlerFunc{"fa": emit(2), "fb": emit(1), "fc": emit(0), "fd": emit(0)}
	first := &recorder{fail: errors.New("queue unavailable")}
	e := newEngine(t, store, handlers(fns), diamond, orchestrator.WithDispatcher(first))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(`{"id":"fx"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
		t.Fatalf("Drive: %+v", out)
	}
	want := []string{"diamond/fx/a/1/0", "diamond/fx/a/1/1", "diamond/fx/b/1/0"}
	if diff := cmp.Diff(first.ids(), want); diff != "" {
		t.Errorf("dispatched (-got +want):\n%s", diff)
	}
	for _, ef := range first.got {
		if ef.Kind != "email" || ef.Target == "" {
			t.Errorf("dispatched %+v, want an email with its target", ef)
		}
	}

	// Recovery: another engine finds them all outstanding (the dispatch
	// failed and nobody journaled an outcome) and dispatches them again,
	// with the same IDs.
	second := &recorder{}
	if _, err := newEngine(t, store, handlers(fns), diamond, orchestrator.WithDispatcher(second)).Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second.ids(), want); diff != "" {
		t.Errorf("redispatched (-got +want):\n%s", diff)
	}

	// Once one outcome is journaled, only the others are redispatched.
	x := effect.NewExecutor(store)
	x.Handle("email", effect.HandlerFunc(func(context.Context, string, journal.Effect) error { return nil }))
	if err := x.Execute(ctx, st.Run, second.got[0]); err != nil {
		t.Fatal(err)
	}
	third := &recorder{}
	if _, err := newEngine(t, store, handlers(fns), diamond, orchestrator.WithDispatcher(third)).Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	want = slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == second.got[0].ID })
	if diff := cmp.Diff(third.ids(), want); diff != "" {
		t.Errorf("redispatched after one outcome (-got +want):\n%s", diff)
	}
}

func TestInvokerTransportErrorIsRetried(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	var calls atomic.Int32
	inv := invokerFunc(func(ctx context.Context, req step.Request) (step.Response, error) {
		if req.Step == "a" && calls.Add(1) == 1 {
			return step.Response{}, errors.New("connection reset by peer")
		}
		return step.Response{Result: step.Result{Output: json.RawMessage(`1`)}}, nil
	})
	e := newEngine(t, store, inv, diamond, orchestrator.WithInlineWait(time.Second))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(`{"id":"t"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
		t.Fatalf("Drive: %+v, want completed", out)
	}
	_, events := load(t, store, st.Run)
	checkOnce(t, events)
	i := slices.IndexFunc(events, func(e journal.Event) bool { return e.Kind == journal.StepFailed })
	if i < 0 {
		t.Fatal("no StepFailed journaled")
	}
	want := &journal.Error{Message: "connection reset by peer", Kind: "invoke"}
	if diff := cmp.Diff(events[i].Error, want); diff != "" {
		t.Errorf("failure (-got +want):\n%s", diff)
	}
	if next := events[i+1]; next.Kind != journal.RetryScheduled || next.Step != "a" || next.Attempt != 2 {
		t.Errorf("after the failure: %s %s#%d, want RetryScheduled a#2", next.Kind, next.Step, next.Attempt)
	}
}

func TestStepTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	def := workflow.New("slow",
		workflow.Step("a", "fa", workflow.Timeout(20*time.Millisecond), workflow.Retry(fastRetry)),
	).MustBuild()
	var blockFirst = func(ctx context.Context, req step.Request) error {
		if req.Attempt == 1 {
			<-ctx.Done() // the attempt's own timeout
			return ctx.Err()
		}
		return nil
	}
	for _, tc := range []struct {
		name string
		inv  orchestrator.Invoker
	}{
		{
			// A step in-process: the handler sees its context end and
			// returns the context's error as its failure.
			name: "in-process handler",
			inv: handlers(map[string]step.HandlerFunc{"fa": func(ctx context.Context, req step.Request) (step.Result, error) {
				return step.Result{}, blockFirst(ctx, req)
			}}),
		},
		{
			// A remote step: the transport gives up with the context.
			name: "transport",
			inv: invokerFunc(func(ctx context.Context, req step.Request) (step.Response, error) {
				return step.Response{}, blockFirst(ctx, req)
			}),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			store := memjournal.New()
			e := newEngine(t, store, tc.inv, def, orchestrator.WithInlineWait(time.Second))
			st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "slow", Key: "k"})
			if err != nil {
				t.Fatal(err)
			}
			if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
				t.Fatalf("Drive: %+v, want completed", out)
			}
			_, events := load(t, store, st.Run)
			i := slices.IndexFunc(events, func(e journal.Event) bool { return e.Kind == journal.StepFailed })
			if i < 0 {
				t.Fatal("no StepFailed journaled")
			}
			if f := events[i]; f.Attempt != 1 || f.Error == nil || f.Error.Kind != "timeout" || f.Error.Terminal {
				t.Errorf("failure %+v (error %+v), want a retryable timeout of attempt 1", f, f.Error)
			}
			checkOnce(t, events)
		})
	}
}
