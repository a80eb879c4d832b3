package orchestrator_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// t0 is when every hand-built run starts.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// jsonEq compares JSON documents by value, not by bytes.
var jsonEq = cmp.Transformer("json", func(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(m, &v); err != nil {
		return "invalid JSON: " + string(m)
	}
	return v
})

var decisionOpts = cmp.Options{jsonEq}

// Event builders. Each is a journal.Event literal with the fields its kind
// uses; decisions stamp At themselves.

func started(input string) journal.Event {
	return journal.Event{Seq: 1, Kind: journal.RunStarted, At: t0, Workflow: "w", DefHash: "sha256:test",
		Key: "k1", Input: json.RawMessage(input)}
}

// lease0 is the lease of a task attempt without a timeout scheduled at t0.
var lease0 = t0.Add(orchestrator.DefaultStepTimeout + orchestrator.LeaseMargin)

// scheduled is a task attempt scheduled at t0, with its lease.
func scheduled(step string, attempt int, input string) journal.Event {
	return journal.Event{Kind: journal.StepScheduled, Step: step, Attempt: attempt, Input: json.RawMessage(input), Due: lease0}
}

// scheduledAt is scheduled at now instead.
func scheduledAt(now time.Time, step string, attempt int, input string) journal.Event {
	e := scheduled(step, attempt, input)
	e.Due = now.Add(orchestrator.DefaultStepTimeout + orchestrator.LeaseMargin)
	return e
}

// withEffects adds email effects with ids to a result.
func withEffects(e journal.Event, ids ...string) journal.Event {
	for _, id := range ids {
		e.Effects = append(e.Effects, journal.Effect{ID: id, Kind: "email"})
	}
	return e
}

// leasedUntil sets a StepScheduled's lease.
func leasedUntil(e journal.Event, lease time.Time) journal.Event {
	e.Due = lease
	return e
}

// unleased is a StepScheduled of a step the engine does not invoke (pass,
// wait, event, sub, map).
func unleased(e journal.Event) journal.Event {
	e.Due = time.Time{}
	return e
}

func succeeded(step string, attempt int, output string) journal.Event {
	return journal.Event{Kind: journal.StepSucceeded, Step: step, Attempt: attempt, Output: json.RawMessage(output)}
}

func withState(e journal.Event, patch string) journal.Event {
	e.State = json.RawMessage(patch)
	return e
}

func failed(step string, attempt int, msg, kind string, terminal bool) journal.Event {
	return journal.Event{Kind: journal.StepFailed, Step: step, Attempt: attempt,
		Error: &journal.Error{Message: msg, Kind: kind, Terminal: terminal}}
}

func retry(step string, attempt int, due time.Time, err *journal.Error) journal.Event {
	return journal.Event{Kind: journal.RetryScheduled, Step: step, Attempt: attempt, Due: due, Error: err}
}

func at(t time.Time, e journal.Event) journal.Event {
	e.At = t
	return e
}

// inv is the invocation of a task attempt without a timeout scheduled at t0.
func inv(step, fn string, attempt int, input string) orchestrator.Invocation {
	return orchestrator.Invocation{Step: step, Function: fn, Attempt: attempt, Input: json.RawMessage(input),
		Timeout: orchestrator.DefaultStepTimeout, Lease: lease0}
}

// invAt is inv scheduled at now instead.
func invAt(now time.Time, step, fn string, attempt int, input string) orchestrator.Invocation {
	i := inv(step, fn, attempt, input)
	i.Lease = now.Add(orchestrator.DefaultStepTimeout + orchestrator.LeaseMargin)
	return i
}

// Definitions shared by the cases.
var (
	chainDef = workflow.New("w",
		workflow.Step("a", "fa"),
		workflow.Step("b", "fb", workflow.After("a")),
		workflow.Step("c", "fc", workflow.After("b")),
	).MustBuild()

	fanDef = workflow.New("w",
		workflow.Step("a", "fa"),
		workflow.Step("b", "fb", workflow.After("a")),
		workflow.Step("c", "fc", workflow.After("a")),
		workflow.Step("d", "fd", workflow.After("b", "c")),
	).MustBuild()

	whenDef = workflow.New("w",
		workflow.Step("a", "fa"),
		workflow.Step("b", "fb", workflow.After("a"), workflow.When("input.n > 5")),
		workflow.Step("c", "fc", workflow.After("b")),
	).MustBuild()

	inputDef = workflow.New("w",
		workflow.Step("a", "fa"),
		workflow.Step("b", "fb", workflow.After("a"),
			workflow.Input(`{"x": steps.a.output.v + input.n, "y": state.z, "first": attempt == 1}`)),
	).MustBuild()

	passDef = workflow.New("w",
		workflow.Pass("p", `{"sum": input.n + 1}`),
		workflow.Pass("q", `steps.p.output.sum * 10`, workflow.After("p")),
		workflow.Output(`{"q": steps.q.output}`),
	).MustBuild()

	passRetryDef = workflow.New("w",
		workflow.Pass("p", `"ok"`, workflow.ErrorIf(`attempt < 2 ? "not yet" : ""`, false),
			workflow.Retry(workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Second)})),
	).MustBuild()

	passTerminalDef = workflow.New("w",
		workflow.Pass("p", `"ok"`, workflow.ErrorIf(`input.n == 1 ? "bad order" : ""`, true)),
	).MustBuild()

	failDef = workflow.New("w",
		workflow.Step("a", "fa"),
		workflow.Fail("stop", "order rejected", workflow.After("a"), workflow.When("input.n < 0")),
		workflow.Fail("stop2", "always", workflow.After("a"), workflow.When("input.n >= 0")),
	).MustBuild()

	waitDef = workflow.New("w",
		workflow.Wait("w1", 10*time.Minute),
		workflow.Step("b", "fb", workflow.After("w1")),
	).MustBuild()

	untilDef = workflow.New("w",
		workflow.Wait("w1", 0, workflow.Until("input.at")),
	).MustBuild()

	retryPolicy = workflow.RetryPolicy{MaxAttempts: 3, InitialInterval: workflow.Duration(time.Second),
		BackoffCoefficient: 3, MaxInterval: workflow.Duration(5 * time.Second), NonRetryable: []string{"declined"}}

	retryDef = workflow.New("w",
		workflow.Step("a", "fa", workflow.Retry(retryPolicy), workflow.Timeout(30*time.Second)),
	).MustBuild()

	outputDef = workflow.New("w",
		workflow.Step("a", "fa"),
		workflow.Output(`{"total": steps.a.output.v, "n": input.n}`),
	).MustBuild()

	stateDef = workflow.New("w",
		workflow.Step("a", "fa"),
		workflow.Step("b", "fb"),
	).MustBuild()

	timeoutDef = workflow.New("w",
		workflow.RunTimeout(time.Hour),
		workflow.Step("a", "fa"),
	).MustBuild()
)

