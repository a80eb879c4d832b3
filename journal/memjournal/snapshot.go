package memjournal

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ordoflow/ordo/journal"
)

var _ journal.Snapshots = (*Store)(nil)

// snapshot is a run's latest snapshot.
type snapshot struct {
	seq  int64
	data []byte
}

// PutSnapshot implements journal.Snapshots.
func (s *Store) PutSnapshot(ctx context.Context, run string, seq int64, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := journal.ValidateSnapshot(run, seq, data); err != nil {
		return fmt.Errorf("memjournal: %w", err)
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.snaps == nil {
		s.snaps = map[string]snapshot{}
	}
	if old, ok := s.snaps[run]; !ok || old.seq < seq {
		s.snaps[run] = snapshot{seq: seq, data: bytes.Clone(data)}
	}
	return nil
}

// LatestSnapshot implements journal.Snapshots.
func (s *Store) LatestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	sn, ok := s.snaps[run]
	if !ok {
		return 0, nil, fmt.Errorf("memjournal: snapshot of %s: %w", run, journal.ErrNotFound)
	}
	return sn.seq, bytes.Clone(sn.data), nil
}

// PutSnapshotPart implements journal.Snapshots.
func (s *Store) PutSnapshotPart(ctx context.Context, run, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := journal.ValidateSnapshotPart(run, key, data); err != nil {
		return fmt.Errorf("memjournal: %w", err)
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	if s.parts == nil {
		s.parts = map[[2]string][]byte{}
	}
	if _, ok := s.parts[[2]string{run, key}]; !ok {
		s.parts[[2]string{run, key}] = bytes.Clone(data)
	}
	return nil
}

// SnapshotPart implements journal.Snapshots.
func (s *Store) SnapshotPart(ctx context.Context, run, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	data, ok := s.parts[[2]string{run, key}]
	if !ok {
		return nil, fmt.Errorf("memjournal: snapshot part %s of %s: %w", key, run, journal.ErrNotFound)
	}
	return bytes.Clone(data), nil
}
