package workflows_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ordoflow/ordo/workflows"
)

// TestSampleTraffic checks that the mixed traffic is deterministic, holds
// every workflow and problem case, and that its ids never collide.
func TestSampleTraffic(t *testing.T) {
	count := map[string]int{}
	ids := map[string]bool{}
	for i := range 300 {
		wf, in := workflows.SampleTraffic(i)
		if wf2, in2 := workflows.SampleTraffic(i); wf2 != wf || !bytes.Equal(in, in2) {
			t.Fatalf("SampleTraffic(%d) differs between calls", i)
		}
		var v map[string]any
		if err := json.Unmarshal(in, &v); err != nil {
			t.Fatalf("SampleTraffic(%d): %v", i, err)
		}
		id := wf
		for _, k := range []string{"orderId", "refundId", "returnId"} {
			if s, ok := v[k].(string); ok && k != "orderId" || ok && wf == "order" {
				id += "/" + s
			}
		}
		if ids[id] {
			t.Errorf("SampleTraffic(%d): %s twice", i, id)
		}
		ids[id] = true
		count[wf]++
	}
	for _, wf := range []string{"order", "refund", "return"} {
		if count[wf] == 0 {
			t.Errorf("no %s runs in 300", wf)
		}
	}
	problems := map[string]bool{}
	for i := range 8 {
		wf, _ := workflows.SampleProblem(i)
		problems[wf] = true
	}
	if len(problems) != 3 {
		t.Errorf("problem inputs cover %v, want all three workflows", problems)
	}
}
