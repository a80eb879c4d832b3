package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// TestNodeStep runs a workflow whose step is a JavaScript function from a
// team's own stack (test/e2e/testdata/nodestep, Runtime nodejs20.x), run
// by localrun beside the platform: the definition is pushed through the
// platform's API, the orchestrator Lambda invokes the step by the naming
// convention, and the step's output, state patch and terminal error cross
// the Lambda boundary as the protocol says.
func TestNodeStep(t *testing.T) {
	needStack(t)
	t.Parallel()
	if resource(t, "GreetFunction").Name != stack.Status().StackName+"-js-greet" {
		t.Fatalf("the team's function is %s, want <platform stack>-js-greet", resource(t, "GreetFunction").Name)
	}
	def := "name: jsgreet\nkey: input.id\nsteps:\n  - name: greet\n    function: js-greet\n    retry:\n      maxAttempts: 2\noutput: steps.greet.output\n"
	if code, resp := apiCall(t, "POST", "/v1/definitions", def); code != 201 {
		t.Fatalf("push: %d %s", code, resp)
	}
	// A definition naming a step function that is not deployed is refused.
	bad := strings.ReplaceAll(strings.ReplaceAll(def, "js-greet", "js-greeet"), "jsgreet", "jsgreet-typo")
	if code, resp := apiCall(t, "POST", "/v1/definitions", bad); code != 400 || !strings.Contains(resp, `js-greeet`) {
		t.Fatalf("push naming an undeployed function: %d %s, want 400 naming it", code, resp)
	}
	id := fmt.Sprintf("js-%d", time.Now().UnixNano())
	start := func(id, input string) {
		t.Helper()
		body := fmt.Sprintf(`{"workflow":"jsgreet","input":%s}`, input)
		if code, resp := apiCall(t, "POST", "/v1/runs", body); code != 201 {
			t.Fatalf("start %s: %d %s", id, code, resp)
		}
	}
	start(id, fmt.Sprintf(`{"id":%q,"name":"Ada"}`, id))
	start(id+"-bad", fmt.Sprintf(`{"id":%q}`, id+"-bad"))

	head, events := settle(t, "jsgreet/"+id, 2*time.Minute)
	if head.Status != journal.StatusCompleted {
		t.Fatalf("run with a JavaScript step: %s, want completed\n%s", head.Status, logs)
	}
	var out struct {
		Greeting string `json:"greeting"`
		Attempt  int    `json:"attempt"`
		Key      string `json:"key"`
	}
	var state json.RawMessage
	for _, e := range events {
		if e.Kind == journal.StepSucceeded && e.Step == "greet" {
			json.Unmarshal(e.Output, &out)
			state = e.State
		}
	}
	// The attempt may be the second: the first invoke can come before node
	// has connected to the emulator's runtime API, and the orchestrator
	// retries that transport failure as it would on AWS.
	if out.Greeting != "hello, Ada" || out.Attempt < 1 || out.Key != "jsgreet/"+id+"/greet" {
		t.Fatalf("the JavaScript step's output %+v", out)
	}
	if !strings.Contains(string(state), `"greeted":"Ada"`) {
		t.Fatalf("the JavaScript step's state patch: %s", state)
	}

	head, events = settle(t, "jsgreet/"+id+"-bad", 2*time.Minute)
	if head.Status != journal.StatusReview {
		t.Fatalf("run whose JavaScript step failed terminally: %s, want review", head.Status)
	}
	var failure *journal.Event
	for i, e := range events {
		if e.Kind == journal.StepFailed {
			failure = &events[i]
		}
	}
	if failure == nil || failure.Error == nil || failure.Error.Kind != "bad-input" || !failure.Error.Terminal || count(events, journal.StepScheduled, "greet") != 1 {
		t.Fatalf("terminal failure of the JavaScript step: %+v (scheduled %d times, want 1)", failure, count(events, journal.StepScheduled, "greet"))
	}
}
