package semantictest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var waitTests = []test{
	{"EventDelivered", testEventDelivered},
	{"SignalsInQuickSuccession", testSignalsInQuickSuccession},
	{"EventBeforeStep", testEventBeforeStep},
	{"EventTimeout", testEventTimeout},
	{"AsyncComplete", testAsyncComplete},
	{"AsyncTerminal", testAsyncTerminal},
	{"AsyncHeartbeat", testAsyncHeartbeat},
	{"AsyncRetryNewToken", testAsyncRetry},
	{"AsyncHeartbeatWithoutTimeout", testAsyncHeartbeatNoTimeout},
	{"EventAfterTimeoutGoesToRetry", testEventAfterTimeout},
	{"TimerDuration", testTimerDuration},
	{"TimerUntil", testTimerUntil},
}

// DefineApproval defines "approval": an event step waiting for "approved"
// whose payload is the run's output. The restart tests use it too.
func (h *Harness) DefineApproval() *workflow.Definition {
	h.T.Helper()
	return h.Define(workflow.New("approval",
		workflow.Output("steps.approve.output"),
		workflow.Await("approve", "approved"),
	), `
name: approval
output: steps.approve.output
steps:
  - {name: approve, type: event, event: approved}
`)
}

func testEventDelivered(t *testing.T, h *Harness) {
	h.DefineApproval()
	run := h.Start("approval", `{}`)
	h.Scheduled(run, "approve", 1)
	h.Signal(run, "approved", `{"by": "alice"}`)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `{"by": "alice"}`)
	// Signalling a finished run is an error.
	err := h.RT.Signal(h.Ctx, run, "approved", json.RawMessage(`2`))
	if !errors.Is(err, orchestrator.ErrFinished) {
		t.Errorf("signal a completed run: %v, want ErrFinished", err)
	}
}

// testSignalsInQuickSuccession delivers an event of another name, then the
// awaited one at once, while the run may still be driven for the first.
func testSignalsInQuickSuccession(t *testing.T, h *Harness) {
	h.DefineApproval()
	run := h.Start("approval", `{}`)
	h.Scheduled(run, "approve", 1)
	h.Signal(run, "unrelated", `1`)
	h.Signal(run, "approved", `{"by": "bob"}`)
	h.WaitWithin(run, journal.StatusCompleted, 5*time.Second)
	jsonEq(t, "output", h.Output(run), `{"by": "bob"}`)
}

func testEventBeforeStep(t *testing.T, h *Harness) {
	release := make(chan struct{})
	h.Func("gate", func(ctx context.Context, req step.Request) (step.Result, error) {
		return out("open"), block(ctx, release)
	})
	h.Define(workflow.New("early",
		workflow.Output(`[steps.first.output, steps.second.output]`),
		workflow.Step("gate", "gate"),
		workflow.Await("first", "go", workflow.After("gate")),
		workflow.Await("second", "go", workflow.After("first")),
	), `
name: early
output: '[steps.first.output, steps.second.output]'
steps:
  - {name: gate, function: gate}
  - {name: first, type: event, event: go, after: [gate]}
  - {name: second, type: event, event: go, after: [first]}
`)
	run := h.Start("early", `{}`)
	h.Scheduled(run, "gate", 1)
	// Both events arrive before either step starts: they are buffered and
	// consumed one per step, in arrival order.
	h.Signal(run, "go", `"one"`)
	h.Signal(run, "go", `"two"`)
	close(release)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `["one", "two"]`)
}

func testEventTimeout(t *testing.T, h *Harness) {
	h.Define(workflow.New("event-timeout",
		workflow.Await("approve", "approved", workflow.Timeout(30*ms),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(ms)})),
	), `
name: event-timeout
steps:
  - name: approve
    type: event
    event: approved
    timeout: 30ms
    retry: {maxAttempts: 2, initialInterval: 1ms}
`)
	run := h.Start("event-timeout", `{}`)
	h.Wait(run, journal.StatusReview)
	S := func(n int) attempt { return attempt{Kind: journal.StepScheduled, Step: "approve", Attempt: n} }
	F := func(n int) attempt {
		return attempt{Kind: journal.StepFailed, Step: "approve", Attempt: n, ErrKind: "timeout"}
	}
	want := []attempt{S(1), F(1), {Kind: journal.RetryScheduled, Step: "approve", Attempt: 2}, S(2), F(2)}
	if diff := cmp.Diff(attempts(h.Events(run), "approve"), want); diff != "" {
		h.Dump(run)
		t.Errorf("attempts (-got +want):\n%s", diff)
	}
}

