package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// orchestratorTime is how many invocations the orchestrator Lambda has
// handled so far and how long they took, over all its event sources.
func orchestratorTime() (invocations int, busy time.Duration) {
	for _, p := range stack.Status().Pollers {
		if p.Function == "OrchestratorFunction" {
			invocations += p.Invocations
			busy += p.Busy
		}
	}
	return invocations, busy
}

// TestAsyncStep runs a workflow whose steps are invoked asynchronously
// (invoke: async): the orchestrator Lambda starts the JavaScript step of a
// team's stack with an Event invoke and returns; the step naps for 3 s;
// Lambda's destination (the function's EventInvokeConfig, emulated for
// kumo by infra/tools/kumo) puts the destination record on the
// orchestrator's queue, and the orchestrator journals the result and goes
// on. The orchestrator's invocations do not wait for the step: together
// they take less time than the step alone. Each attempt runs once.
//
// Not parallel: the orchestrator's busy time is measured over the run, and
// other tests' runs would add to it.
func TestAsyncStep(t *testing.T) {
	needStack(t)
	const nap = 3 * time.Second
	def := "name: jsnap\nkey: input.id\nsteps:\n" +
		"  - name: nap\n    function: js-greet\n    invoke: async\n    timeout: 20s\n" +
		"  - name: greet\n    function: js-greet\n    invoke: async\n    after: [nap]\n    input: '{\"name\": steps.nap.output.greeting}'\n" +
		"output: steps.greet.output\n"
	if code, resp := apiCall(t, "POST", "/v1/definitions", def); code != 201 {
		t.Fatalf("push: %d %s", code, resp)
	}
	calls0, busy0 := orchestratorTime()
	id := fmt.Sprintf("nap-%d", time.Now().UnixNano())
	body := fmt.Sprintf(`{"workflow":"jsnap","input":{"id":%q,"name":"Ada","napMs":%d}}`, id, nap.Milliseconds())
	if code, resp := apiCall(t, "POST", "/v1/runs", body); code != 201 {
		t.Fatalf("start: %d %s", code, resp)
	}
	head, events := settle(t, "jsnap/"+id, 2*time.Minute)
	calls1, busy1 := orchestratorTime()
	if head.Status != journal.StatusCompleted {
		t.Fatalf("run with async steps: %s, want completed\n%s", head.Status, logs)
	}
	var out struct {
		Greeting string `json:"greeting"`
	}
	var scheduled, succeeded time.Time
	for _, e := range events {
		switch {
		case e.Kind == journal.StepScheduled && e.Step == "nap":
			scheduled = e.At
		case e.Kind == journal.StepSucceeded && e.Step == "nap":
			succeeded = e.At
		case e.Kind == journal.StepSucceeded && e.Step == "greet":
			_ = json.Unmarshal(e.Output, &out)
		}
	}
	if out.Greeting != "hello, hello, Ada" {
		t.Fatalf("output %+v, want the second step's greeting of the first's", out)
	}
	for _, s := range []string{"nap", "greet"} {
		if n, m := count(events, journal.StepScheduled, s), count(events, journal.StepSucceeded, s); n != 1 || m != 1 {
			t.Errorf("step %s scheduled %d times and succeeded %d times, want 1 and 1", s, n, m)
		}
	}
	if took := succeeded.Sub(scheduled); took < nap {
		t.Fatalf("the nap step's result came %s after it was scheduled, before its %s nap", took, nap)
	}
	busy := busy1 - busy0
	t.Logf("orchestrator: %d invocations, %s busy, over a run whose first step napped %s", calls1-calls0, busy.Round(time.Millisecond), nap)
	if busy >= nap {
		t.Fatalf("the orchestrator's invocations took %s in all, no less than the %s step: they waited for it", busy, nap)
	}
}
