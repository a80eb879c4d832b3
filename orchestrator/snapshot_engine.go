package orchestrator

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/journal"
)

// DefaultSnapshotEvery is how many events a run's state takes between two
// snapshots when the journal keeps them (journal.Snapshots).
const DefaultSnapshotEvery = 500

// WithSnapshotEvery sets how many events a run takes between two snapshots
// of its folded state (default DefaultSnapshotEvery; 0 or less: none).
// Snapshots are written only when the Store implements journal.Snapshots:
// after a Drive's commit, best effort (a failed write is logged and costs
// only a longer cold load). A cold load then reads the latest snapshot and
// the commits after it (Store.Since) instead of the whole journal; a
// snapshot of another format, of another definition or that does not
// decode is ignored and the run is folded in full. Large values that no
// longer change (the run's input, the payloads of steps that succeeded,
// a finished map step's items) are kept in snapshot parts, written once:
// a cold drive reads them only when a decision needs them (an expression,
// a step scheduled with the run's input, a compensation), so a run
// parked after a large map costs the size of its small rest to load. A
// part that is missing or unreadable when needed also means a full fold.
func WithSnapshotEvery(n int) Option { return func(e *Engine) { e.snapEvery = max(n, 0) } }

// snapshots is the Store's snapshot port, or nil when the engine does not
// use one.
func (e *Engine) snapshots() journal.Snapshots {
	if e.snapEvery <= 0 {
		return nil
	}
	s, _ := e.store.(journal.Snapshots)
	return s
}

// loadSnapshot returns run's state from its latest snapshot and the
// commits after it, or ok false when there is none to use (the caller
// folds the whole journal).
func (e *Engine) loadSnapshot(ctx context.Context, run string) (rs *RunState, ok bool) {
	snaps := e.snapshots()
	if snaps == nil {
		return nil, false
	}
	seq, data, err := snaps.LatestSnapshot(ctx, run)
	if err != nil {
		if !errors.Is(err, journal.ErrNotFound) {
			e.log.Warn("run snapshot unreadable; folding the whole journal", "run", run, "err", err)
		}
		return nil, false
	}
	rs, err = e.restore(ctx, run, seq, data)
	if err != nil {
		e.log.Warn("run snapshot not used; folding the whole journal", "run", run, "seq", seq, "err", err)
		return nil, false
	}
	return rs, true
}

// restore decodes a snapshot taken after commit seq and applies the
// commits after it.
func (e *Engine) restore(ctx context.Context, run string, seq int64, data []byte) (*RunState, error) {
	s, err := parseSnapshot(data)
	if err != nil {
		return nil, err
	}
	def, err := e.Definition(ctx, s.DefHash)
	if err != nil {
		return nil, err
	}
	rs, err := s.state(def)
	if err != nil {
		return nil, err
	}
	if rs.seq != seq {
		return nil, fmt.Errorf("%w: holds commit %d, stored as %d", errSnapshot, rs.seq, seq)
	}
	events, err := e.store.Since(ctx, run, seq)
	if err != nil {
		return nil, err
	}
	for i := range events {
		if rs.touchesLazy(&events[i]) {
			if err := rs.resolve(e.partGetter(ctx, run), needAll); err != nil {
				return nil, err
			}
		}
		if err := rs.Apply(&events[i]); err != nil {
			return nil, err
		}
		rs.seq = events[i].Seq
	}
	rs.unsnapped = len(events)
	return rs, nil
}

// snapshotAfter counts the events of a commit just appended to rs and,
// past the engine's interval, stores a snapshot of rs, best effort. The
// interval is the engine's, or a quarter of the events the state folds if
// that is more: encoding a state costs about its size, which grows with
// the run in map steps, so a fixed interval would make long runs
// quadratic; this way snapshots cost O(1) per event, and a cold load reads
// at most a quarter of the run's events past its snapshot.
func (e *Engine) snapshotAfter(ctx context.Context, run string, rs *RunState, events int) {
	rs.unsnapped += events
	snaps := e.snapshots()
	if snaps == nil || rs.unsnapped < max(e.snapEvery, (rs.snapEvents+rs.unsnapped)/4) {
		return
	}
	data, err := encodeState(rs, partPutter(ctx, snaps, run), cmp.Or(e.partMin, partMin))
	if err == nil {
		err = snaps.PutSnapshot(ctx, run, rs.seq, data)
	}
	if err != nil {
		e.log.Warn("run snapshot not written; a cold load folds more commits", "run", run, "seq", rs.seq, "err", err)
		return
	}
	rs.snapEvents, rs.unsnapped = rs.snapEvents+rs.unsnapped, 0
}

// WriteSnapshot stores a snapshot of run's state now, whatever the
// interval: for tools that prepare runs for cold loads (after an upgrade,
// before a peak) and for benchmarks. It fails when the Store keeps no
// snapshots or snapshots are off (WithSnapshotEvery(0)).
func (e *Engine) WriteSnapshot(ctx context.Context, run string) error {
	snaps := e.snapshots()
	if snaps == nil {
		return fmt.Errorf("snapshot %s: the journal keeps no snapshots, or snapshots are off", run)
	}
	rs, _, err := e.load(ctx, run)
	if err != nil {
		return err
	}
	defer e.cache.put(run, rs)
	data, err := encodeState(rs, partPutter(ctx, snaps, run), cmp.Or(e.partMin, partMin))
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", run, err)
	}
	if err := snaps.PutSnapshot(ctx, run, rs.seq, data); err != nil {
		return fmt.Errorf("snapshot %s: %w", run, err)
	}
	rs.snapEvents, rs.unsnapped = rs.snapEvents+rs.unsnapped, 0
	return nil
}

// partPutter stores the parts of run's snapshot being encoded.
func partPutter(ctx context.Context, snaps journal.Snapshots, run string) func(string, []byte) error {
	return func(key string, data []byte) error { return snaps.PutSnapshotPart(ctx, run, key, data) }
}

// partGetter reads the parts of run's snapshot (a state decoded from one
// has them; without the port, every part is missing).
func (e *Engine) partGetter(ctx context.Context, run string) func(string) ([]byte, error) {
	return func(key string) ([]byte, error) {
		snaps, ok := e.store.(journal.Snapshots)
		if !ok {
			return nil, fmt.Errorf("snapshot part %s of %s: the journal keeps no snapshots: %w", key, run, journal.ErrNotFound)
		}
		return snaps.SnapshotPart(ctx, run, key)
	}
}

// resolve loads the values of rs still in snapshot parts. When a part
// cannot be read or used, the run is folded from its journal instead, and
// that state is returned.
func (e *Engine) resolve(ctx context.Context, run string, rs *RunState) (*RunState, error) {
	return e.resolveNeed(ctx, run, rs, needAll)
}

// resolveNeed is resolve for the values n names.
func (e *Engine) resolveNeed(ctx context.Context, run string, rs *RunState, n need) (*RunState, error) {
	if !rs.hasLazy() {
		return rs, nil
	}
	err := rs.resolve(e.partGetter(ctx, run), n)
	if err == nil {
		return rs, nil
	}
	e.log.Warn("run snapshot part not used; folding the whole journal", "run", run, "err", err)
	folded, err := e.loadFold(ctx, run)
	if err != nil {
		return nil, err
	}
	folded.SetFunctionTimeouts(rs.limits)
	return folded, nil
}
