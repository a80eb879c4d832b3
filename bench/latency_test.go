package bench_test

import (
	"math"
	"testing"

	"github.com/ordoflow/ordo/bench"
)

func TestLatencyModel(t *testing.T) {
	perStep := map[string]float64{"Lambda.Invoke": 1, "DynamoDB.PutItem": 1.4, "DynamoDB.UpdateItem": 0.4, "Other.Call": 1}
	// 1 × (10 + 1) ms + 1.8 × 5 ms + 5 ms (unlisted).
	if got, want := bench.RealAWS.Seconds(perStep, 0.001), 0.025; math.Abs(got-want) > 1e-9 {
		t.Errorf("got %.6f s, want %.6f", got, want)
	}
}
