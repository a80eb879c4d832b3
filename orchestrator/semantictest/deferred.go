package semantictest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var deferredTests = []test{
	{"ArrivalOrderAfterEachEnd", testDeferredOrder},
	{"CancelQueuedRun", testDeferredCancelQueued},
	{"ConcurrentStarts", testDeferredConcurrent},
	{"ReleasedBeforeCreated", testDeferredReleasedBeforeCreated},
	{"QueueIsNotARun", testDeferredQueueIsNotARun},
}

// DefineDeferred defines "deferred": one active run per input.account; a
// run waits for the event "go" and fails if its payload says so.
func (h *Harness) DefineDeferred() *workflow.Definition {
	h.T.Helper()
	return h.Define(workflow.New("deferred",
		workflow.Key("input.id"),
		workflow.DeferredBy("input.account"),
		workflow.OnFailure(workflow.OnFailureCompensate),
		workflow.Await("hold", "go"),
		workflow.Fail("fail", "asked to fail", workflow.After("hold"), workflow.When("steps.hold.output.fail")),
	), `
name: deferred
key: input.id
deferredKey: input.account
onFailure: compensate
steps:
  - {name: hold, type: event, event: go}
  - {name: fail, type: fail, after: [hold], when: steps.hold.output.fail, message: asked to fail}
`)
}

// active fails unless run holds its key (it reached its hold step) and
// each of waiting is still deferred.
func (h *Harness) active(run string, waiting ...string) {
	h.T.Helper()
	h.Scheduled(run, "hold", 1)
	for _, w := range waiting {
		if s := h.Head(w).Status; s != journal.StatusDeferred || count(h.Events(w), journal.StepScheduled, "") > 0 {
			h.Dump(w)
			h.T.Fatalf("%s is %s while %s holds the key, want deferred with no step started", w, s, run)
		}
	}
}

func testDeferredOrder(t *testing.T, h *Harness) {
	h.DefineDeferred()
	var runs []string
	for i := 1; i <= 4; i++ {
		st := h.StartStatus("deferred", fmt.Sprintf(`{"id": "r%d", "account": "A"}`, i))
		want := journal.StatusDeferred
		if i == 1 {
			want = journal.StatusRunning
		}
		if st.Status != want || !st.Created {
			t.Fatalf("start r%d: %+v, want created %s", i, st, want)
		}
		runs = append(runs, st.Run)
	}
	other := h.Start("deferred", `{"id": "b1", "account": "B"}`)
	// Another key runs alongside.
	h.active(other)
	h.active(runs[0], runs[1:]...)

	h.Signal(runs[0], "go", `{"fail": false}`) // r1 completes
	h.Wait(runs[0], journal.StatusCompleted)
	h.active(runs[1], runs[2:]...)

	h.Cancel(runs[1]) // r2 is cancelled
	h.Wait(runs[1], journal.StatusCancelled)
	h.active(runs[2], runs[3:]...)

	h.Signal(runs[2], "go", `{"fail": true}`) // r3 fails
	h.Wait(runs[2], journal.StatusFailed)
	h.active(runs[3])

	h.Signal(runs[3], "go", `{"fail": false}`)
	h.Wait(runs[3], journal.StatusCompleted)
	h.Signal(other, "go", `{"fail": false}`)
	h.Wait(other, journal.StatusCompleted)

	// A queued run's journal says it was deferred, then released.
	var kinds []journal.Kind
	for _, e := range h.Events(runs[1]) {
		if e.Kind == journal.Deferred || e.Kind == journal.Released {
			kinds = append(kinds, e.Kind)
		}
	}
	if fmt.Sprint(kinds) != "[Deferred Released]" {
		t.Errorf("r2's queue events %v, want [Deferred Released]", kinds)
	}
}

// testDeferredCancelQueued cancels a run while it is still queued: the
// runs behind it must not wait forever.
func testDeferredCancelQueued(t *testing.T, h *Harness) {
	h.DefineDeferred()
	r1 := h.Start("deferred", `{"id": "q1", "account": "A"}`)
	r2 := h.Start("deferred", `{"id": "q2", "account": "A"}`)
	r3 := h.Start("deferred", `{"id": "q3", "account": "A"}`)
	h.active(r1, r2, r3)
	h.Cancel(r2)
	h.Wait(r2, journal.StatusCancelled)
	h.Signal(r1, "go", `{"fail": false}`)
	h.Wait(r1, journal.StatusCompleted)
	h.Patience = 5 * time.Second
	defer func() {
		if t.Failed() {
			h.dumpQueue(orchestrator.QueueStream("deferred", "A"))
		}
	}()
	h.active(r3)
	if n := count(h.Events(r2), journal.StepScheduled, ""); n != 0 {
		t.Errorf("the cancelled queued run started %d steps", n)
	}
	h.Signal(r3, "go", `{"fail": false}`)
	h.Wait(r3, journal.StatusCompleted)
}

func testDeferredConcurrent(t *testing.T, h *Harness) {
	var inside, peak, calls atomic.Int64
	h.Func("exclusive", func(ctx context.Context, req step.Request) (step.Result, error) {
		calls.Add(1)
		n := inside.Add(1)
		defer inside.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond) // widen the window an overlap would show in
		return out(req.Run), nil
	})
	h.Define(workflow.New("serial",
		workflow.DeferredBy("input.account"),
		workflow.Step("work", "exclusive"),
	), `
name: serial
deferredKey: input.account
steps: [{name: work, function: exclusive}]
`)
	const n = 10
	runs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, err := h.RT.Start(h.Ctx, orchestrator.StartRequest{Workflow: "serial",
				Input: []byte(fmt.Sprintf(`{"account": "same", "i": %d}`, i))})
			runs[i], errs[i] = st.Run, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	defer func() {
		if t.Failed() {
			h.dumpQueue(orchestrator.QueueStream("serial", "same"))
		}
	}()
	for _, run := range runs {
		h.Wait(run, journal.StatusCompleted)
	}
	if p := peak.Load(); p != 1 {
		t.Errorf("%d runs of one deferred key were active at once, want 1", p)
	}
	if c := calls.Load(); c != n {
		t.Errorf("the step ran %d times, want %d", c, n)
	}
}

