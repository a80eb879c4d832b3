package lambdatest

import (
	"errors"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
)

// plainStore is a journal.Store without snapshots.
type plainStore struct{ journal.Store }

// TestStoreSnapshots checks that the wrapper passes journal.Snapshots
// through to a store that keeps them (so that engines under test take
// their snapshot path), fails a crashed process's calls, and answers
// ErrNotFound for a store that keeps none.
func TestStoreSnapshots(t *testing.T) {
	ctx := t.Context()
	mem := memjournal.New()
	p := NewProcess()
	s := Store{Store: mem, Faults: &Faults{}, Process: p}
	if err := s.PutSnapshot(ctx, "r", 3, []byte("state")); err != nil {
		t.Fatal(err)
	}
	seq, data, err := mem.LatestSnapshot(ctx, "r")
	if err != nil || seq != 3 || string(data) != "state" {
		t.Fatalf("wrapped store: got %d %q %v, want the snapshot written through the wrapper", seq, data, err)
	}
	if seq, data, err := s.LatestSnapshot(ctx, "r"); err != nil || seq != 3 || string(data) != "state" {
		t.Errorf("through the wrapper: got %d %q %v", seq, data, err)
	}
	p.dead.Store(true)
	if _, _, err := s.LatestSnapshot(ctx, "r"); !errors.Is(err, ErrCrashed) {
		t.Errorf("crashed process: got %v, want ErrCrashed", err)
	}
	if err := s.PutSnapshot(ctx, "r", 4, []byte("x")); !errors.Is(err, ErrCrashed) {
		t.Errorf("crashed process: got %v, want ErrCrashed", err)
	}

	none := Store{Store: plainStore{memjournal.New()}, Faults: &Faults{}}
	if err := none.PutSnapshot(ctx, "r", 1, []byte("x")); err != nil {
		t.Errorf("put to a store without snapshots: %v", err)
	}
	if _, _, err := none.LatestSnapshot(ctx, "r"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("store without snapshots: got %v, want ErrNotFound", err)
	}
}
