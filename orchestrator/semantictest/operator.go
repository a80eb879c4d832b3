package semantictest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

var cancelTests = []test{
	{"NoNewSteps", testCancelNoNewSteps},
}

var stateTests = []test{
	{"MergePatchesInJournalOrder", testStatePatches},
}

var resubmitTests = []test{
	{"EditedInput", testResubmitEdited},
	{"AfterAFix", testResubmitFixed},
}

func testCancelNoNewSteps(t *testing.T, h *Harness) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	var later atomic.Int64
	h.Func("slow", func(ctx context.Context, req step.Request) (step.Result, error) {
		entered <- struct{}{}
		return out("a"), block(ctx, release)
	})
	h.Func("later", func(ctx context.Context, req step.Request) (step.Result, error) {
		later.Add(1)
		return out("b"), nil
	})
	h.Define(workflow.New("cancel",
		workflow.Step("a", "slow"),
		workflow.Step("b", "later", workflow.After("a")),
	), `
name: cancel
steps:
  - {name: a, function: slow}
  - {name: b, function: later, after: [a]}
`)
	run := h.Start("cancel", `{}`)
	select { // a is running
	case <-entered:
	case <-time.After(patience):
		t.Fatal("a never started")
	}
	h.Cancel(run)
	close(release) // a finishes after the cancel
	h.Wait(run, journal.StatusCancelled)
	// a's late result is journaled (it changes nothing), and b never starts.
	h.Await(run, "a's late result", func(e journal.Event) bool {
		return e.Kind == journal.StepSucceeded && e.Step == "a"
	})
	h.RT.Poke(run) // drive it once more: still nothing to start
	h.Wait(run, journal.StatusCancelled)
	if n := count(h.Events(run), journal.StepScheduled, "b"); n != 0 || later.Load() != 0 {
		h.Dump(run)
		t.Errorf("b scheduled %d times and ran %d times after the cancel, want 0", n, later.Load())
	}
}

func testStatePatches(t *testing.T, h *Harness) {
	h.Func("patch", func(ctx context.Context, req step.Request) (step.Result, error) {
		in := decode[struct {
			Patch json.RawMessage `json:"patch"`
			Sleep int             `json:"sleep"`
		}](req)
		time.Sleep(time.Duration(in.Sleep) * 100 * time.Microsecond) // vary completion order
		return step.Result{Output: req.State, State: in.Patch}, nil
	})
	branch := func(name string, sleep int) (workflow.Option, string) {
		input := fmt.Sprintf(`{"patch": {"shared": "%s", "%s": true, "obj": {"%s": 1}}, "sleep": %d}`, name, name, name, sleep)
		return workflow.Step(name, "patch", workflow.After("init"), workflow.Input(input)),
			fmt.Sprintf("  - {name: %s, function: patch, after: [init], input: '%s'}\n", name, input)
	}
	opts := []workflow.Option{
		workflow.Step("init", "patch", workflow.Input(`{"patch": {"tmp": "x", "keep": 1, "obj": {"z": 0}}}`)),
	}
	yaml := "name: state\nsteps:\n" + `  - {name: init, function: patch, input: '{"patch": {"tmp": "x", "keep": 1, "obj": {"z": 0}}}'}` + "\n"
	names := []string{"p1", "p2", "p3", "p4"}
	for i, n := range names {
		o, y := branch(n, 4-i)
		opts, yaml = append(opts, o), yaml+y
	}
	opts = append(opts, workflow.Step("clean", "patch", workflow.After(names...),
		workflow.Input(`{"patch": {"tmp": null, "obj": {"z": null}}}`)))
	yaml += `  - {name: clean, function: patch, after: [p1, p2, p3, p4], input: '{"patch": {"tmp": null, "obj": {"z": null}}}'}` + "\n"
	h.Define(workflow.New("state", opts...), yaml)

	run := h.Start("state", `{}`)
	h.Wait(run, journal.StatusCompleted)
	events := h.Events(run)
	last := ""
	for _, e := range events {
		if e.Kind == journal.StepSucceeded && strings.HasPrefix(e.Step, "p") {
			last = e.Step
		}
	}
	// The run's output is its state: every patch applied in journal order,
	// the last branch's "shared" winning, nulls deleting keys.
	jsonEq(t, "state", h.Output(run),
		fmt.Sprintf(`{"keep": 1, "shared": %q, "p1": true, "p2": true, "p3": true, "p4": true, "obj": {"p1": 1, "p2": 1, "p3": 1, "p4": 1}}`, last))
	// clean saw the state before its own patch.
	for _, e := range events {
		if e.Kind == journal.StepSucceeded && e.Step == "clean" {
			var seen map[string]any
			_ = json.Unmarshal(e.Output, &seen)
			if seen["tmp"] != "x" || seen["shared"] != last {
				t.Errorf("clean saw state %s, want tmp x and shared %s", e.Output, last)
			}
		}
	}
}

