package journal

import (
	"encoding/json"
	"fmt"
)

// EncodeEvents is the canonical encoding of a commit's events, shared by the
// backends so that a journal copied between them reads the same.
func EncodeEvents(events []Event) ([]byte, error) {
	b, err := appendEvents(make([]byte, 0, encodedSizeHint(events)), events)
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

// encodedSizeHint guesses the encoded size of events, so that the buffer
// is allocated once.
func encodedSizeHint(events []Event) int {
	n := 2
	for i := range events {
		e := &events[i]
		n += 192 + len(e.Step) + len(e.Workflow) + len(e.DefHash) + len(e.Key) + len(e.Trigger) + len(e.Input) + len(e.Output) + len(e.State) + len(e.Reason)
		for _, ef := range e.Effects {
			n += 48 + len(ef.ID) + len(ef.Kind) + len(ef.Target) + len(ef.Payload)
		}
	}
	return n
}
