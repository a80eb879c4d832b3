package journaltest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ordoflow/ordo/journal"
)

// testSince checks Since: the events after a sequence, as Load would show
// them, and nothing (no error) past the end or for an unknown run.
func testSince(t *testing.T, s journal.Store) {
	const run = "since/r1"
	start(t, s, run, "since", journal.StatusRunning, 0)
	mustAppend(t, s, journal.Commit{Run: run, After: 1, Events: []journal.Event{step("a", 1, 1), step("b", 1, 2)}, At: at(2)}, 2)
	mustAppend(t, s, journal.Commit{Run: run, After: 2, Events: []journal.Event{step("c", 1, 3)}, Status: journal.StatusCompleted, At: at(3)}, 3)
	_, all := mustLoad(t, s, run)
	for after := int64(0); after <= 4; after++ {
		got, err := s.Since(t.Context(), run, after)
		if err != nil {
			t.Fatalf("since %d: %v", after, err)
		}
		var want []journal.Event
		for _, e := range all {
			if e.Seq > after {
				want = append(want, e)
			}
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.EquateApproxTime(0)); diff != "" {
			t.Errorf("since %d (-want +got):\n%s", after, diff)
		}
	}
	if got, err := s.Since(t.Context(), "since/unknown", 0); err != nil || len(got) != 0 {
		t.Errorf("since of an unknown run = %v, %v; want no events, no error", got, err)
	}
}
