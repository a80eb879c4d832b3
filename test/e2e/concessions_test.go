package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/workflows"
)

// TestRefundFromConcessionsQueue sends a refund request to the concessions
// queue the sample refund and return definitions trigger on
// ("sqs:concessions"): the orchestrator decodes it and the refund runs.
func TestRefundFromConcessionsQueue(t *testing.T) {
	needStack(t)
	t.Parallel()
	var req map[string]any
	if err := json.Unmarshal(workflows.SampleRefund(3), &req); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("rfd-e2e-%d", time.Now().UnixNano())
	req["refundId"] = id
	body, _ := json.Marshal(map[string]any{"type": "refund", "refund": req})
	sendSQS(t, "ConcessionsQueue", string(body))
	head, _ := settle(t, "refund/"+id, 2*time.Minute)
	if head.Status != journal.StatusCompleted {
		t.Fatalf("refund from the concessions queue: %s, want completed", head.Status)
	}
}
