package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

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
		code, body := callAPI(t, "viewer", apiCaller, "GET", "/v1/review?kind=malformed-trigger", "")
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
	if code, body := callAPI(t, "operator", apiCaller, "POST", "/v1/review/"+item.ID+"/resolve", string(fixed)); code != 200 || !strings.Contains(body, `"resubmitted"`) {
		t.Fatalf("resubmit: %d %s", code, body)
	}
	if head, _ := settle(t, "order/"+id, 2*time.Minute); head.Status != journal.StatusCompleted {
		t.Fatalf("resubmitted order: %s, want completed", head.Status)
	}
}
