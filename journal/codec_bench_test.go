package journal_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// benchCommits returns commits like real ones: a step transition (a result
// with output, state patch and an effect, plus the next step scheduled),
// about 500 bytes encoded, and a run start with an order input.
func benchCommits() map[string][]journal.Event {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return map[string][]journal.Event{
		"transition": {
			{Kind: journal.StepSucceeded, At: now, Step: "charge", Attempt: 1,
				Output: json.RawMessage(`{"orderId":"ord_8f14e45fceea167a","status":"charged","amount":4200,"currency":"EUR","charge":{"id":"ch_3PqLm2Kx9","last4":"4242","network":"visa"}}`),
				State:  json.RawMessage(`{"charged":true,"chargeId":"ch_3PqLm2Kx9","attempts":1}`),
				Effects: []journal.Effect{{ID: "order/ord_8f14e45fceea167a/charge/1/0", Kind: "email", Target: "customer",
					Payload: json.RawMessage(`{"template":"receipt","orderId":"ord_8f14e45fceea167a"}`)}}},
			{Kind: journal.StepScheduled, At: now, Step: "ship", Attempt: 1},
		},
		"start": {
			{Kind: journal.RunStarted, At: now, Workflow: "order", DefHash: "sha256:0f343b0931126a20f133d67c2b018a3b", Key: "ord_8f14e45fceea167a",
				Trigger: "sqs:4a5b6c", Input: json.RawMessage(`{"orderId":"ord_8f14e45fceea167a","amount":4200,"currency":"EUR","items":[{"sku":"A-1","qty":2}]}`)},
			{Kind: journal.StepScheduled, At: now, Step: "verify", Attempt: 1},
		},
	}
}

func BenchmarkEncodeEvents(b *testing.B) {
	for _, name := range []string{"start", "transition"} {
		events := benchCommits()[name]
		b.Run(name, func(b *testing.B) {
			enc, err := journal.EncodeEvents(events)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := journal.EncodeEvents(events); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeEvents(b *testing.B) {
	for _, name := range []string{"start", "transition"} {
		enc, err := journal.EncodeEvents(benchCommits()[name])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				events, err := journal.DecodeEvents(enc, int64(i))
				if err != nil || len(events) != 2 {
					b.Fatal(fmt.Sprint(len(events)), err)
				}
			}
		})
	}
}
