package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// emfLines returns the EMF records (lines with "_aws") the functions have
// logged so far whose dimension field is set.
func emfLines(dimension string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "{")
		if i < 0 || !strings.Contains(line, `"_aws"`) {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line[i:]), &m) == nil && m[dimension] != nil {
			out = append(out, m)
		}
	}
	return out
}

// TestQueueDepthsAndLatencyAsEMF: after an order, the orchestrator binary
// has logged its queues' depths (read from kumo through the SDK with the
// template's DLQ URLs) and the order's step latencies as EMF.
func TestQueueDepthsAndLatencyAsEMF(t *testing.T) {
	needStack(t)
	t.Parallel()
	id := fmt.Sprintf("emf-%d", time.Now().UnixNano())
	sendSQS(t, "OrdersQueue", string(sampleOrder(t, 0, id)))
	settle(t, "order/"+id, 2*time.Minute)
	deadline := time.Now().Add(30 * time.Second)
	for {
		queues := map[string]bool{}
		for _, m := range emfLines("Queue") {
			_, visible := m["ApproximateNumberOfMessages"].(float64)
			_, inFlight := m["ApproximateNumberOfMessagesNotVisible"].(float64)
			_, delayed := m["ApproximateNumberOfMessagesDelayed"].(float64)
			if visible && inFlight && delayed {
				queues[m["Queue"].(string)] = true
			}
		}
		latency := false
		for _, m := range emfLines("Workflow") {
			if v, ok := m["StepLatency"].([]any); ok && m["Workflow"] == "order" && len(v) > 0 {
				latency = true
			}
		}
		if queues["orchestrator"] && queues["orchestrator-dlq"] && queues["effects"] && queues["effects-dlq"] && latency {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue depth records for %v and step latency %v; want the four queues and the order's latencies", queues, latency)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
