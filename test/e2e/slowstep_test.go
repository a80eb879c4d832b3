package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// slowDriveBudget is the Drive budget of the e2e stack's orchestrator:
// OrchestratorTimeout (TestMain) less the 5 s the engine keeps to hand a
// run on.
const slowDriveBudget = 7 * time.Second

// TestSlowStep is the issue table's last row on the real bootstraps: a step
// that runs longer than the orchestrator's Drive budget (js-slow sleeps
// 15 s; the budget is 7 s) with a timeout shorter than its run (8 s). The
// Drive that invoked an attempt hands the run on before the attempt ends;
// later Drives find the attempt under its lease and do not invoke it again;
// when the lease (timeout + 15 s) runs out the attempt fails by timeout,
// is retried, and after maxAttempts the run goes to review. Each attempt is
// invoked exactly once (1.00 per journaled attempt), counted from the step
// function's own log line.
func TestSlowStep(t *testing.T) {
	needStack(t)
	t.Parallel()
	const maxAttempts = 2
	timeout, sleep := 8*time.Second, 15*time.Second
	if sleep <= slowDriveBudget || sleep <= timeout {
		t.Fatal("the step must outlive both the Drive budget and its timeout")
	}
	def := fmt.Sprintf("name: jsslow\nkey: input.id\nsteps:\n  - name: nap\n    function: js-slow\n    timeout: %s\n"+
		"    retry:\n      maxAttempts: %d\n      initialInterval: 100ms\n", timeout, maxAttempts)
	if code, resp := apiCall(t, "POST", "/v1/definitions", def); code != 201 {
		t.Fatalf("push: %d %s", code, resp)
	}
	id := fmt.Sprintf("slow-%d", time.Now().UnixNano())
	body := fmt.Sprintf(`{"workflow":"jsslow","input":{"id":%q,"sleepMs":%d}}`, id, sleep.Milliseconds())
	began := time.Now()
	if code, resp := apiCall(t, "POST", "/v1/runs", body); code != 201 {
		t.Fatalf("start: %d %s", code, resp)
	}
	run := "jsslow/" + id
	head, events := settle(t, run, 90*time.Second)
	t.Logf("run %s: %s after %s", run, head.Status, time.Since(began).Round(time.Millisecond))
	if head.Status != journal.StatusReview {
		t.Fatalf("run with a step slower than the Drive budget: %s, want review", head.Status)
	}
	var attempts, timeouts int
	var reason string
	for _, e := range events {
		switch {
		case e.Kind == journal.StepScheduled && e.Step == "nap":
			attempts++
			if lease := e.Due.Sub(e.At); lease != timeout+15*time.Second {
				t.Errorf("attempt %d leased for %s, want its timeout + 15 s", e.Attempt, lease)
			}
		case e.Kind == journal.StepFailed && e.Step == "nap":
			if e.Error != nil && e.Error.Kind == step.KindTimeout {
				timeouts++
			}
		case e.Kind == journal.StepSucceeded && e.Step == "nap":
			t.Errorf("attempt %d succeeded: a result past the lease must not be journaled", e.Attempt)
		case e.Kind == journal.NeedsReview:
			reason = e.Reason
		}
	}
	if attempts != maxAttempts || timeouts != maxAttempts {
		t.Errorf("%d attempts journaled, %d failed by timeout; want %d and %d", attempts, timeouts, maxAttempts, maxAttempts)
	}
	if !strings.Contains(reason, fmt.Sprintf("after %d attempts", maxAttempts)) {
		t.Errorf("review reason %q, want the attempts used up", reason)
	}
	onePerAttempt(t, "a step slower than the Drive budget", run)
}
