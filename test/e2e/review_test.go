package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/ordoflow/ordo/journal"
)

// apiCall invokes the API function as its Function URL would.
func apiCall(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	payload, _ := json.Marshal(events.LambdaFunctionURLRequest{RawPath: path, Body: body,
		RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: method, Path: path}}})
	out, err := lambda.NewFromConfig(cfg).Invoke(context.Background(), &lambda.InvokeInput{
		FunctionName: aws.String(resource(t, "ApiFunction").Name), Payload: payload})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke %s %s: %v %s", method, path, err, out.Payload)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		t.Fatalf("%s %s: response %s: %v", method, path, out.Payload, err)
	}
	return resp.StatusCode, resp.Body
}

// TestMalformedTriggerResubmittedFromReview sends an order whose envelope
// names a workflow that does not exist: it becomes a review item (not a
// run), listed by the API function. Resubmitted through the API with an
// edited body, it goes back through the orchestrator as a message from the
// orders queue, and the order completes.
func TestMalformedTriggerResubmittedFromReview(t *testing.T) {
	needStack(t)
	t.Parallel()
	id := fmt.Sprintf("rev-%d", time.Now().UnixNano())
	order := sampleOrder(t, 6, id)
	bad, _ := json.Marshal(map[string]any{"workflow": "oder", "input": order})
	sendSQS(t, "OrdersQueue", string(bad))

	var item journal.ReviewItem
	deadline := time.Now().Add(time.Minute)
	for item.ID == "" {
		code, body := apiCall(t, "GET", "/v1/review?kind=malformed-trigger", "")
		var page struct{ Items []journal.ReviewItem }
		if code != 200 || json.Unmarshal([]byte(body), &page) != nil {
			t.Fatalf("list review items: %d %s", code, body)
		}
		for _, it := range page.Items {
			if strings.Contains(string(it.Payload), id) {
				item = it
			}
		}
		if item.ID == "" && time.Now().After(deadline) {
			t.Fatalf("the malformed order %s is not a review item", id)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if item.Source != "sqs:orders" || !strings.Contains(item.Reason, `"oder"`) {
		t.Fatalf("review item %+v: want source sqs:orders and a reason naming the workflow", item)
	}
	if runs, _, err := store.Runs(context.Background(), journal.Query{Status: journal.StatusReview}); err == nil {
		for _, r := range runs {
			if strings.Contains(r.ID, id) || strings.HasPrefix(r.ID, "_") {
				t.Fatalf("run %s listed for a malformed trigger", r.ID)
			}
		}
	}
	fixed, _ := json.Marshal(map[string]any{"action": "resubmit", "by": "e2e", "body": map[string]any{"workflow": "order", "input": order}})
	if code, body := apiCall(t, "POST", "/v1/review/"+item.ID+"/resolve", string(fixed)); code != 200 || !strings.Contains(body, `"resubmitted"`) {
		t.Fatalf("resubmit: %d %s", code, body)
	}
	if head, _ := settle(t, "order/"+id, 2*time.Minute); head.Status != journal.StatusCompleted {
		t.Fatalf("resubmitted order: %s, want completed", head.Status)
	}
}
