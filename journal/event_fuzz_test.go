package journal_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
)

// FuzzEventCodec decodes arbitrary JSON as journal events, the form every
// backend stores them in: no panic, and what decodes encodes and decodes
// back to the same events.
func FuzzEventCodec(f *testing.F) {
	f.Add([]byte(`[{"kind":"RunStarted","at":"2025-01-02T03:04:05Z","workflow":"order","key":"o-1","input":{"orderId":"o-1"}}]`))
	f.Add([]byte(`[{"kind":"StepSucceeded","step":"charge","attempt":2,"output":{"ok":true},"effects":[{"id":"e1","kind":"email","target":"a@example.com"}]}]`))
	f.Add([]byte(`[{"kind":"Cancelled","by":"arn:aws:sts::1:assumed-role/ops/x","reason":"asked"}]`))
	f.Add([]byte(`[{"kind":"StepFailed","error":{"message":"declined","kind":"card","terminal":true}}]`))
	f.Add([]byte(`[{"kind":"TimerStarted","due":"9999-12-31T23:59:59Z"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var evs []journal.Event
		if json.Unmarshal(data, &evs) != nil {
			return
		}
		b, err := json.Marshal(evs)
		if err != nil {
			return // e.g. a time outside what RFC 3339 can write
		}
		var again []journal.Event
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		b2, _ := json.Marshal(again)
		if d := cmp.Diff(string(b), string(b2)); d != "" {
			t.Fatalf("the codec is not stable (-first +second):\n%s", d)
		}
	})
}
