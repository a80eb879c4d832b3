package orchestrator_test

import (
	"bytes"

	"pgregory.net/rapid"

	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// snapshotRoundTrip encodes rs in the snapshot format and returns the
// decoded state, which the property test then keeps using in rs's place:
// every later decision and the final fold comparison check that it
// applies events and decides exactly as the original would have. The
// encoding is deterministic, so encoding the copy gives the same bytes.
func snapshotRoundTrip(t *rapid.T, def *workflow.Definition, rs *orchestrator.RunState) *orchestrator.RunState {
	data, err := orchestrator.EncodeState(rs)
	if err != nil {
		t.Fatalf("encode state: %v", err)
	}
	back, err := orchestrator.DecodeState(def, data)
	if err != nil {
		t.Fatalf("decode state: %v\n%s", err, data)
	}
	again, err := orchestrator.EncodeState(back)
	if err != nil {
		t.Fatalf("encode decoded state: %v", err)
	}
	if !bytes.Equal(data, again) {
		t.Fatalf("state changed through a snapshot:\n%s\n%s", data, again)
	}
	return back
}
