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

// lazyRoundTrip encodes rs in the snapshot format with every value a part
// may hold in parts, and returns the decoded state, lazy: the property
// test then keeps using it in rs's place, deciding as the engine does
// (DecideResolving, ApplyResolving), so every later decision and the
// final fold comparison check that a lazy state decides exactly as a
// state folded in full. Encoding the copy gives the same bytes and puts
// no part again.
func lazyRoundTrip(t *rapid.T, def *workflow.Definition, rs *orchestrator.RunState, parts map[string][]byte) *orchestrator.RunState {
	data, err := orchestrator.EncodeStateParts(rs, parts)
	if err != nil {
		t.Fatalf("encode state: %v", err)
	}
	back, err := orchestrator.DecodeState(def, data)
	if err != nil {
		t.Fatalf("decode state: %v\n%s", err, data)
	}
	again := map[string][]byte{}
	data2, err := orchestrator.EncodeStateParts(back, again)
	if err != nil {
		t.Fatalf("encode decoded state: %v", err)
	}
	if !bytes.Equal(data, data2) {
		t.Fatalf("state changed through a snapshot with parts:\n%s\n%s", data, data2)
	}
	if len(again) != 0 {
		t.Fatalf("a lazy state put %d parts again", len(again))
	}
	return back
}
