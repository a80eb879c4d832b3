package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
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

// testKeys sign the callback tokens of the engines newEngine makes.
var testKeys, _ = callback.NewKeyring(callback.Key("orchestrator test key, not a secret, 32+ bytes"))

// testToken is the callback token of run's step attempt under testKeys.
func testToken(run, step string, attempt int) string {
	return testKeys.Sign(callback.Claims{Run: run, Step: step, Attempt: attempt})
}

func newEngine(t *testing.T, store journal.Store, inv orchestrator.Invoker, def *workflow.Definition, opts ...orchestrator.Option) *orchestrator.Engine {
	t.Helper()
	e := orchestrator.New(store, inv, append([]orchestrator.Option{orchestrator.WithLogger(quiet), orchestrator.WithCallbackKeys(testKeys)}, opts...)...)
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

// driveToEnd drives run until it is done, waiting for WakeAt in between,
// or at most a few milliseconds when another driver may finish it first
// (one that holds the leases of its attempts). It must be called from the
// test's goroutine.
func driveToEnd(t *testing.T, ctx context.Context, e *orchestrator.Engine, run string) orchestrator.Outcome {
	t.Helper()
	out, err := driveUntilSettled(ctx, e, run)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// driveUntilSettled is driveToEnd for any goroutine: it returns an error
// instead of failing the test.
func driveUntilSettled(ctx context.Context, e *orchestrator.Engine, run string) (orchestrator.Outcome, error) {
	for range 10000 {
		out, err := e.Drive(ctx, run)
		if err != nil {
			return out, fmt.Errorf("Drive %s: %w", run, err)
		}
		if out.Status.Terminal() || out.Status == journal.StatusReview {
			return out, nil
		}
		if !out.WakeAt.IsZero() || !out.Continue {
			select {
			case <-time.After(min(time.Until(out.WakeAt), 5*time.Millisecond)):
			case <-ctx.Done():
				return out, fmt.Errorf("Drive %s: %w", run, ctx.Err())
			}
		}
	}
	return orchestrator.Outcome{}, fmt.Errorf("run %s did not finish", run)
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
	want := orchestrator.Started{Run: "diamond/o-1", Created: true, Status: journal.StatusRunning,
		Receipt: orchestrator.Receipt{Wake: []string{"diamond/o-1"}}}
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
	errs := make(chan error, 2*runs)
	for i := range runs {
		st, err := engines[0].Start(ctx, orchestrator.StartRequest{Workflow: "diamond", Input: json.RawMessage(fmt.Sprintf(`{"id":"r%d"}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range engines {
			wg.Go(func() {
				if _, err := driveUntilSettled(ctx, e, st.Run); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	calls.Range(func(k, v any) bool {
		if n := v.(*atomic.Int32).Load(); n != 1 {
			t.Errorf("attempt %s invoked %d times, want once", k, n)
		}
		return true
	})
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

// TestSecondDriveWaitsOnLiveLease drives a run from a second engine while
// the first one waits for its steps: the second finds their attempts in
// flight under live leases, invokes nothing and asks to be woken when the
// leases end; each attempt is invoked once.
func TestSecondDriveWaitsOnLiveLease(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	def := workflow.New("par",
		workflow.Step("a", "fa", workflow.Timeout(time.Minute)),
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
	doneA := make(chan result, 1)
	go func() { out, err := ea.Drive(ctx, st.Run); doneA <- result{out, err} }()
	waitFor(t, ctx, started, "A/a", "A/b")

	// Two more Drives while A's attempts run: neither invokes anything.
	for range 2 {
		out, err := eb.Drive(ctx, st.Run)
		if err != nil {
			t.Fatal(err)
		}
		_, events := load(t, store, st.Run)
		var leaseA time.Time
		for _, e := range events {
			if e.Kind == journal.StepScheduled && e.Step == "a" {
				leaseA = e.Due
			}
		}
		if out.Status != journal.StatusRunning || out.Continue || !out.WakeAt.Equal(leaseA) {
			t.Fatalf("second Drive: %+v; want running, waking at a's lease %s", out, leaseA)
		}
		if !leaseA.After(time.Now().Add(time.Minute)) {
			t.Errorf("a's lease ends %s, want its timeout and a margin from now", leaseA)
		}
	}
	close(ga.release["a"])
	close(ga.release["b"])
	waitFor(t, ctx, started, "A/c")
	close(ga.release["c"])
	if r := <-doneA; r.err != nil || r.out.Status != journal.StatusCompleted {
		t.Fatalf("A: %+v, %v; want completed", r.out, r.err)
	}
	select {
	case s := <-started:
		t.Fatalf("%s invoked, want every attempt invoked once, by A", s)
	default:
	}
	_, events := load(t, store, st.Run)
	checkOnce(t, events)
}

// TestAsyncStepTokenHandedOutOnce drives a run whose async step waits for
// its callback beside a short wait step: the Drives that the wait step's
// timer brings do not invoke the async step again.
func TestAsyncStepTokenHandedOutOnce(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	def := workflow.New("async",
		workflow.Step("ask", "fask", workflow.Async(), workflow.Timeout(time.Hour)),
		workflow.Wait("pause", 20*time.Millisecond),
		workflow.Step("after", "fafter", workflow.After("ask", "pause")),
	).MustBuild()
	store := memjournal.New()
	var tokens sync.Map // token -> *atomic.Int32
	inv := invokerFunc(func(_ context.Context, req step.Request) (step.Response, error) {
		if req.Token != "" {
			c, _ := tokens.LoadOrStore(req.Token, new(atomic.Int32))
			c.(*atomic.Int32).Add(1)
		}
		return step.Response{Result: step.Result{Output: json.RawMessage(`1`)}}, nil
	})
	e := newEngine(t, store, inv, def)
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "async", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	// Drive as the wake-ups ask, from fresh engines too (a redelivery), until
	// the wait step is done.
	for i := 0; ; i++ {
		eng := e
		if i%2 == 1 {
			eng = newEngine(t, store, inv, def)
		}
		out, err := eng.Drive(ctx, st.Run)
		if err != nil {
			t.Fatal(err)
		}
		_, events := load(t, store, st.Run)
		if slices.ContainsFunc(events, func(e journal.Event) bool { return e.Kind == journal.StepSucceeded && e.Step == "pause" }) {
			break
		}
		if i > 1000 {
			t.Fatal("the wait step never finished")
		}
		time.Sleep(min(time.Until(out.WakeAt), 5*time.Millisecond))
	}
	token := testToken(st.Run, "ask", 1)
	rec, err := e.Complete(ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`"yes"`)}})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.NeedsDrive(st.Run) {
		t.Errorf("Complete: %+v, want the run to need a drive", rec)
	}
	if out := driveToEnd(t, ctx, e, st.Run); out.Status != journal.StatusCompleted {
		t.Fatalf("after the callback: %+v, want completed", out)
	}
	n := 0
	tokens.Range(func(k, v any) bool {
		n++
		if c := v.(*atomic.Int32).Load(); c != 1 {
			t.Errorf("token %v handed out %d times, want once", k, c)
		}
		return true
	})
	if n != 1 {
		t.Errorf("%d tokens handed out, want 1", n)
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
			var aCalls, bCalls atomic.Int32
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
				bCalls.Add(1)
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
			if !tc.wantA {
				// Nothing was scheduled that it could not invoke: a
				// continuation finishes the run, each step invoked once.
				next := newEngine(t, store, handlers(fns), diamond)
				if out := driveToEnd(t, ctx, next, st.Run); out.Status != journal.StatusCompleted {
					t.Fatalf("continuation: %+v, want completed", out)
				}
				if a, b := aCalls.Load(), bCalls.Load(); a != 1 || b != 1 {
					t.Errorf("a invoked %d times, b %d times, want once each", a, b)
				}
				_, events = load(t, store, st.Run)
				checkOnce(t, events)
				return
			}
			// b outlived the first Drive: a continuation finds its lease
			// live, invokes nothing and waits for the lease to end.
			var lease time.Time
			for _, e := range events {
				if e.Kind == journal.StepScheduled && e.Step == "b" {
					lease = e.Due
				}
			}
			next := newEngine(t, store, handlers(fns), diamond)
			out, err = next.Drive(ctx, st.Run)
			if err != nil || out.Continue || !out.WakeAt.Equal(lease) || bCalls.Load() != 1 {
				t.Fatalf("continuation: %+v, %v, b invoked %d times; want a wake-up at b's lease %s and no invocation",
					out, err, bCalls.Load(), lease)
			}
			// Once the lease has expired, b fails by timeout and is retried.
			skew := time.Until(lease) + time.Second
			later := newEngine(t, store, handlers(fns), diamond,
				orchestrator.WithClock(func() time.Time { return time.Now().Add(skew) }),
				orchestrator.WithInlineWait(time.Second))
			if out := driveToEnd(t, ctx, later, st.Run); out.Status != journal.StatusCompleted {
				t.Fatalf("after the lease: %+v, want completed", out)
			}
			if n := bCalls.Load(); n != 2 {
				t.Errorf("b invoked %d times, want twice (attempts 1 and 2)", n)
			}
			_, events = load(t, store, st.Run)
			checkOnce(t, events)
			i := slices.IndexFunc(events, func(e journal.Event) bool { return e.Kind == journal.StepFailed && e.Step == "b" })
			if i < 0 || events[i].Attempt != 1 || events[i].Error.Kind != step.KindTimeout {
				t.Fatalf("want b#1 failed by timeout; journal: %+v", events)
			}
		})
	}
}

// TestSlowStepFailsByTimeoutIntoReview drives a step slower than each
// Drive's budget: every attempt is invoked once, fails by timeout when its
// lease expires, is retried by its policy, and the run goes to review when
// the attempts run out.
func TestSlowStepFailsByTimeoutIntoReview(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	def := workflow.New("slow",
		workflow.Step("slow", "fslow", workflow.Timeout(10*time.Second), workflow.Retry(fastRetry)),
	).MustBuild()
	store := memjournal.New()
	var calls atomic.Int32
	inv := invokerFunc(func(ctx context.Context, req step.Request) (step.Response, error) {
		calls.Add(1)
		<-ctx.Done() // slower than any Drive's budget
		return step.Response{}, ctx.Err()
	})
	var skew atomic.Int64 // how far the engine's clock runs ahead
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newEngine(t, store, inv, def, orchestrator.WithClock(clock), orchestrator.WithDeadlineMargin(50*time.Millisecond))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "slow", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var out orchestrator.Outcome
	for i := 0; out.Status != journal.StatusReview; i++ {
		if i > 50 {
			t.Fatalf("no review after %d Drives: %+v", i, out)
		}
		budget, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		out, err = e.Drive(budget, st.Run)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if !out.Continue && !out.WakeAt.IsZero() {
			skew.Add(int64(out.WakeAt.Sub(clock()) + time.Millisecond)) // the continuation message's delay
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("step invoked %d times, want 3 (one per attempt)", n)
	}
	_, events := load(t, store, st.Run)
	checkOnce(t, events)
	var fails []int
	for _, e := range events {
		if e.Kind == journal.StepFailed {
			if e.Error.Kind != step.KindTimeout {
				t.Errorf("attempt %d failed with %+v, want a timeout", e.Attempt, e.Error)
			}
			fails = append(fails, e.Attempt)
		}
	}
	if diff := cmp.Diff(fails, []int{1, 2, 3}); diff != "" {
		t.Errorf("failed attempts (-got +want):\n%s", diff)
	}
	if last := events[len(events)-1]; last.Kind != journal.NeedsReview {
		t.Errorf("last event %s, want NeedsReview", last.Kind)
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

	// Recovery: another engine finds them all undispatched (every send
	// failed) and dispatches them again, with the same IDs, and journals
	// that it did.
	second := &recorder{}
	if _, err := newEngine(t, store, handlers(fns), diamond, orchestrator.WithDispatcher(second)).Drive(ctx, st.Run); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second.ids(), want); diff != "" {
		t.Errorf("redispatched (-got +want):\n%s", diff)
	}
	_, events := load(t, store, st.Run)
	if diff := cmp.Diff(dispatchedIDs(events), want); diff != "" {
		t.Errorf("EffectDispatched journaled (-got +want):\n%s", diff)
	}

	// Dispatched and journaled: a later Drive sends nothing again, whether
	// or not an outcome is in.
	x := effect.NewExecutor(store)
	x.Handle("email", effect.HandlerFunc(func(context.Context, string, journal.Effect) error { return nil }))
	if err := x.Execute(ctx, st.Run, second.got[0]); err != nil {
		t.Fatal(err)
	}
	third := &recorder{}
	out, err := newEngine(t, store, handlers(fns), diamond, orchestrator.WithDispatcher(third)).Drive(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	if len(third.got) != 0 || !out.WakeAt.IsZero() {
		t.Errorf("third Drive sent %v and wakes at %s, want nothing sent and no wake-up", third.ids(), out.WakeAt)
	}
}

func dispatchedIDs(events []journal.Event) []string {
	var ids []string
	for _, e := range events {
		if e.Kind == journal.EffectDispatched {
			ids = append(ids, e.EffectID)
		}
	}
	slices.Sort(ids)
	return ids
}

// flakyDispatcher fails its first n calls.
type flakyDispatcher struct {
	recorder
	n, calls int
}

func (f *flakyDispatcher) Dispatch(ctx context.Context, run string, effects []journal.Effect) error {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.n
	f.mu.Unlock()
	if fail {
		return errors.New("queue unavailable")
	}
	return f.recorder.Dispatch(ctx, run, effects)
}

// TestEffectsRedispatchedAfterLastCommit fails the dispatch of a run's
// effects on its last commit, and then a few times more: the Drive asks to
// be woken while they remain undispatched, later Drives send them again,
// and each is dispatched and journaled as dispatched once.
func TestEffectsRedispatchedAfterLastCommit(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	store := memjournal.New()
	def := workflow.New("one", workflow.Step("a", "fa")).MustBuild()
	fa := func(_ context.Context, req step.Request) (step.Result, error) {
		return step.Result{Effects: []step.Effect{{Kind: "email", Target: "x"}, {Kind: "email", Target: "y"}}}, nil
	}
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	d := &flakyDispatcher{n: 3}
	e := newEngine(t, store, handlers(map[string]step.HandlerFunc{"fa": fa}), def,
		orchestrator.WithDispatcher(d), orchestrator.WithClock(clock))
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "one", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var wakes []time.Duration
	for i := 0; ; i++ {
		out, err := e.Drive(ctx, st.Run)
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != journal.StatusCompleted || !out.Done {
			t.Fatalf("Drive %d: %+v, want completed", i, out)
		}
		if out.WakeAt.IsZero() {
			break
		}
		if i > 10 {
			t.Fatalf("still waking after %d Drives", i)
		}
		wait := out.WakeAt.Sub(clock())
		wakes = append(wakes, wait.Round(time.Second))
		skew.Add(int64(wait)) // the wake-up comes
	}
	if d.calls != 4 {
		t.Errorf("%d dispatch calls, want 4 (3 failures, then success)", d.calls)
	}
	want := []string{"one/k/a/1/0", "one/k/a/1/1"}
	if diff := cmp.Diff(d.ids(), want); diff != "" {
		t.Errorf("dispatched (-got +want):\n%s", diff)
	}
	_, events := load(t, store, st.Run)
	if diff := cmp.Diff(dispatchedIDs(events), want); diff != "" {
		t.Errorf("EffectDispatched journaled (-got +want):\n%s", diff)
	}
	// The wake-ups back off with the effects' age.
	if diff := cmp.Diff(wakes, []time.Duration{time.Second, time.Second, 2 * time.Second}); diff != "" {
		t.Errorf("wake-ups (-got +want):\n%s", diff)
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

// TestOversizedResult journals a step result exactly at the journal's commit
// limit, and one byte over it: at the limit the run completes (the result
// is journaled alone, the completion after it); over it the step fails
// terminally (kind too-large, naming the step and sizes) and the run goes
// to review instead of retrying the commit forever.
func TestOversizedResult(t *testing.T) {
	t.Parallel()
	def := workflow.New("big", workflow.Step("a", "fa")).MustBuild()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	output := json.RawMessage(`"` + strings.Repeat("x", 64<<10) + `"`)
	// The commit that journals the result alone.
	limit := len(mustEncode(t, []journal.Event{
		{Kind: journal.StepSucceeded, At: at, Step: "a", Attempt: 1, Output: output},
	}))
	for _, tc := range []struct {
		name  string
		limit int
		want  journal.Status
	}{
		{"at the limit", limit, journal.StatusCompleted},
		{"one byte over", limit - 1, journal.StatusReview},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			store, err := sqlitejournal.New(ctx, ":memory:", sqlitejournal.WithMaxCommitSize(tc.limit))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			var calls atomic.Int32
			fa := func(context.Context, step.Request) (step.Result, error) {
				calls.Add(1)
				return step.Result{Output: output}, nil
			}
			e := newEngine(t, store, handlers(map[string]step.HandlerFunc{"fa": fa}), def,
				orchestrator.WithClock(func() time.Time { return at }))
			st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "big", Key: "k"})
			if err != nil {
				t.Fatal(err)
			}
			if out := driveToEnd(t, ctx, e, st.Run); out.Status != tc.want {
				t.Fatalf("Drive: %+v, want %s", out, tc.want)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("step invoked %d times, want once", n)
			}
			if tc.want == journal.StatusCompleted {
				return
			}
			_, events := load(t, store, st.Run)
			i := slices.IndexFunc(events, func(e journal.Event) bool { return e.Kind == journal.StepFailed })
			if i < 0 {
				t.Fatalf("no StepFailed journaled: %+v", events)
			}
			f := events[i].Error
			if f.Kind != step.KindTooLarge || !f.Terminal || !strings.Contains(f.Message, "step a") ||
				!strings.Contains(f.Message, fmt.Sprintf("limit %d", tc.limit)) {
				t.Errorf("failure %+v, want a terminal too-large failure naming step a and the limit", f)
			}
			if last := events[len(events)-1]; last.Kind != journal.NeedsReview {
				t.Errorf("last event %s, want NeedsReview", last.Kind)
			}
		})
	}
}

func mustEncode(t *testing.T, events []journal.Event) []byte {
	t.Helper()
	b, err := journal.EncodeEvents(events)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCommandsDoNotDrive checks that Signal, Complete, Cancel and Resubmit
// only journal and report the run as needing a drive: nothing is invoked
// and nothing scheduled until the runtime drives it.
func TestCommandsDoNotDrive(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	def := workflow.New("cmd", workflow.Key("input.id"),
		workflow.Await("go", "go"),
		workflow.Step("ask", "fask", workflow.Async(), workflow.After("go")),
		workflow.Step("check", "fcheck", workflow.After("ask"), workflow.Retry(workflow.RetryPolicy{MaxAttempts: 1})),
	).MustBuild()
	store := memjournal.New()
	var calls atomic.Int32
	var failCheck atomic.Bool
	failCheck.Store(true)
	inv := invokerFunc(func(_ context.Context, req step.Request) (step.Response, error) {
		calls.Add(1)
		if req.Step == "check" && failCheck.Load() {
			return step.Response{Error: &step.Failure{Message: "no", Terminal: true}}, nil
		}
		return step.Response{Result: step.Result{Output: json.RawMessage(`1`)}}, nil
	})
	e := newEngine(t, store, inv, def)
	// quiet checks that a command invoked nothing and scheduled nothing.
	quiet := func(what string, run string, rec orchestrator.Receipt, err error) {
		t.Helper()
		before := calls.Load()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !rec.NeedsDrive(run) {
			t.Errorf("%s: receipt %+v, want %s to need a drive", what, rec, run)
		}
		_, events := load(t, store, run)
		if last := events[len(events)-1]; last.Kind == journal.StepScheduled {
			t.Errorf("%s scheduled %s", what, last.Step)
		}
		if calls.Load() != before {
			t.Errorf("%s invoked a step", what)
		}
	}
	drive := func(run string, want journal.Status) {
		t.Helper()
		out, err := e.Drive(ctx, run)
		if err != nil || out.Status != want {
			t.Fatalf("Drive %s: %+v, %v; want %s", run, out, err, want)
		}
	}
	st, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "cmd", Input: json.RawMessage(`{"id":"1"}`)})
	quiet("Start", st.Run, st.Receipt, err)
	drive(st.Run, journal.StatusRunning)

	rec, err := e.Signal(ctx, st.Run, "go", json.RawMessage(`true`))
	quiet("Signal", st.Run, rec, err)
	drive(st.Run, journal.StatusRunning) // ask is invoked: it gets its token
	n := calls.Load()

	rec, err = e.Complete(ctx, testToken(st.Run, "ask", 1), step.Response{Result: step.Result{Output: json.RawMessage(`2`)}})
	quiet("Complete", st.Run, rec, err)
	drive(st.Run, journal.StatusReview) // check fails terminally
	if calls.Load() != n+1 {
		t.Fatalf("after Complete's drive: %d invocations, want %d", calls.Load(), n+1)
	}

	failCheck.Store(false)
	rec, err = e.Resubmit(ctx, orchestrator.Resubmission{Run: st.Run, By: "ops"})
	quiet("Resubmit", st.Run, rec, err)
	drive(st.Run, journal.StatusCompleted)

	other, err := e.Start(ctx, orchestrator.StartRequest{Workflow: "cmd", Input: json.RawMessage(`{"id":"2"}`)})
	if err != nil {
		t.Fatal(err)
	}
	drive(other.Run, journal.StatusRunning)
	rec, err = e.Cancel(ctx, other.Run, "ops", "not needed")
	quiet("Cancel", other.Run, rec, err)
	drive(other.Run, journal.StatusCancelled)
}
