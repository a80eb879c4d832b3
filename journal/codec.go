package journal

import (
	"encoding/json"
	"fmt"
)

// EncodeEvents is the canonical encoding of a commit's events, shared by the
// backends so that a journal copied between them reads the same.
func EncodeEvents(events []Event) ([]byte, error) {
	b, err := json.Marshal(events)
	if err != nil {
		return nil, fmt.Errorf("journal: encode events: %w", err)
	}
	return b, nil
}

// DecodeEvents decodes a commit written by EncodeEvents and stamps each
// event with seq.
func DecodeEvents(b []byte, seq int64) ([]Event, error) {
	var events []Event
	if err := json.Unmarshal(b, &events); err != nil {
		return nil, fmt.Errorf("journal: decode commit %d: %w", seq, err)
	}
	for i := range events {
		events[i].Seq = seq
	}
	return events, nil
}
