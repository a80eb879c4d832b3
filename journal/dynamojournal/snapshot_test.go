package dynamojournal_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/journaltest"
)

func TestSnapshots(t *testing.T) {
	newClient(t) // skip the whole suite at once without the stack
	journaltest.RunSnapshots(t, func(t *testing.T) journaltest.WithSnapshots {
		s, _, _ := newStore(t)
		return s
	})
}

// TestSnapshotLoadRepairsHead checks that a cold process loading a run from
// its snapshot (LatestSnapshot, then Since, as the engine does) repairs a
// head left behind by a writer that stopped, as a full Load would: whether
// the lost status change is before the snapshot (the snapshot records the
// run's last status change) or after it (Since reads it), with no more
// calls than the load's own when the head is up to date.
func TestSnapshotLoadRepairsHead(t *testing.T) {
	t.Parallel()
	var fail failHeads
	var n calls
	c := newClient(t, fail.option, n.option)
	table := newTable(t, c)
	coldLoad := func(what string, wantSnap int64) map[string]int {
		t.Helper()
		s := dynamojournal.New(c, table)
		n.take()
		seq, _, err := s.LatestSnapshot(t.Context(), "run-s")
		if err != nil || seq != wantSnap {
			t.Fatalf("%s: snapshot at %d, %v; want %d", what, seq, err, wantSnap)
		}
		if _, err := s.Since(t.Context(), "run-s", seq); err != nil {
			t.Fatalf("%s: since %d: %v", what, seq, err)
		}
		return n.take()
	}

	// 1. The status change before the snapshot lost its head write; the
	// writer took the snapshot and stopped.
	w := dynamojournal.New(c, table)
	mustAppend(t, w, startCommit("run-s"))
	mv := stepCommit("run-s", 1, `{}`)
	mv.Status = journal.StatusWaiting
	fail.on.Store(true)
	appendHeadPending(t, w, mv)
	mustAppend(t, w, stepCommit("run-s", 2, `{}`))
	fail.on.Store(false)
	if err := w.PutSnapshot(t.Context(), "run-s", 3, []byte("state")); err != nil {
		t.Fatal(err)
	}
	if st, seq := rawHead(t, c, table, "run-s"); st != "running" || seq != "1" {
		t.Fatalf("head before the cold load: %s at %s, want running at 1 (the write lost)", st, seq)
	}
	// UpdateItem: the new Store's shard count record, and the head.
	if got, want := coldLoad("status change before the snapshot", 3), map[string]int{"GetItem": 1, "Query": 1, "UpdateItem": 2}; !cmp.Equal(got, want) {
		t.Errorf("cold load repairing the head: got calls %v, want %v", got, want)
	}
	if st, seq := rawHead(t, c, table, "run-s"); st != "waiting" || seq != "2" {
		t.Errorf("head after a snapshot load: %s at %s, want waiting at 2", st, seq)
	}
	// The head is up to date: a cold load writes nothing.
	if got, want := coldLoad("head up to date", 3), map[string]int{"GetItem": 1, "Query": 1}; !cmp.Equal(got, want) {
		t.Errorf("cold load, head up to date: got calls %v, want %v", got, want)
	}

	// 2. A status change after the snapshot lost its head write.
	w = dynamojournal.New(c, table)
	mv = stepCommit("run-s", 3, `{}`)
	mv.Status = journal.StatusReview
	fail.on.Store(true)
	appendHeadPending(t, w, mv)
	fail.on.Store(false)
	coldLoad("status change after the snapshot", 3)
	if st, seq := rawHead(t, c, table, "run-s"); st != "review" || seq != "4" {
		t.Errorf("head after a snapshot load: %s at %s, want review at 4", st, seq)
	}
	eventuallyListed(t, w, journal.Query{Status: journal.StatusReview}, "run-s")
}