// DefineAsync defines "async": an async task step "ask" (function "ask",
// which hands its token to tokens) with timeout, and registers ask.
func (h *Harness) DefineAsync(timeout time.Duration, tokens chan<- string) *workflow.Definition {
	h.T.Helper()
	h.Func("ask", func(ctx context.Context, req step.Request) (step.Result, error) {
		if req.Token == "" {
			return step.Result{}, step.Terminal(errors.New("no token"))
		}
		select {
		case tokens <- req.Token:
		default: // a re-invocation after a restart: the token is known
		}
		return step.Result{}, nil
	})
	yaml := `
name: async
output: steps.ask.output
steps:
  - {name: ask, function: ask, async: true, timeout: ` + timeout.String() + `, retry: {maxAttempts: 1}}
`
	return h.Define(workflow.New("async",
		workflow.Output("steps.ask.output"),
		workflow.Step("ask", "ask", workflow.Async(), workflow.Timeout(timeout), workflow.Retry(workflow.RetryPolicy{MaxAttempts: 1})),
	), yaml)
}

func recv(h *Harness, ch <-chan string) string {
	h.T.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(patience):
		h.T.Fatal("no token")
		return ""
	}
}

func testAsyncComplete(t *testing.T, h *Harness) {
	tokens := make(chan string, 4)
	h.DefineAsync(time.Minute, tokens)
	run := h.Start("async", `{}`)
	token := recv(h, tokens)
	if c, err := CallbackKeys.Verify(token); err != nil || c.Run != run || c.Step != "ask" || c.Attempt != 1 {
		t.Errorf("token names %+v (%v), want %s ask 1", c, err, run)
	}
	// The run waits for the callback: its invocation's return finishes nothing.
	if h.Head(run).Status.Terminal() {
		t.Fatal("the run finished before its token was completed")
	}
	// A completion carries an output only: a state patch is refused.
	err := h.RT.Complete(h.Ctx, token, step.Response{Result: step.Result{
		Output: json.RawMessage(`{"approved": true}`), State: json.RawMessage(`{"seen": 1}`)}})
	if !errors.Is(err, orchestrator.ErrBadInput) {
		t.Fatalf("complete with a state patch: %v, want ErrBadInput", err)
	}
	err = h.RT.Complete(h.Ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`{"approved": true}`)}})
	if err != nil {
		t.Fatal(err)
	}
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `{"approved": true}`)
	// A stale token: its attempt no longer waits.
	err = h.RT.Complete(h.Ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`1`)}})
	if !errors.Is(err, orchestrator.ErrNotAwaited) {
		t.Errorf("complete a stale token: %v, want ErrNotAwaited", err)
	}
	if err := h.RT.Engine.Heartbeat(h.Ctx, token); !errors.Is(err, orchestrator.ErrNotAwaited) {
		t.Errorf("heartbeat a stale token: %v, want ErrNotAwaited", err)
	}
	if err := h.RT.Complete(h.Ctx, "not a token", step.Response{}); !errors.Is(err, orchestrator.ErrBadInput) {
		t.Errorf("complete a malformed token: %v, want ErrBadInput", err)
	}
}

func testAsyncTerminal(t *testing.T, h *Harness) {
	tokens := make(chan string, 4)
	h.DefineAsync(time.Minute, tokens)
	run := h.Start("async", `{}`)
	token := recv(h, tokens)
	err := h.RT.Complete(h.Ctx, token, step.Response{Error: &step.Failure{Message: "rejected by a human", Kind: "rejected", Terminal: true}})
	if err != nil {
		t.Fatal(err)
	}
	h.Wait(run, journal.StatusReview)
	r := filter(h.Events(run), func(e journal.Event) bool { return e.Kind == journal.NeedsReview })
	if len(r) != 1 || r[0].Error == nil || r[0].Error.Message != "rejected by a human" || !r[0].Error.Terminal {
		h.Dump(run)
		t.Errorf("review = %+v, want the terminal callback error", r)
	}
}