// defineChecked defines "checked": step check fails (retryably) until its
// input says ok or fixed is set.
func defineChecked(h *Harness, fixed *atomic.Bool) {
	h.Func("check", func(ctx context.Context, req step.Request) (step.Result, error) {
		in := decode[struct {
			OK bool `json:"ok"`
		}](req)
		if in.OK || fixed.Load() {
			return out(map[string]any{"checked": true, "attempt": req.Attempt}), nil
		}
		return step.Result{}, errors.New("not fixed yet")
	})
	h.Define(workflow.New("checked",
		workflow.Output("steps.after.output"),
		workflow.Step("check", "check", workflow.Retry(workflow.RetryPolicy{MaxAttempts: 2, InitialInterval: workflow.Duration(ms)})),
		workflow.Pass("after", "steps.check.output", workflow.After("check")),
	), `
name: checked
output: steps.after.output
steps:
  - {name: check, function: check, retry: {maxAttempts: 2, initialInterval: 1ms}}
  - {name: after, type: pass, after: [check], output: steps.check.output}
`)
}

func testResubmitEdited(t *testing.T, h *Harness) {
	var never atomic.Bool
	defineChecked(h, &never)
	run := h.Start("checked", `{"ok": false}`)
	h.Wait(run, journal.StatusReview)
	err := h.RT.Resubmit(h.Ctx, orchestrator.Resubmission{Run: run, By: "ops", Step: "check",
		Input: json.RawMessage(`{"ok": true}`), Reason: "fixed the input"})
	if err != nil {
		t.Fatal(err)
	}
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `{"checked": true, "attempt": 3}`)
	r := filter(h.Events(run), func(e journal.Event) bool { return e.Kind == journal.Resubmitted })
	if len(r) != 1 || r[0].By != "ops" || r[0].Step != "check" || compact(r[0].Input) != `{"ok":true}` {
		t.Errorf("Resubmitted = %+v, want one by ops for check with the edited input", r)
	}
	err = h.RT.Resubmit(h.Ctx, orchestrator.Resubmission{Run: run})
	if !errors.Is(err, orchestrator.ErrNotInReview) {
		t.Errorf("resubmit a completed run: %v, want ErrNotInReview", err)
	}
}

func testResubmitFixed(t *testing.T, h *Harness) {
	var fixed atomic.Bool
	defineChecked(h, &fixed)
	run := h.Start("checked", `{"ok": false}`)
	h.Wait(run, journal.StatusReview)
	if n := count(h.Events(run), journal.StepFailed, "check"); n != 2 {
		t.Errorf("%d failed attempts before review, want 2", n)
	}
	fixed.Store(true)
	if err := h.RT.Resubmit(h.Ctx, orchestrator.Resubmission{Run: run, By: "ops"}); err != nil {
		t.Fatal(err)
	}
	h.Wait(run, journal.StatusCompleted)
	jsonEq(t, "output", h.Output(run), `{"checked": true, "attempt": 3}`)
}