var (
	errFlaky = &journal.Error{Message: "flaky", Kind: "io"}
	t1s      = t0.Add(time.Second)
)

type decideCase struct {
	name   string
	def    *workflow.Definition
	events []journal.Event
	now    time.Time // default t0
	want   orchestrator.Decision
}

func decideCases() []decideCase {
	return []decideCase{
		// Sequential chain.
		{
			name:   "chain/first step starts",
			def:    chainDef,
			events: []journal.Event{started(`{"n":1}`)},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("a", 1, `{"n":1}`)},
				Start:  []orchestrator.Invocation{inv("a", "fa", 1, `{"n":1}`)},
			},
		},
		{
			name:   "chain/next step after success",
			def:    chainDef,
			events: []journal.Event{started(`{"n":1}`), scheduled("a", 1, `{"n":1}`), succeeded("a", 1, `"A"`)},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("b", 1, `{"n":1}`)},
				Start:  []orchestrator.Invocation{inv("b", "fb", 1, `{"n":1}`)},
			},
		},
		{
			name:   "chain/in flight step is not scheduled again",
			def:    chainDef,
			events: []journal.Event{started(`{"n":1}`), scheduled("a", 1, `{"n":1}`)},
			want: orchestrator.Decision{
				WakeAt:   lease0,
				InFlight: []orchestrator.Invocation{inv("a", "fa", 1, `{"n":1}`)},
			},
		},
		{
			name: "chain/completes with the state",
			def:  chainDef,
			events: []journal.Event{started(`{"n":1}`),
				scheduled("a", 1, `{"n":1}`), withState(succeeded("a", 1, `1`), `{"a":1}`),
				scheduled("b", 1, `{"n":1}`), withState(succeeded("b", 1, `2`), `{"b":2}`),
				scheduled("c", 1, `{"n":1}`), succeeded("c", 1, `3`)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted, Output: json.RawMessage(`{"a":1,"b":2}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},

		// Parallel branches and fan-in.
		{
			name:   "fan/branches start together",
			def:    fanDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), succeeded("a", 1, `null`)},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("b", 1, `{}`), scheduled("c", 1, `{}`)},
				Start:  []orchestrator.Invocation{inv("b", "fb", 1, `{}`), inv("c", "fc", 1, `{}`)},
			},
		},
		{
			name: "fan/fan-in waits for every branch",
			def:  fanDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), succeeded("a", 1, `null`),
				scheduled("b", 1, `{}`), scheduled("c", 1, `{}`), succeeded("c", 1, `null`)},
			want: orchestrator.Decision{
				WakeAt:   lease0,
				InFlight: []orchestrator.Invocation{inv("b", "fb", 1, `{}`)},
			},
		},
		{
			name: "fan/fan-in starts when all branches succeeded",
			def:  fanDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), succeeded("a", 1, `null`),
				scheduled("b", 1, `{}`), scheduled("c", 1, `{}`), succeeded("c", 1, `null`), succeeded("b", 1, `null`)},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("d", 1, `{}`)},
				Start:  []orchestrator.Invocation{inv("d", "fd", 1, `{}`)},
			},
		},

		// Conditions.
		{
			name:   "when/false skips and dependents still run",
			def:    whenDef,
			events: []journal.Event{started(`{"n":1}`), scheduled("a", 1, `{"n":1}`), succeeded("a", 1, `null`)},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{
					{Kind: journal.StepSkipped, Step: "b", Reason: "when: input.n > 5"},
					scheduled("c", 1, `{"n":1}`),
				},
				Start: []orchestrator.Invocation{inv("c", "fc", 1, `{"n":1}`)},
			},
		},
		{
			name:   "when/true runs the step",
			def:    whenDef,
			events: []journal.Event{started(`{"n":9}`), scheduled("a", 1, `{"n":9}`), succeeded("a", 1, `null`)},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("b", 1, `{"n":9}`)},
				Start:  []orchestrator.Invocation{inv("b", "fb", 1, `{"n":9}`)},
			},
		},
		{
			name: "when/skipped step counts as done for completion",
			def:  whenDef,
			events: []journal.Event{started(`{"n":1}`), scheduled("a", 1, `{"n":1}`), succeeded("a", 1, `null`),
				{Kind: journal.StepSkipped, Step: "b"}, scheduled("c", 1, `{"n":1}`), succeeded("c", 1, `null`)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted, Output: json.RawMessage(`{}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},

		// Input mapping.
		{
			name: "input/CEL over input, state and step outputs",
			def:  inputDef,
			events: []journal.Event{started(`{"n":2}`), scheduled("a", 1, `{"n":2}`),
				withState(succeeded("a", 1, `{"v":40}`), `{"z":"zed"}`)},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("b", 1, `{"x":42,"y":"zed","first":true}`)},
				Start:  []orchestrator.Invocation{inv("b", "fb", 1, `{"x":42,"y":"zed","first":true}`)},
			},
		},

		// Pass steps.
		{
			name:   "pass/outputs and run output finish in one decision",
			def:    passDef,
			events: []journal.Event{started(`{"n":4}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{
					unleased(scheduled("p", 1, `{"n":4}`)), succeeded("p", 1, `{"sum":5}`),
					unleased(scheduled("q", 1, `{"n":4}`)), succeeded("q", 1, `50`),
					{Kind: journal.RunCompleted, Output: json.RawMessage(`{"q":50}`)},
				},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},
		{
			name:   "pass/error is a retryable failure",
			def:    passRetryDef,
			events: []journal.Event{started(`{}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{
					unleased(scheduled("p", 1, `{}`)),
					failed("p", 1, "not yet", "pass", false),
					retry("p", 2, t1s, &journal.Error{Message: "not yet", Kind: "pass"}),
				},
				WakeAt: t1s,
			},
		},
		{
			name: "pass/retried attempt succeeds once due",
			def:  passRetryDef,
			events: []journal.Event{started(`{}`), scheduled("p", 1, `{}`), failed("p", 1, "not yet", "pass", false),
				retry("p", 2, t1s, nil)},
			now: t1s,
			want: orchestrator.Decision{
				Events: []journal.Event{
					unleased(scheduled("p", 2, `{}`)), succeeded("p", 2, `"ok"`),
					{Kind: journal.RunCompleted, Output: json.RawMessage(`{}`)},
				},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},
		{
			name:   "pass/terminal error goes to review",
			def:    passTerminalDef,
			events: []journal.Event{started(`{"n":1}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{
					unleased(scheduled("p", 1, `{"n":1}`)),
					failed("p", 1, "bad order", "pass", true),
					{Kind: journal.NeedsReview, Step: "p", Attempt: 1, Reason: "step p failed: bad order",
						Error: &journal.Error{Message: "bad order", Kind: "pass", Terminal: true}},
				},
				Status: journal.StatusReview,
				Done:   true,
			},
		},

		// Fail steps.
		{
			name:   "fail/step sends the run to review",
			def:    failDef,
			events: []journal.Event{started(`{"n":1}`), scheduled("a", 1, `{"n":1}`), succeeded("a", 1, `null`)},
			want: orchestrator.Decision{
				Events: []journal.Event{
					{Kind: journal.StepSkipped, Step: "stop", Reason: "when: input.n < 0"},
					unleased(scheduled("stop2", 1, `{"n":1}`)),
					failed("stop2", 1, "always", "fail", true),
					{Kind: journal.NeedsReview, Step: "stop2", Attempt: 1, Reason: "step stop2 failed: always",
						Error: &journal.Error{Message: "always", Kind: "fail", Terminal: true}},
				},
				Status: journal.StatusReview,
				Done:   true,
			},
		},

		// Wait steps.
		{
			name:   "wait/starts a timer",
			def:    waitDef,
			events: []journal.Event{started(`{}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{
					unleased(scheduled("w1", 1, `{}`)),
					{Kind: journal.TimerStarted, Step: "w1", Attempt: 1, Due: t0.Add(10 * time.Minute)},
				},
				WakeAt: t0.Add(10 * time.Minute),
			},
		},
		{
			name: "wait/nothing happens before due",
			def:  waitDef,
			events: []journal.Event{started(`{}`), scheduled("w1", 1, `{}`),
				{Kind: journal.TimerStarted, Step: "w1", Attempt: 1, Due: t0.Add(10 * time.Minute)}},
			now:  t0.Add(10*time.Minute - time.Nanosecond),
			want: orchestrator.Decision{WakeAt: t0.Add(10 * time.Minute)},
		},
		{
			name: "wait/fires at due",
			def:  waitDef,
			events: []journal.Event{started(`{}`), scheduled("w1", 1, `{}`),
				{Kind: journal.TimerStarted, Step: "w1", Attempt: 1, Due: t0.Add(10 * time.Minute)}},
			now: t0.Add(10 * time.Minute),
			want: orchestrator.Decision{
				Events: []journal.Event{
					{Kind: journal.TimerFired, Step: "w1", Attempt: 1},
					succeeded("w1", 1, `null`),
					scheduledAt(t0.Add(10*time.Minute), "b", 1, `{}`),
				},
				Start:  []orchestrator.Invocation{invAt(t0.Add(10*time.Minute), "b", "fb", 1, `{}`)},
				WakeAt: t0.Add(10 * time.Minute).Add(orchestrator.DefaultStepTimeout + orchestrator.LeaseMargin),
			},
		},
		{
			name: "wait/fires after due",
			def:  waitDef,
			events: []journal.Event{started(`{}`), scheduled("w1", 1, `{}`),
				{Kind: journal.TimerStarted, Step: "w1", Attempt: 1, Due: t0.Add(10 * time.Minute)}},
			now: t0.Add(time.Hour),
			want: orchestrator.Decision{
				Events: []journal.Event{
					{Kind: journal.TimerFired, Step: "w1", Attempt: 1},
					succeeded("w1", 1, `null`),
					scheduledAt(t0.Add(time.Hour), "b", 1, `{}`),
				},
				Start:  []orchestrator.Invocation{invAt(t0.Add(time.Hour), "b", "fb", 1, `{}`)},
				WakeAt: t0.Add(time.Hour).Add(orchestrator.DefaultStepTimeout + orchestrator.LeaseMargin),
			},
		},
		{
			name:   "wait/until a timestamp from the input",
			def:    untilDef,
			events: []journal.Event{started(`{"at":"2025-03-02T08:00:00Z"}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{
					unleased(scheduled("w1", 1, `{"at":"2025-03-02T08:00:00Z"}`)),
					{Kind: journal.TimerStarted, Step: "w1", Attempt: 1, Due: time.Date(2025, 3, 2, 8, 0, 0, 0, time.UTC)},
				},
				WakeAt: time.Date(2025, 3, 2, 8, 0, 0, 0, time.UTC),
			},
		},

		// Retries.
		{
			name:   "retry/first failure waits the initial interval",
			def:    retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false)},
			want: orchestrator.Decision{
				Events: []journal.Event{retry("a", 2, t1s, errFlaky)},
				WakeAt: t1s,
			},
		},
		{
			name: "retry/attempt is not scheduled before due",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky)},
			now:  t1s.Add(-time.Nanosecond),
			want: orchestrator.Decision{WakeAt: t1s},
		},
		{
			name: "retry/attempt is scheduled at due",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky)},
			now: t1s,
			want: orchestrator.Decision{
				Events: []journal.Event{leasedUntil(scheduled("a", 2, `{}`), t1s.Add(30*time.Second+orchestrator.LeaseMargin))},
				Start: []orchestrator.Invocation{{Step: "a", Function: "fa", Attempt: 2, Input: json.RawMessage(`{}`),
					Timeout: 30 * time.Second, Lease: t1s.Add(30*time.Second + orchestrator.LeaseMargin)}},
				WakeAt: t1s.Add(30*time.Second + orchestrator.LeaseMargin),
			},
		},
		{
			name: "retry/second failure waits interval times coefficient",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky), scheduled("a", 2, `{}`), failed("a", 2, "flaky", "io", false)},
			now: t1s,
			want: orchestrator.Decision{
				Events: []journal.Event{retry("a", 3, t1s.Add(3*time.Second), errFlaky)},
				WakeAt: t1s.Add(3 * time.Second),
			},
		},
		{
			name: "retry/exhausted goes to review with the last error",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky), scheduled("a", 2, `{}`), failed("a", 2, "flaky", "io", false),
				retry("a", 3, t0.Add(4*time.Second), errFlaky), scheduled("a", 3, `{}`), failed("a", 3, "still down", "io", false)},
			now: t0.Add(5 * time.Second),
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.NeedsReview, Step: "a", Attempt: 3,
					Reason: "step a failed after 3 attempts: still down",
					Error:  &journal.Error{Message: "still down", Kind: "io"}}},
				Status: journal.StatusReview,
				Done:   true,
			},
		},
		{
			name:   "retry/non-retryable kind goes to review at once",
			def:    retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "card declined", "declined", false)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.NeedsReview, Step: "a", Attempt: 1,
					Reason: "step a failed: card declined",
					Error:  &journal.Error{Message: "card declined", Kind: "declined"}}},
				Status: journal.StatusReview,
				Done:   true,
			},
		},
		{
			name:   "retry/terminal error goes to review at once",
			def:    retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "no such order", "", true)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.NeedsReview, Step: "a", Attempt: 1,
					Reason: "step a failed: no such order",
					Error:  &journal.Error{Message: "no such order", Terminal: true}}},
				Status: journal.StatusReview,
				Done:   true,
			},
		},
		{
			name: "retry/late result of an old attempt is ignored",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky), leasedUntil(scheduled("a", 2, `{}`), t1s.Add(45*time.Second)), succeeded("a", 1, `"late"`)},
			now: t1s,
			want: orchestrator.Decision{
				InFlight: []orchestrator.Invocation{{Step: "a", Function: "fa", Attempt: 2, Input: json.RawMessage(`{}`),
					Timeout: 30 * time.Second, Lease: t1s.Add(45 * time.Second)}},
				WakeAt: t1s.Add(45 * time.Second),
			},
		},
		{
			name: "retry/late failure of an old attempt is ignored",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky), scheduled("a", 2, `{}`), succeeded("a", 2, `"ok"`),
				failed("a", 1, "flaky", "io", false)},
			now: t1s,
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted, Output: json.RawMessage(`{}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},

		// Completion.
		{
			name: "output/expression over steps and input",
			def:  outputDef,
			events: []journal.Event{started(`{"n":3}`), scheduled("a", 1, `{"n":3}`),
				withState(succeeded("a", 1, `{"v":7}`), `{"ignored":true}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted, Output: json.RawMessage(`{"total":7,"n":3}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},
		{
			name: "output/duplicate result does not replace the first",
			def:  outputDef,
			events: []journal.Event{started(`{"n":3}`), scheduled("a", 1, `{"n":3}`),
				succeeded("a", 1, `{"v":7}`), succeeded("a", 1, `{"v":8}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted, Output: json.RawMessage(`{"total":7,"n":3}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},

		// State merge patches.
		{
			name: "state/merge patches in journal order, null deletes",
			def:  stateDef,
			events: []journal.Event{withState(started(`{}`), `{"seed":1,"keep":"k"}`),
				scheduled("a", 1, `{}`), scheduled("b", 1, `{}`),
				withState(succeeded("b", 1, `null`), `{"v":"b","obj":{"x":1,"y":2},"seed":null,"arr":[1,2]}`),
				withState(succeeded("a", 1, `null`), `{"v":"a","obj":{"y":null,"z":{"deep":true}},"arr":[3]}`)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted,
					Output: json.RawMessage(`{"keep":"k","v":"a","obj":{"x":1,"z":{"deep":true}},"arr":[3]}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},
		{
			name: "state/a non-object value is replaced by an object patch",
			def:  stateDef,
			events: []journal.Event{withState(started(`{}`), `{"o":5}`),
				scheduled("a", 1, `{}`), scheduled("b", 1, `{}`),
				withState(succeeded("a", 1, `null`), `{"o":{"p":1,"q":null}}`),
				succeeded("b", 1, `null`)},
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted, Output: json.RawMessage(`{"o":{"p":1}}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},

		// Run timeout.
		{
			name:   "timeout/wake at the lease, before the run deadline",
			def:    timeoutDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`)},
			now:    t0.Add(time.Minute),
			want: orchestrator.Decision{
				InFlight: []orchestrator.Invocation{inv("a", "fa", 1, `{}`)},
				WakeAt:   lease0,
			},
		},
		{
			name:   "timeout/run past its deadline goes to review",
			def:    timeoutDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`)},
			now:    t0.Add(time.Hour),
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.NeedsReview, Reason: "run timed out after 1h0m0s"}},
				Status: journal.StatusReview,
				Done:   true,
			},
		},

		// Review, resubmission and cancellation.
		{
			name: "review/run in review decides nothing",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "no", "", true),
				{Kind: journal.NeedsReview, Step: "a", Attempt: 1, Reason: "step a failed: no"}},
			want: orchestrator.Decision{Done: true},
		},
		{
			name: "review/resubmitted resumes from the failed step",
			def:  chainDef,
			events: []journal.Event{started(`{"n":1}`), scheduled("a", 1, `{"n":1}`), succeeded("a", 1, `null`),
				scheduled("b", 1, `{"n":1}`), failed("b", 1, "no", "", true),
				{Kind: journal.NeedsReview, Step: "b", Attempt: 1, Reason: "step b failed: no"},
				{Kind: journal.Resubmitted, By: "ops@example.com"}},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("b", 2, `{"n":1}`)},
				Start:  []orchestrator.Invocation{inv("b", "fb", 2, `{"n":1}`)},
			},
		},
		{
			name: "review/resubmitted with edited input and state",
			def:  chainDef,
			events: []journal.Event{started(`{"n":1}`), scheduled("a", 1, `{"n":1}`), succeeded("a", 1, `null`),
				scheduled("b", 1, `{"n":1}`), failed("b", 1, "no", "", true),
				{Kind: journal.NeedsReview, Step: "b", Attempt: 1, Reason: "step b failed: no"},
				{Kind: journal.Resubmitted, Step: "b", By: "ops@example.com", Input: json.RawMessage(`{"n":2}`),
					State: json.RawMessage(`{"fixed":true}`)}},
			want: orchestrator.Decision{
				WakeAt: lease0,
				Events: []journal.Event{scheduled("b", 2, `{"n":2}`)},
				Start:  []orchestrator.Invocation{inv("b", "fb", 2, `{"n":2}`)},
			},
		},
		{
			// A pass step's expressions read the run input: an operator's
			// edited input is the input they read.
			name: "review/resubmitted pass step reads the edited input",
			def: workflow.New("w",
				workflow.Pass("p", `{"n": input.n + 1}`, workflow.ErrorIf(`input.n == 1 ? "bad order" : ""`, true)),
			).MustBuild(),
			events: []journal.Event{started(`{"n":1}`), unleased(scheduled("p", 1, `{"n":1}`)),
				failed("p", 1, "bad order", "pass", true),
				{Kind: journal.NeedsReview, Step: "p", Attempt: 1, Reason: "step p failed: bad order"},
				{Kind: journal.Resubmitted, Step: "p", By: "ops", Input: json.RawMessage(`{"n":4}`)}},
			want: orchestrator.Decision{
				Events: []journal.Event{
					unleased(scheduled("p", 2, `{"n":4}`)), succeeded("p", 2, `{"n":5}`),
					{Kind: journal.RunCompleted, Output: json.RawMessage(`{}`)},
				},
				Status: journal.StatusCompleted,
				Done:   true,
			},
		},
		{
			name: "review/resubmitted step gets a fresh retry budget",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky), scheduled("a", 2, `{}`), failed("a", 2, "flaky", "io", false),
				retry("a", 3, t0.Add(4*time.Second), errFlaky), scheduled("a", 3, `{}`), failed("a", 3, "flaky", "io", false),
				{Kind: journal.NeedsReview, Step: "a", Attempt: 3, Reason: "step a failed after 3 attempts: flaky"},
				{Kind: journal.Resubmitted, By: "ops"}, scheduled("a", 4, `{}`), failed("a", 4, "flaky", "io", false)},
			now: t0.Add(time.Minute),
			want: orchestrator.Decision{
				Events: []journal.Event{retry("a", 5, t0.Add(time.Minute+time.Second), errFlaky)},
				WakeAt: t0.Add(time.Minute + time.Second),
			},
		},
		{
			name: "cancel/cancelled run is done",
			def:  chainDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`),
				{Kind: journal.Cancelled, By: "ops", Reason: "customer called"}},
			want: orchestrator.Decision{Done: true},
		},
		{
			name: "cancel/result after cancellation changes nothing",
			def:  chainDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`),
				{Kind: journal.Cancelled, By: "ops"}, succeeded("a", 1, `null`)},
			want: orchestrator.Decision{Done: true},
		},
		// Leases.
		{
			name:   "lease/live lease: the attempt is not invoked again; wake at its end",
			def:    retryDef,
			events: []journal.Event{started(`{}`), leasedUntil(scheduled("a", 1, `{}`), t0.Add(45*time.Second))},
			now:    t0.Add(45*time.Second - time.Nanosecond),
			want: orchestrator.Decision{
				InFlight: []orchestrator.Invocation{{Step: "a", Function: "fa", Attempt: 1, Input: json.RawMessage(`{}`),
					Timeout: 30 * time.Second, Lease: t0.Add(45 * time.Second)}},
				WakeAt: t0.Add(45 * time.Second),
			},
		},
		{
			name:   "lease/expired lease fails the attempt by timeout, retried by policy",
			def:    retryDef,
			events: []journal.Event{started(`{}`), leasedUntil(scheduled("a", 1, `{}`), t0.Add(45*time.Second))},
			now:    t0.Add(45 * time.Second),
			want: orchestrator.Decision{
				Events: []journal.Event{
					failed("a", 1, "step a timed out: no result within 30s (its lease expired at 2025-03-01T12:00:45Z)", "timeout", false),
					retry("a", 2, t0.Add(46*time.Second), &journal.Error{
						Message: "step a timed out: no result within 30s (its lease expired at 2025-03-01T12:00:45Z)", Kind: "timeout"}),
				},
				WakeAt: t0.Add(46 * time.Second),
			},
		},
		{
			name: "lease/expired lease of the last attempt goes to review",
			def:  retryDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), failed("a", 1, "flaky", "io", false),
				retry("a", 2, t1s, errFlaky), scheduled("a", 2, `{}`), failed("a", 2, "flaky", "io", false),
				retry("a", 3, t0.Add(4*time.Second), errFlaky), leasedUntil(scheduled("a", 3, `{}`), t0.Add(49*time.Second))},
			now: t0.Add(time.Minute),
			want: orchestrator.Decision{
				Events: []journal.Event{
					failed("a", 3, "step a timed out: no result within 30s (its lease expired at 2025-03-01T12:00:49Z)", "timeout", false),
					{Kind: journal.NeedsReview, Step: "a", Attempt: 3,
						Reason: "step a failed after 3 attempts: step a timed out: no result within 30s (its lease expired at 2025-03-01T12:00:49Z)",
						Error:  &journal.Error{Message: "step a timed out: no result within 30s (its lease expired at 2025-03-01T12:00:49Z)", Kind: "timeout"}},
				},
				Status: journal.StatusReview,
				Done:   true,
			},
		},

		// The outbox.
		{
			name: "outbox/undispatched effects are listed, with a wake-up to send them again",
			def:  outputDef,
			events: []journal.Event{started(`{"n":2}`), scheduled("a", 1, `{}`),
				withEffects(succeeded("a", 1, `{"v":1}`), "e1", "e2"), {Kind: journal.EffectDispatched, EffectID: "e1"}},
			now: t0.Add(10 * time.Second),
			want: orchestrator.Decision{
				Events: []journal.Event{{Kind: journal.RunCompleted, Output: json.RawMessage(`{"total":1,"n":2}`)}},
				Status: journal.StatusCompleted,
				Done:   true,
				// Sent again after as long as the effect has waited: 10s.
				Dispatch: []journal.Effect{{ID: "e2", Kind: "email"}},
				WakeAt:   t0.Add(20 * time.Second),
			},
		},
		{
			name: "outbox/an effect with an outcome is not dispatched again",
			def:  outputDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`),
				withEffects(succeeded("a", 1, `{"v":1}`), "e1"), {Kind: journal.EffectSucceeded, EffectID: "e1"},
				{Kind: journal.RunCompleted}},
			want: orchestrator.Decision{Done: true},
		},
		{
			name:   "completed/completed run is done",
			def:    outputDef,
			events: []journal.Event{started(`{}`), scheduled("a", 1, `{}`), succeeded("a", 1, `null`), {Kind: journal.RunCompleted}},
			want:   orchestrator.Decision{Done: true},
		},
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	for _, tc := range decideCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			for i := range tc.events {
				if tc.events[i].At.IsZero() {
					tc.events[i].At = t0
				}
			}
			want := tc.want
			for i := range want.Events {
				want.Events[i].At = now
			}
			before := slices.Clone(tc.events)
			got, err := orchestrator.Decide(tc.def, tc.events, now)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if diff := cmp.Diff(got, want, decisionOpts); diff != "" {
				t.Errorf("Decide (-got +want):\n%s", diff)
			}
			// Pure: the same arguments decide the same, and the journal is
			// not modified.
			again, err := orchestrator.Decide(tc.def, tc.events, now)
			if err != nil {
				t.Fatalf("Decide again: %v", err)
			}
			if diff := cmp.Diff(again, got); diff != "" {
				t.Errorf("second Decide differs (-again +first):\n%s", diff)
			}
			if diff := cmp.Diff(tc.events, before); diff != "" {
				t.Errorf("Decide modified its events (-after +before):\n%s", diff)
			}
		})
	}
}

// TestDecideResubmittedState checks that a resubmission's state patch is part
// of the state later steps and the run output see.
func TestDecideResubmittedState(t *testing.T) {
	t.Parallel()
	events := []journal.Event{started(`{}`), scheduled("a", 1, `{}`), withState(succeeded("a", 1, `null`), `{"a":1}`),
		scheduled("b", 1, `{}`), failed("b", 1, "no", "", true),
		{Kind: journal.NeedsReview, Step: "b", Attempt: 1},
		{Kind: journal.Resubmitted, By: "ops", State: json.RawMessage(`{"a":null,"fixed":true}`)},
		scheduled("b", 2, `{}`), succeeded("b", 2, `null`), scheduled("c", 1, `{}`), succeeded("c", 1, `null`)}
	got, err := orchestrator.Decide(chainDef, events, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []journal.Event{{Kind: journal.RunCompleted, At: t0, Output: json.RawMessage(`{"fixed":true}`)}}
	if diff := cmp.Diff(got.Events, want, jsonEq); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}

func TestDecideCorruptJournal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		events []journal.Event
	}{
		{"no RunStarted first", []journal.Event{scheduled("a", 1, `{}`)}},
		{"RunStarted after another event", []journal.Event{{Kind: journal.Cancelled}, started(`{}`)}},
		{"second RunStarted", []journal.Event{started(`{}`), started(`{}`)}},
		{"input is not JSON", []journal.Event{started(`{"n":`)}},
		{"scheduled for an unknown step", []journal.Event{started(`{}`), scheduled("zz", 1, `{}`)}},
		{"succeeded for an unknown step", []journal.Event{started(`{}`), succeeded("zz", 1, `null`)}},
		{"failed for an unknown step", []journal.Event{started(`{}`), failed("zz", 1, "x", "", false)}},
		{"skipped for an unknown step", []journal.Event{started(`{}`), {Kind: journal.StepSkipped, Step: "zz"}}},
		{"retry for an unknown step", []journal.Event{started(`{}`), retry("zz", 2, t0, nil)}},
		{"timer for an unknown step", []journal.Event{started(`{}`), {Kind: journal.TimerStarted, Step: "zz", Due: t0}}},
		{"timer fired for an unknown step", []journal.Event{started(`{}`), {Kind: journal.TimerFired, Step: "zz"}}},
		{"state patch is not an object", []journal.Event{withState(started(`{}`), `[1]`)}},
		{"output is not JSON", []journal.Event{started(`{}`), scheduled("a", 1, `{}`), succeeded("a", 1, `{`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := orchestrator.Decide(chainDef, tc.events, t0)
			if !errors.Is(err, orchestrator.ErrCorruptJournal) {
				t.Fatalf("Decide: err = %v, want ErrCorruptJournal", err)
			}
		})
	}
}

func TestDecideEmptyJournal(t *testing.T) {
	t.Parallel()
	got, err := orchestrator.Decide(chainDef, nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, orchestrator.Decision{Done: true}); diff != "" {
		t.Errorf("Decide(nil) (-got +want):\n%s", diff)
	}
}

// failAttempts returns the journal of a run of def whose step a failed
// retryably in attempts 1..n, each retried as soon as it was due, and the
// time of the last failure.
func failAttempts(t *testing.T, def *workflow.Definition, key string, n int) ([]journal.Event, time.Time) {
	t.Helper()
	ev := started(`{}`)
	ev.Key = key
	events := []journal.Event{ev}
	now := t0
	for range 2 * n {
		d, err := orchestrator.Decide(def, events, now)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, d.Events...)
		for _, inv := range d.Start {
			events = append(events, at(now, failed("a", inv.Attempt, "flaky", "io", false)))
			if inv.Attempt == n {
				return events, now
			}
		}
		if len(d.Start) == 0 {
			if d.WakeAt.IsZero() {
				t.Fatalf("run stuck: %+v", d)
			}
			now = d.WakeAt
		}
	}
	t.Fatalf("attempt %d never started", n)
	return nil, time.Time{}
}

// retryAfter is the RetryScheduled event the decision after failed attempt n
// emits.
func retryAfter(t *testing.T, def *workflow.Definition, key string, n int) (journal.Event, time.Time) {
	t.Helper()
	events, now := failAttempts(t, def, key, n)
	d, err := orchestrator.Decide(def, events, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Events) == 0 || d.Events[0].Kind != journal.RetryScheduled || d.Events[0].Attempt != n+1 {
		t.Fatalf("after attempt %d: events %+v, want RetryScheduled #%d first", n, d.Events, n+1)
	}
	d2, _ := orchestrator.Decide(def, events, now)
	if diff := cmp.Diff(d, d2); diff != "" {
		t.Fatalf("after attempt %d: not deterministic (-first +second):\n%s", n, diff)
	}
	return d.Events[0], now
}

func TestDecideBackoff(t *testing.T) {
	t.Parallel()
	type step struct {
		attempt int
		delay   time.Duration
	}
	for _, tc := range []struct {
		name   string
		policy workflow.RetryPolicy
		want   []step // delay before attempt+1
	}{
		{
			name:   "exponential, capped at the max interval",
			policy: workflow.RetryPolicy{MaxAttempts: 6, InitialInterval: workflow.Duration(time.Second), BackoffCoefficient: 2, MaxInterval: workflow.Duration(5 * time.Second)},
			want:   []step{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 5 * time.Second}, {5, 5 * time.Second}},
		},
		{
			name:   "coefficient 0 means constant",
			policy: workflow.RetryPolicy{MaxAttempts: 4, InitialInterval: workflow.Duration(time.Second)},
			want:   []step{{1, time.Second}, {2, time.Second}, {3, time.Second}},
		},
		{
			name:   "zero intervals take the defaults",
			policy: workflow.RetryPolicy{MaxAttempts: 4, BackoffCoefficient: 2},
			want:   []step{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond}},
		},
		{
			name:   "no max interval caps at the default",
			policy: workflow.RetryPolicy{MaxAttempts: 20, InitialInterval: workflow.Duration(time.Second), BackoffCoefficient: 2},
			want:   []step{{1, time.Second}, {5, 16 * time.Second}, {6, 30 * time.Second}, {19, 30 * time.Second}},
		},
		{
			name:   "the largest max interval never overflows",
			policy: workflow.RetryPolicy{MaxAttempts: 80, InitialInterval: workflow.Duration(time.Second), BackoffCoefficient: 2, MaxInterval: math.MaxInt64},
			want:   []step{{1, time.Second}, {10, 512 * time.Second}, {33, time.Duration(1<<32) * time.Second}, {70, math.MaxInt64}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			def := workflow.New("w", workflow.Step("a", "fa", workflow.Retry(tc.policy))).MustBuild()
			for _, w := range tc.want {
				ev, now := retryAfter(t, def, "k1", w.attempt)
				if got := ev.Due.Sub(now); got != w.delay {
					t.Errorf("delay after attempt %d = %s, want %s", w.attempt, got, w.delay)
				}
			}
		})
	}
}

func TestDecideJitter(t *testing.T) {
	t.Parallel()
	p := workflow.RetryPolicy{MaxAttempts: 5, InitialInterval: workflow.Duration(time.Second), BackoffCoefficient: 2,
		MaxInterval: workflow.Duration(3 * time.Second), Jitter: true}
	def := workflow.New("w", workflow.Step("a", "fa", workflow.Retry(p))).MustBuild()
	bound := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	distinct := map[time.Duration]bool{}
	for _, key := range []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"} {
		for attempt := 1; attempt <= 4; attempt++ {
			ev, now := retryAfter(t, def, key, attempt)
			delay := ev.Due.Sub(now)
			if delay < 0 || delay >= bound[attempt] {
				t.Errorf("%s attempt %d: delay %s not in [0, %s)", key, attempt, delay, bound[attempt])
			}
			distinct[delay] = true
		}
	}
	if len(distinct) < 16 {
		t.Errorf("jitter produced only %d distinct delays over 32 retries", len(distinct))
	}
}

// TestRunStateIncremental checks that RunState.Decide on a state kept up to
// date event by event decides as Decide does from scratch.
func TestRunStateIncremental(t *testing.T) {
	t.Parallel()
	events := []journal.Event{started(`{"n":1}`)}
	rs, err := orchestrator.Fold(fanDef, events)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	for range 10 {
		want, err := orchestrator.Decide(fanDef, events, now)
		if err != nil {
			t.Fatal(err)
		}
		got := rs.Decide(now)
		if diff := cmp.Diff(got, want); diff != "" {
			t.Fatalf("incremental decision (-got +want):\n%s", diff)
		}
		events = append(events, want.Events...)
		if want.Done {
			break
		}
		for _, inv := range want.Start {
			ev := at(now, succeeded(inv.Step, inv.Attempt, `1`))
			events = append(events, ev)
			if err := rs.Apply(&ev); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Second)
	}
	if st := rs.Snapshot().Status; st != journal.StatusCompleted {
		t.Fatalf("status %s, want completed", st)
	}
}
