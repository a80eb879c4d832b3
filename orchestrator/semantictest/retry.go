package semantictest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var retryTests = []test{
	{"Policy", testRetryPolicy},
	{"Jitter", testRetryJitter},
	{"StepTimeout", testStepTimeout},
	{"RunTimeout", testRunTimeout},
}

const ms = time.Millisecond

// flaky fails its first input.fails attempts with an error of input.mode.
func registerFlaky(h *Harness) {
	h.Func("flaky", func(ctx context.Context, req step.Request) (step.Result, error) {
		in := decode[struct {
			Fails int    `json:"fails"`
			Mode  string `json:"mode"`
		}](req)
		if req.Attempt <= in.Fails {
			err := fmt.Errorf("boom %d", req.Attempt)
			switch in.Mode {
			case "kind":
				err = step.Kind("fatal", err)
			case "terminal":
				err = step.Terminal(err)
			}
			return step.Result{}, err
		}
		return out(map[string]int{"attempt": req.Attempt}), nil
	})
}

func testRetryPolicy(t *testing.T, h *Harness) {
	registerFlaky(h)
	h.Define(workflow.New("retry",
		workflow.Output("steps.flaky.output"),
		workflow.Step("flaky", "flaky", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 4,
			InitialInterval: workflow.Duration(10 * ms), BackoffCoefficient: 2,
			MaxInterval: workflow.Duration(25 * ms), NonRetryable: []string{"fatal"}})),
	), `
name: retry
output: steps.flaky.output
steps:
  - name: flaky
    function: flaky
    retry:
      maxAttempts: 4
      initialInterval: 10ms
      backoffCoefficient: 2
      maxInterval: 25ms
      nonRetryable: [fatal]
`)
	S, F, R, OK := journal.StepScheduled, journal.StepFailed, journal.RetryScheduled, journal.StepSucceeded
	a := func(k journal.Kind, n int) attempt { return attempt{Kind: k, Step: "flaky", Attempt: n} }
	for _, tc := range []struct {
		name, input string
		status      journal.Status
		attempts    []attempt
		delays      []time.Duration // RetryScheduled.Due - At
		lastError   string          // of the review
		errKind     string
	}{
		{"RecoversAfterTwoFailures", `{"fails": 2}`, journal.StatusCompleted,
			[]attempt{a(S, 1), a(F, 1), a(R, 2), a(S, 2), a(F, 2), a(R, 3), a(S, 3), a(OK, 3)},
			[]time.Duration{10 * ms, 20 * ms}, "", ""},
		{"ExhaustedGoesToReviewWithLastError", `{"fails": 99}`, journal.StatusReview,
			[]attempt{a(S, 1), a(F, 1), a(R, 2), a(S, 2), a(F, 2), a(R, 3), a(S, 3), a(F, 3), a(R, 4), a(S, 4), a(F, 4)},
			[]time.Duration{10 * ms, 20 * ms, 25 * ms}, "boom 4", ""},
		{"NonRetryableKind", `{"fails": 99, "mode": "kind"}`, journal.StatusReview,
			[]attempt{a(S, 1), {Kind: F, Step: "flaky", Attempt: 1, ErrKind: "fatal"}}, nil, "boom 1", "fatal"},
		{"Terminal", `{"fails": 99, "mode": "terminal"}`, journal.StatusReview,
			[]attempt{a(S, 1), a(F, 1)}, nil, "boom 1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			run := h.Start("retry", tc.input)
			h.Wait(run, tc.status)
			events := h.Events(run)
			if diff := cmp.Diff(attempts(events, "flaky"), tc.attempts); diff != "" {
				h.Dump(run)
				t.Errorf("attempts (-got +want):\n%s", diff)
			}
			var delays []time.Duration
			for _, e := range filter(events, func(e journal.Event) bool { return e.Kind == R }) {
				delays = append(delays, e.Due.Sub(e.At))
				if e.Error == nil {
					t.Errorf("RetryScheduled attempt %d carries no error", e.Attempt)
				}
			}
			if diff := cmp.Diff(delays, tc.delays); diff != "" {
				t.Errorf("retry delays (-got +want):\n%s", diff)
			}
			if tc.status == journal.StatusCompleted {
				jsonEq(t, "output", h.Output(run), `{"attempt": 3}`)
				return
			}
			reviews := filter(events, func(e journal.Event) bool { return e.Kind == journal.NeedsReview })
			if len(reviews) != 1 {
				t.Fatalf("%d NeedsReview events, want 1", len(reviews))
			}
			r := reviews[0]
			if r.Error == nil || r.Error.Message != tc.lastError || r.Error.Kind != tc.errKind {
				t.Errorf("review error = %+v, want message %q kind %q", r.Error, tc.lastError, tc.errKind)
			}
			if r.Step != "flaky" || !strings.Contains(r.Reason, tc.lastError) {
				t.Errorf("review step %q reason %q, want step flaky and a reason naming %q", r.Step, r.Reason, tc.lastError)
			}
		})
	}
}

