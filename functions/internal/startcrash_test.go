package internal

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var errCrashed = errors.New("the process crashed here")

// dyingStore is a container's journal that dies once its first append has
// landed: that append succeeds, everything after it fails.
type dyingStore struct {
	journal.Store
	dead *atomic.Bool
}

func (s dyingStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	if s.dead.Load() {
		return 0, errCrashed
	}
	seq, err := s.Store.Append(ctx, c)
	s.dead.Store(true)
	return seq, err
}

func (s dyingStore) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	if s.dead.Load() {
		return journal.Run{}, nil, errCrashed
	}
	return s.Store.Load(ctx, run)
}

func (s dyingStore) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	if s.dead.Load() {
		return nil, errCrashed
	}
	return s.Store.Since(ctx, run, after)
}

// deadInvoker invokes nothing once its process is dead.
type deadInvoker struct {
	orchestrator.Invoker
	dead *atomic.Bool
}

func (i deadInvoker) Invoke(ctx context.Context, req step.Request) (step.Response, error) {
	if i.dead.Load() {
		return step.Response{}, errCrashed
	}
	return i.Invoker.Invoke(ctx, req)
}

// TestTriggerStartCrashBeforeInvoke: a container journals a trigger's run
// with its first decision (the first attempt under its lease) and dies
// before invoking it. The redelivered trigger, in another container, finds
// the attempt under that lease and invokes nothing: it hands the run on
// to the lease's end, and the drive then reissues the attempt. Each step
// runs once; none is lost.
func TestTriggerStartCrashBeforeInvoke(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	calls := map[string]int{}
	reg := step.NewRegistry()
	reg.Register("count", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		req, _ := step.RequestFrom(ctx)
		mu.Lock()
		calls[req.Step]++
		mu.Unlock()
		return in, nil
	}))
	def := workflow.New("greet", workflow.Key("input.id"),
		workflow.DefaultRetryPolicy(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Second)}),
		workflow.Step("a", "count", workflow.Timeout(time.Minute)), workflow.Step("b", "count", workflow.After("a"))).MustBuild()
	store := memjournal.New()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	container := func(s journal.Store, inv orchestrator.Invoker, q *fakeSQS) *Orchestrator {
		eng := orchestrator.New(s, inv, orchestrator.WithLogger(log), orchestrator.WithClock(now))
		if err := eng.Register(ctx, def); err != nil {
			t.Fatal(err)
		}
		o := NewOrchestrator(eng, NewContinuations(q, "orch"), "ordo-", log)
		o.now = now
		return o
	}
	var dead atomic.Bool
	crashing := container(dyingStore{store, &dead}, deadInvoker{embedded.Invoker{Registry: reg}, &dead}, &fakeSQS{})
	q := &fakeSQS{}
	live := container(store, embedded.Invoker{Registry: reg}, q)

	trigger := sqsRecord("m1", `{"workflow":"greet","input":{"id":"g1"}}`)
	if resp := crashing.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{trigger}}); len(resp.BatchItemFailures) != 1 {
		t.Fatalf("the crashing container acknowledged the trigger: %+v", resp)
	}
	_, evs, err := store.Load(ctx, "greet/g1")
	if err != nil || len(evs) != 2 || evs[1].Kind != journal.StepScheduled || evs[1].Step != "a" || evs[1].Seq != 1 {
		t.Fatalf("journal after the crash: %+v %v, want RunStarted and a scheduled in commit 1", evs, err)
	}
	// The trigger comes back (visibility timeout) to the live container.
	if resp := live.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{trigger}}); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivered trigger failed: %+v", resp)
	}
	if len(calls) != 0 || len(q.delays) != 1 || q.delays[0] < 75 {
		t.Fatalf("redelivery: invoked %v, continuations delayed %v s; want nothing invoked under the lease, one continuation at its end (75 s)", calls, q.delays)
	}
	// Continuations, each when due, until the run settles.
	for i := 0; ; i++ {
		head, _, err := store.Load(ctx, "greet/g1")
		if err == nil && head.Status.Terminal() {
			if head.Status != journal.StatusCompleted {
				t.Fatalf("run %s", head.Status)
			}
			break
		}
		if i == 10 || len(q.bodies) == 0 {
			t.Fatalf("run not settled after %d continuations (%+v %v)", i, head, err)
		}
		q.mu.Lock()
		body, delay := q.bodies[0], q.delays[0]
		q.bodies, q.delays = q.bodies[1:], q.delays[1:]
		q.mu.Unlock()
		if !strings.Contains(body, `"ordo":"continue"`) {
			continue
		}
		clock.Add(int64(time.Duration(delay) * time.Second))
		if resp := live.HandleSQS(ctx, events.SQSEvent{Records: []events.SQSMessage{orchestratorRecord("c"+strconv.Itoa(i), body)}}); len(resp.BatchItemFailures) != 0 {
			t.Fatalf("continuation failed: %+v", resp)
		}
	}
	if diff := cmp.Diff(calls, map[string]int{"a": 1, "b": 1}); diff != "" {
		t.Errorf("invocations per step (-got +want):\n%s", diff)
	}
}