func testAsyncHeartbeat(t *testing.T, h *Harness) {
	// Long enough that a heartbeat on a loaded machine (a journal append
	// on DynamoDB Local behind a busy CPU) reaches the engine before the
	// attempt's lease ends: at 300 ms it sometimes did not.
	const timeout = time.Second
	tokens := make(chan string, 4)
	h.DefineAsync(timeout, tokens)

	t.Run("WithoutHeartbeatTimesOut", func(t *testing.T) {
		h := h.With(t)
		run := h.Start("async", `{"n": 1}`)
		recv(h, tokens)
		h.Wait(run, journal.StatusReview)
		f := filter(h.Events(run), func(e journal.Event) bool { return e.Kind == journal.StepFailed })
		if len(f) != 1 || f[0].Error == nil || f[0].Error.Kind != "timeout" {
			h.Dump(run)
			t.Errorf("failures %+v, want one timeout", f)
		}
	})
	t.Run("HeartbeatsKeepItAlive", func(t *testing.T) {
		h := h.With(t)
		run := h.Start("async", `{"n": 2}`)
		token := recv(h, tokens)
		// Heartbeat for three timeouts' worth, then complete.
		start := time.Now()
		for time.Since(start) < 3*timeout {
			if err := h.RT.Engine.Heartbeat(h.Ctx, token); err != nil {
				h.Dump(run)
				t.Fatalf("heartbeat after %s: %v", time.Since(start), err)
			}
			time.Sleep(timeout / 6)
		}
		if err := h.RT.Complete(h.Ctx, token, step.Response{Result: step.Result{Output: json.RawMessage(`"late but alive"`)}}); err != nil {
			h.Dump(run)
			t.Fatal(err)
		}
		h.Wait(run, journal.StatusCompleted)
		jsonEq(t, "output", h.Output(run), `"late but alive"`)
	})
}

func testTimerDuration(t *testing.T, h *Harness) {
	h.Define(workflow.New("nap",
		workflow.Wait("nap", 80*ms),
		workflow.Pass("after", "true", workflow.After("nap")),
	), `
name: nap
steps:
  - {name: nap, type: wait, duration: 80ms}
  - {name: after, type: pass, after: [nap], output: "true"}
`)
	start := time.Now()
	run := h.Start("nap", `{}`)
	h.Wait(run, journal.StatusCompleted)
	if el := time.Since(start); el < 80*ms {
		t.Errorf("completed after %s, before the timer", el)
	}
	checkTimer(t, h, run, 80*ms, time.Time{})
}

// checkTimer checks the journal of a run whose step nap waited: a timer
// of length d (or due at due), fired no earlier than due.
func checkTimer(t *testing.T, h *Harness, run string, d time.Duration, due time.Time) {
	t.Helper()
	events := h.Events(run)
	started := filter(events, func(e journal.Event) bool { return e.Kind == journal.TimerStarted && e.Step == "nap" })
	fired := filter(events, func(e journal.Event) bool { return e.Kind == journal.TimerFired && e.Step == "nap" })
	if len(started) != 1 || len(fired) != 1 {
		h.Dump(run)
		t.Fatalf("%d TimerStarted, %d TimerFired, want 1 each", len(started), len(fired))
	}
	if d > 0 && started[0].Due.Sub(started[0].At) != d {
		t.Errorf("timer of %s, want %s", started[0].Due.Sub(started[0].At), d)
	}
	if !due.IsZero() && !started[0].Due.Equal(due) {
		t.Errorf("timer due %s, want %s", started[0].Due, due)
	}
	if fired[0].At.Before(started[0].Due) {
		t.Errorf("timer fired at %s, before it was due at %s", fired[0].At, started[0].Due)
	}
}