func testRetryJitter(t *testing.T, h *Harness) {
	registerFlaky(h)
	h.Define(workflow.New("jitter",
		workflow.Step("flaky", "flaky", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 5,
			InitialInterval: workflow.Duration(8 * ms), BackoffCoefficient: 3, MaxInterval: workflow.Duration(50 * ms), Jitter: true})),
	), `
name: jitter
steps:
  - {name: flaky, function: flaky, retry: {maxAttempts: 5, initialInterval: 8ms, backoffCoefficient: 3, maxInterval: 50ms, jitter: true}}
`)
	run := h.Start("jitter", `{"fails": 4}`)
	h.Wait(run, journal.StatusCompleted)
	nominal := []time.Duration{8 * ms, 24 * ms, 50 * ms, 50 * ms}
	retries := filter(h.Events(run), func(e journal.Event) bool { return e.Kind == journal.RetryScheduled })
	if len(retries) != len(nominal) {
		h.Dump(run)
		t.Fatalf("%d retries, want %d", len(retries), len(nominal))
	}
	same := 0
	for i, e := range retries {
		d := e.Due.Sub(e.At)
		if d < 0 || d > nominal[i] {
			t.Errorf("retry %d delayed %s, want within [0, %s]", i+1, d, nominal[i])
		}
		if d == nominal[i] {
			same++
		}
	}
	if same == len(nominal) {
		t.Errorf("jitter changed no delay")
	}
}

func testStepTimeout(t *testing.T, h *Harness) {
	// slow blocks past its timeout on its first input.hang attempts.
	h.Func("slow", func(ctx context.Context, req step.Request) (step.Result, error) {
		in := decode[struct {
			Hang int `json:"hang"`
		}](req)
		if req.Attempt <= in.Hang {
			<-ctx.Done() // the step's timeout cancels it
			return step.Result{}, ctx.Err()
		}
		return out("done"), nil
	})
	h.Define(workflow.New("timeout",
		workflow.Step("slow", "slow", workflow.Timeout(40*ms),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(ms)})),
	), `
name: timeout
steps:
  - name: slow
    function: slow
    timeout: 40ms
    retry: {maxAttempts: 2, initialInterval: 1ms}
`)
	F := func(n int) attempt {
		return attempt{Kind: journal.StepFailed, Step: "slow", Attempt: n, ErrKind: "timeout"}
	}
	S := func(n int) attempt { return attempt{Kind: journal.StepScheduled, Step: "slow", Attempt: n} }
	R := func(n int) attempt { return attempt{Kind: journal.RetryScheduled, Step: "slow", Attempt: n} }
	for _, tc := range []struct {
		name, input string
		status      journal.Status
		want        []attempt
	}{
		{"RetriedAfterTimeout", `{"hang": 1}`, journal.StatusCompleted,
			[]attempt{S(1), F(1), R(2), S(2), {Kind: journal.StepSucceeded, Step: "slow", Attempt: 2}}},
		{"TimeoutsExhaustRetries", `{"hang": 9}`, journal.StatusReview, []attempt{S(1), F(1), R(2), S(2), F(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.With(t)
			run := h.Start("timeout", tc.input)
			h.Wait(run, tc.status)
			if diff := cmp.Diff(attempts(h.Events(run), "slow"), tc.want); diff != "" {
				h.Dump(run)
				t.Errorf("attempts (-got +want):\n%s", diff)
			}
		})
	}
}

func testRunTimeout(t *testing.T, h *Harness) {
	h.Define(workflow.New("runtimeout",
		workflow.RunTimeout(150*ms),
		workflow.Await("never", "never-sent"),
	), `
name: runtimeout
timeout: 150ms
steps:
  - {name: never, type: event, event: never-sent}
`)
	start := time.Now()
	run := h.Start("runtimeout", `{}`)
	h.Wait(run, journal.StatusReview)
	if el := time.Since(start); el < 150*ms {
		t.Errorf("review after %s, before the run's timeout", el)
	}
	events := h.Events(run)
	last := events[len(events)-1]
	if last.Kind != journal.NeedsReview || !strings.Contains(last.Reason, "timed out") {
		h.Dump(run)
		t.Errorf("last event %s %q, want NeedsReview for the run's timeout", last.Kind, last.Reason)
	}
	if got := h.Head(run).Status; got != journal.StatusReview {
		t.Errorf("head status %s, want review", got)
	}
}
