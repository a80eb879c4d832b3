package journal

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	// PutSnapshotPart stores data as run's snapshot part key: a value
	// that snapshots of the run refer to by key instead of holding it, so
	// that a value which no longer changes (a run's input, a finished
	// step's output) is written once and read only when needed. The
	// writer names parts by their content (a hash), so a key always
	// stands for the same data: putting a key already stored is a no-op.
	// key must be 1 to 128 characters of [0-9A-Za-z_-] and data
	// non-empty. Parts live apart from commits and snapshots: Load, Since,
	// Runs and LatestSnapshot never see them.
	PutSnapshotPart(ctx context.Context, run, key string, data []byte) error
	// SnapshotPart returns run's snapshot part key, or ErrNotFound
	// (wrapped) when it has none of that key.
	SnapshotPart(ctx context.Context, run, key string) ([]byte, error)
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

// ValidateSnapshotPart reports what makes a snapshot part impossible to
// store on any backend: no run, a key that is empty, too long or not of
// [0-9A-Za-z_-], or no data.
func ValidateSnapshotPart(run, key string, data []byte) error {
	switch {
	case run == "":
		return errors.New("snapshot part has no run")
	case key == "" || len(key) > 128 || strings.IndexFunc(key, badPartRune) >= 0:
		return fmt.Errorf("snapshot part of %s: key %.140q is not 1 to 128 characters of [0-9A-Za-z_-]", run, key)
	case len(data) == 0:
		return fmt.Errorf("snapshot part %s of %s has no data", key, run)
	}
	return nil
}

func badPartRune(r rune) bool {
	return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-')
}
