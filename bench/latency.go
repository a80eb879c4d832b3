package bench

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// LatencyModel is the time one call takes on real AWS, in seconds, by the
// call's name as Calls counts it ("DynamoDB.PutItem", "Lambda.Invoke").
// The local emulators' own latencies (DynamoDB Local is a JVM behind
// HTTP, kumo runs every Lambda on the same two cores) inflate what the
// orchestrator would be billed, so cost figures price the calls counted on
// the local stack at these instead.
type LatencyModel map[string]float64

// RealAWS is the latency model the cost figures use: warm clients in the
// same region as the table and the functions, p50s.
//
//   - DynamoDB writes (PutItem, UpdateItem, conditional, ≤1 KB): 5 ms; a
//     strongly consistent GetItem or one-page Query: 4 ms. DynamoDB
//     documents "single-digit millisecond" latency; these sit in the
//     middle of that.
//   - Lambda.Invoke (synchronous, warm, small payload): 10 ms of
//     round trip on top of the step's own duration, which the caller adds.
//   - SQS SendMessage: 8 ms.
//
// Calls not listed cost 5 ms.
var RealAWS = LatencyModel{
	"DynamoDB.PutItem": 0.005, "DynamoDB.UpdateItem": 0.005, "DynamoDB.DeleteItem": 0.005,
	"DynamoDB.GetItem": 0.004, "DynamoDB.Query": 0.004,
	"Lambda.Invoke":   0.010,
	"SQS.SendMessage": 0.008, "SQS.SendMessageBatch": 0.010,
}

// defaultCallSeconds prices a call the model does not list.
const defaultCallSeconds = 0.005

// Seconds is the time the calls in perStep (calls of each kind per step
// transition) take on the model, one after the other (they are on the
// run's critical path), plus stepSeconds for every Lambda.Invoke: what a
// synchronous orchestrator is billed per step transition.
func (m LatencyModel) Seconds(perStep map[string]float64, stepSeconds float64) float64 {
	var s float64
	for call, n := range perStep {
		d, ok := m[call]
		if !ok {
			d = defaultCallSeconds
		}
		s += n * d
		if call == "Lambda.Invoke" {
			s += n * stepSeconds
		}
	}
	return s
}

// String lists the model's latencies.
func (m LatencyModel) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %g ms", k, m[k]*1000))
	}
	return strings.Join(parts, ", ")
}
