package bench_test

import (
	"fmt"
	"testing"

	"github.com/ordoflow/ordo/bench"
)

// modeCost is the orchestration cost of one step transition, in USD, for
// a step of stepSeconds: what the orchestrator adds to the step's own
// Lambda bill, which both modes pay alike.
//
// Synchronous: the orchestrator Lambda (512 MB) is billed while its step
// runs and for its own ownSeconds, shared by the parallel runs one
// invocation drives (its queue batch), plus one orchestrator request per
// run of k steps. Asynchronous (a model: not built): the step is invoked
// with InvocationType Event, its result comes back as an SQS message (one
// send, and a receive and a delete batched by 10), the orchestrator is
// billed only its own time, wakes once per result batch, and catches up
// with one strongly consistent Since query (1 read unit).
func modeCost(p bench.Prices, stepSeconds, ownSeconds float64, parallel, k int, async bool) float64 {
	gbs := p.Prices["lambda_gb_second_arm64"].Each()
	req := p.Prices["lambda_request"].Each()
	const gb = 0.5
	if !async {
		return gb*(stepSeconds+ownSeconds)/float64(parallel)*gbs + req/float64(k)
	}
	return gb*ownSeconds/float64(parallel)*gbs + req/10 +
		1.2*p.Prices["sqs_request"].Each() + p.Prices["dynamodb_read_request_unit"].Each()
}

// TestModeCostModel prints the orchestration cost per million step
// transitions of synchronous and asynchronous step invokes for steps of
// 1 ms, 100 ms and 1 s (go test -run ModeCost -v ./bench/), from
// prices.json. docs/SCALING.md records the table. It checks the model's
// shape: waiting is what synchronous invokes pay for, so they cost more
// the longer the step, and asynchronous ones do not depend on it.
func TestModeCostModel(t *testing.T) {
	p, err := bench.LoadPrices()
	if err != nil {
		t.Fatal(err)
	}
	const own, k = 0.015, 5
	t.Logf("prices checked %s (%s); orchestrator 512 MB arm64, %.0f ms own time per transition, K=%d", p.Checked, p.Region, own*1000, k)
	t.Logf("%-8s %-28s %-28s %s", "step", "sync, 1 run per invocation", "sync, 10 runs per invocation", "async (model)")
	var prevSync, prevAsync float64
	for i, d := range []float64{0.001, 0.1, 1} {
		s1 := modeCost(p, d, own, 1, k, false) * 1e6
		s10 := modeCost(p, d, own, 10, k, false) * 1e6
		a := modeCost(p, d, own, 10, k, true) * 1e6
		t.Logf("%-8s $%-27.3f $%-27.3f $%.3f", formatSeconds(d), s1, s10, a)
		if i > 0 && (s1 <= prevSync || a != prevAsync) {
			t.Errorf("at %s: sync %.3f (before %.3f), async %.3f (before %.3f)", formatSeconds(d), s1, prevSync, a, prevAsync)
		}
		prevSync, prevAsync = s1, a
	}
}

func formatSeconds(d float64) string {
	if d < 1 {
		return fmt.Sprintf("%g ms", d*1000)
	}
	return "1 s"
}