func testTimerUntil(t *testing.T, h *Harness) {
	h.Define(workflow.New("until",
		workflow.Wait("nap", 0, workflow.Until("timestamp(input.at)")),
	), `
name: until
steps:
  - {name: nap, type: wait, until: timestamp(input.at)}
`)
	at := time.Now().Add(120 * ms).UTC().Truncate(time.Millisecond)
	run := h.Start("until", `{"at": "`+at.Format(time.RFC3339Nano)+`"}`)
	h.Wait(run, journal.StatusCompleted)
	if now := time.Now(); now.Before(at) {
		t.Errorf("completed at %s, before %s", now, at)
	}
	checkTimer(t, h, run, 0, at)
	// A time in the past fires at once.
	run = h.Start("until", `{"at": "2001-01-01T00:00:00Z"}`)
	h.Wait(run, journal.StatusCompleted)
	if s := strings.TrimSpace(h.Output(run)); s == "" {
		t.Error("no output")
	}
}

func testAsyncRetry(t *testing.T, h *Harness) {
	tokens := make(chan string, 4)
	h.Func("ask", func(ctx context.Context, req step.Request) (step.Result, error) {
		tokens <- req.Token
		return step.Result{}, nil
	})
	h.Define(workflow.New("async-retry",
		workflow.Output("steps.ask.output"),
		workflow.Step("ask", "ask", workflow.Async(), workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(ms)})),
	), `
name: async-retry
output: steps.ask.output
steps:
  - {name: ask, function: ask, async: true, retry: {maxAttempts: 2, initialInterval: 1ms}}
`)
	run := h.Start("async-retry", `{}`)
	first := recv(h, tokens)
	if err := h.RT.Complete(h.Ctx, first, step.Response{Error: &step.Failure{Message: "try again"}}); err != nil {
		t.Fatal(err)
	}
	second := recv(h, tokens)
	if second == first {
		t.Fatal("the retry got the first attempt's token")
	}
	if err := h.RT.Complete(h.Ctx, first, step.Response{}); !errors.Is(err, orchestrator.ErrNotAwaited) {
		t.Errorf("complete the failed attempt's token: %v, want ErrNotAwaited", err)
	}
	if err := h.RT.Complete(h.Ctx, second, step.Response{Result: step.Result{Output: json.RawMessage(`2`)}}); err != nil {
		t.Fatal(err)
	}
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `2`)
}

// testAsyncHeartbeatNoTimeout heartbeats an async step that has no
// timeout: there is nothing to extend, and nothing wrong either.
func testAsyncHeartbeatNoTimeout(t *testing.T, h *Harness) {
	tokens := make(chan string, 4)
	h.Func("ask", func(ctx context.Context, req step.Request) (step.Result, error) {
		tokens <- req.Token
		return step.Result{}, nil
	})
	h.Define(workflow.New("async-forever", workflow.Step("ask", "ask", workflow.Async())), `
name: async-forever
steps: [{name: ask, function: ask, async: true}]
`)
	run := h.Start("async-forever", `{}`)
	token := recv(h, tokens)
	if err := h.RT.Engine.Heartbeat(h.Ctx, token); err != nil {
		t.Errorf("heartbeat an async step without timeout: %v, want nil", err)
	}
	if err := h.RT.Complete(h.Ctx, token, step.Response{}); err != nil {
		t.Fatal(err)
	}
	h.Wait(run, journal.StatusCompleted)
}

// testEventAfterTimeout delivers the event after the first attempt timed
// out: the retry consumes it.
func testEventAfterTimeout(t *testing.T, h *Harness) {
	h.Define(workflow.New("event-late",
		workflow.Output("steps.approve.output"),
		workflow.Await("approve", "approved", workflow.Timeout(30*ms),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(200 * ms)})),
	), `
name: event-late
output: steps.approve.output
steps:
  - {name: approve, type: event, event: approved, timeout: 30ms, retry: {maxAttempts: 2, initialInterval: 200ms}}
`)
	run := h.Start("event-late", `{}`)
	h.Await(run, "the first attempt's timeout", func(e journal.Event) bool { return e.Kind == journal.RetryScheduled })
	h.Signal(run, "approved", `"late"`)
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `"late"`)
}
