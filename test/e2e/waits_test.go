package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/callback"
)

// waitsYAML is a workflow pushed through the API: an async step beside a
// 3 s wait and an event, then a last step after all three. Its steps are
// the deployed order-record-history function.
const waitsYAML = `
name: e2e-waits
version: "1"
key: input.id
steps:
  - name: ask
    function: order-record-history
    async: true
    timeout: 2m
    input: '{"orderId": input.id, "customerId": "c", "state": {}}'
  - name: pause
    type: wait
    duration: 3s
  - name: approval
    type: event
    event: approved
    timeout: 2m
  - name: done
    function: order-record-history
    after: [ask, pause, approval]
    input: '{"orderId": input.id, "customerId": "c", "state": {}}'
`

// TestWaitsAndCallbacks runs the async-beside-a-wait workflow twice: once
// finished by SQS control messages on the orchestrator's queue (the event
// and the callback), once through the API. Each journaled attempt must be
// invoked once.
func TestWaitsAndCallbacks(t *testing.T) {
	needStack(t)
	t.Parallel()
	if code, resp := apiCall(t, "POST", "/v1/definitions", waitsYAML); code != 201 {
		t.Fatalf("push the definition: %d %s", code, resp)
	}
	base := fmt.Sprintf("w-%d", time.Now().UnixNano())
	for _, via := range []string{"sqs", "api"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			id := base + "-" + via
			run := "e2e-waits/" + id
			body, _ := json.Marshal(map[string]any{"workflow": "e2e-waits", "input": map[string]string{"id": id}})
			if code, resp := apiCall(t, "POST", "/v1/runs", string(body)); code != 201 {
				t.Fatalf("start: %d %s", code, resp)
			}
			await(t, run, "ask scheduled", func(e journal.Event) bool { return e.Kind == journal.StepScheduled && e.Step == "ask" })
			token := deploymentKeys(t).Sign(callback.Claims{Run: run, Step: "ask", Attempt: 1})
			if via == "sqs" {
				sendSQS(t, "OrchestratorQueue",
					fmt.Sprintf(`{"ordo":"event","run":%q,"name":"approved","input":{"by":"sqs"}}`, run),
					fmt.Sprintf(`{"ordo":"complete","token":%q,"input":{"ok":true}}`, token))
			} else {
				if code, resp := apiCall(t, "POST", "/v1/runs/"+run+"/events", `{"name":"approved","payload":{"by":"api"}}`); code/100 != 2 {
					t.Fatalf("event: %d %s", code, resp)
				}
				if code, resp := apiCall(t, "POST", "/v1/callbacks/"+url.PathEscape(token), `{"output":{"ok":true}}`); code/100 != 2 {
					t.Fatalf("callback: %d %s", code, resp)
				}
			}
			head, events := settle(t, run, 2*time.Minute)
			if head.Status != journal.StatusCompleted {
				t.Fatalf("%s: %s, want completed", run, head.Status)
			}
			if n := count(events, journal.StepSucceeded, "done"); n != 1 {
				t.Errorf("the last step succeeded %d times, want 1", n)
			}
			onePerAttempt(t, "async step beside a 3 s wait, event and callback through "+via, run)
		})
	}
}

// await polls run's journal until an event matches.
func await(t *testing.T, run, what string, match func(journal.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, events, err := store.Load(context.Background(), run); err == nil {
			for _, e := range events {
				if match(e) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s: not within a minute", run, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deploymentKeys reads the stack's callback key from its secret, as the
// orchestrator and API functions do at cold start.
func deploymentKeys(t *testing.T) *callback.Keyring {
	t.Helper()
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(context.Background(),
		&secretsmanager.GetSecretValueInput{SecretId: aws.String(resource(t, "CallbackKey").ARN)})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := callback.ParseKeyring(aws.ToString(out.SecretString))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