// streamStore is a journal with internal streams, as deferred runs need.
type streamStore interface {
	journal.Store
	journal.Streams
}

// gatedStore holds the first commit of one run until gate closes.
type gatedStore struct {
	streamStore
	run  string
	gate chan struct{}
}

func (s *gatedStore) Append(ctx context.Context, c journal.Commit) (int64, error) {
	if c.Run == s.run && c.After == 0 {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return s.streamStore.Append(ctx, c)
}

// testDeferredReleasedBeforeCreated lets the active run end after a second
// run took its place in the queue but before that run's first commit is
// written (a slow start): the second run must still get the key.
func testDeferredReleasedBeforeCreated(t *testing.T, h *Harness) {
	streams, ok := h.Store.(streamStore)
	if !ok {
		t.Fatalf("%T has no internal streams (journal.Streams)", h.Store)
	}
	gated := &gatedStore{streamStore: streams, run: "deferred/slow", gate: make(chan struct{})}
	h.RT.Close()
	h = h.on(t, gated)
	h.DefineDeferred()
	r1 := h.Start("deferred", `{"id": "first", "account": "A"}`)
	h.Scheduled(r1, "hold", 1)
	queue := orchestrator.QueueStream("deferred", "A")
	started := make(chan error, 1)
	go func() {
		_, err := h.RT.Start(h.Ctx, orchestrator.StartRequest{Workflow: "deferred", Input: []byte(`{"id": "slow", "account": "A"}`)})
		started <- err
	}()
	h.awaitQueue(queue, "slow queued", func(e journal.Event) bool { return e.Kind == journal.Deferred && e.Child == "deferred/slow" })
	h.Signal(r1, "go", `{"fail": false}`)
	h.Wait(r1, journal.StatusCompleted)
	h.awaitQueue(queue, "slow acquires the key", func(e journal.Event) bool { return e.Kind == journal.Acquired && e.Child == "deferred/slow" })
	close(gated.gate) // now the slow start writes its first commit
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	h.Patience = 5 * time.Second
	defer func() {
		if t.Failed() {
			h.Dump(queue)
		}
	}()
	h.Scheduled("deferred/slow", "hold", 1)
	h.Signal("deferred/slow", "go", `{"fail": false}`)
	h.Wait("deferred/slow", journal.StatusCompleted)
}

// readQueue returns the events of a deferral queue stream.
func (h *Harness) readQueue(queue string) ([]journal.Event, error) {
	streams, ok := h.Store.(journal.Streams)
	if !ok {
		return nil, fmt.Errorf("%T has no internal streams (journal.Streams)", h.Store)
	}
	return streams.ReadStream(context.WithoutCancel(h.Ctx), queue)
}

// dumpQueue logs a deferral queue stream.
func (h *Harness) dumpQueue(queue string) {
	events, err := h.readQueue(queue)
	if err != nil {
		h.T.Logf("read %s: %v", queue, err)
		return
	}
	h.T.Logf("deferral queue %s:", queue)
	for _, e := range events {
		h.T.Logf("  %3d %-10s %s", e.Seq, e.Kind, e.Child)
	}
}

// awaitQueue polls a deferral queue stream until an event matches.
func (h *Harness) awaitQueue(queue, what string, match func(journal.Event) bool) {
	h.T.Helper()
	defer func() {
		if h.T.Failed() {
			h.dumpQueue(queue)
		}
	}()
	h.Eventually(queue+": "+what, func() bool {
		events, err := h.readQueue(queue)
		for _, e := range events {
			if err == nil && match(e) {
				return true
			}
		}
		return false
	})
}

// testDeferredQueueIsNotARun checks that a deferral queue stays out of the
// runs: listings show the deferred runs only, and the queue's name loads
// no run.
func testDeferredQueueIsNotARun(t *testing.T, h *Harness) {
	h.DefineDeferred()
	r1 := h.Start("deferred", `{"id": "n1", "account": "A"}`)
	r2 := h.Start("deferred", `{"id": "n2", "account": "A"}`)
	queue := orchestrator.QueueStream("deferred", "A")
	h.awaitQueue(queue, "n2 queued", func(e journal.Event) bool { return e.Kind == journal.Deferred && e.Child == r2 })
	h.Eventually("runs listed", func() bool {
		runs, _, err := h.Store.Runs(h.Ctx, journal.Query{})
		if err != nil {
			return false
		}
		got := map[string]bool{}
		for _, r := range runs {
			got[r.ID] = true
		}
		if len(runs) > 2 {
			t.Fatalf("runs listed: %v; want %s and %s only", got, r1, r2)
		}
		return got[r1] && got[r2]
	})
	if _, _, err := h.Store.Load(h.Ctx, queue); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Load(%s): %v, want ErrNotFound", queue, err)
	}
	holder, q, err := h.RT.Engine.Holder(h.Ctx, r2)
	if err != nil || holder != r1 || q != queue {
		t.Errorf("Holder(%s): %q %q %v; want %s in %s", r2, holder, q, err, r1, queue)
	}
	if holder, _, err := h.RT.Engine.Holder(h.Ctx, r1); err != nil || holder != "" {
		t.Errorf("Holder(%s), the active run: %q %v; want none", r1, holder, err)
	}
}
