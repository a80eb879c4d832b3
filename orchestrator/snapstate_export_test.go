package orchestrator

import (
	"fmt"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// DecodeState exposes the snapshot format to the external tests.
var DecodeState = decodeState

// SnapshotFormat is the format this build writes.
const SnapshotFormat = snapshotFormat

// SetPartMin sets the size from which e's snapshots keep a value in a
// part.
func SetPartMin(e *Engine, n int) { e.partMin = n }

// EncodeState encodes rs in the snapshot format, every value inline.
func EncodeState(rs *RunState) ([]byte, error) { return encodeState(rs, nil, 0) }

// EncodeStateParts encodes rs in the snapshot format, every value that a
// part may hold in parts (whatever its size).
func EncodeStateParts(rs *RunState, parts map[string][]byte) ([]byte, error) {
	return encodeState(rs, func(key string, data []byte) error {
		parts[key] = data
		return nil
	}, 1)
}

// getter reads parts from a map.
func getter(parts map[string][]byte) func(string) ([]byte, error) {
	return func(key string) ([]byte, error) {
		data, ok := parts[key]
		if !ok {
			return nil, fmt.Errorf("part %s: %w", key, journal.ErrNotFound)
		}
		return data, nil
	}
}

// DecideResolving decides as the engine's driver does: on a copy of a
// lazy state, resolving it from parts when the decision needs a value.
// It reports whether the parts were read.
func DecideResolving(rs *RunState, now time.Time, parts map[string][]byte) (Decision, bool, error) {
	read := false
	for rs.hasLazy() {
		d, n := rs.decideLazy(now)
		if n == 0 {
			return d, read, nil
		}
		read = true
		if err := rs.resolve(getter(parts), n); err != nil {
			return Decision{}, true, err
		}
		if n == needAll {
			break
		}
	}
	return rs.Decide(now), read, nil
}

// ApplyResolving applies e as the engine does to a lazy state: resolving
// it from parts first when e touches an unresolved value.
func ApplyResolving(rs *RunState, e *journal.Event, parts map[string][]byte) error {
	if rs.touchesLazy(e) {
		if err := rs.resolve(getter(parts), needAll); err != nil {
			return err
		}
	}
	return rs.Apply(e)
}

// Resolve resolves every value of rs from parts.
func Resolve(rs *RunState, parts map[string][]byte) error { return rs.resolve(getter(parts), needAll) }

// HasLazy reports whether rs has values not resolved yet.
func HasLazy(rs *RunState) bool { return rs.hasLazy() }

// WithColdLoads makes an engine load runs from their snapshots as often
// as it can: it caches no run's state, and its snapshots keep every value
// a part may hold in parts.
func WithColdLoads() Option {
	return func(e *Engine) {
		e.cache = newStateCache(0)
		e.partMin = 1
	}
}
