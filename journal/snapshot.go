package journal

import (
	"context"
	"errors"
	"fmt"
)

// Snapshots is an optional port beside Store: the latest snapshot of each
// run's folded state, so that a cold process (a new Lambda container, a
// restart) loads a snapshot and the commits after it (Store.Since) instead
// of the run's whole journal. A snapshot is a cache: the commits stay the
// truth, and a missing, old or unreadable snapshot only costs a full load.
//
// The data is opaque to the journal; its writer (the engine) puts its own
// format version in it. Snapshots live apart from commits: Load, Since and
// Runs never see them.
type Snapshots interface {
	// PutSnapshot stores data as run's state after commit seq, replacing
	// an older snapshot of the run. A snapshot at or before the stored
	// one's seq is ignored (no error), so racing writers never move a
	// run's snapshot back. seq must be positive and data non-empty.
	PutSnapshot(ctx context.Context, run string, seq int64, data []byte) error
	// LatestSnapshot returns run's latest snapshot and the commit it was
	// taken after, or ErrNotFound (wrapped) when the run has none.
	LatestSnapshot(ctx context.Context, run string) (seq int64, data []byte, err error)
}

// ValidateSnapshot reports what makes a snapshot impossible to store on
// any backend: no run, a sequence below 1, or no data.
func ValidateSnapshot(run string, seq int64, data []byte) error {
	switch {
	case run == "":
		return errors.New("snapshot has no run")
	case seq < 1:
		return fmt.Errorf("snapshot of %s after commit %d: the first commit is 1", run, seq)
	case len(data) == 0:
		return fmt.Errorf("snapshot of %s after commit %d has no data", run, seq)
	}
	return nil
}
