package sqlitejournal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/journal"
)

var _ journal.Snapshots = (*Store)(nil)

// snapshotSchema holds each run's latest snapshot, in a table of its own:
// Load, Since and Runs never read it.
var snapshotSchema = []string{
	`CREATE TABLE IF NOT EXISTS snapshots (
		run  TEXT PRIMARY KEY,
		seq  INTEGER NOT NULL,
		data BLOB NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS snapshot_parts (
		run  TEXT NOT NULL,
		key  TEXT NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (run, key)
	) WITHOUT ROWID`,
}

// PutSnapshot implements journal.Snapshots: one upsert that replaces only
// an older snapshot.
func (s *Store) PutSnapshot(ctx context.Context, run string, seq int64, data []byte) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := journal.ValidateSnapshot(run, seq, data); err != nil {
		return fmt.Errorf("sqlitejournal: %w", err)
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO snapshots (run, seq, data) VALUES (?1, ?2, ?3)
		ON CONFLICT (run) DO UPDATE SET seq = excluded.seq, data = excluded.data
		WHERE excluded.seq > snapshots.seq`, run, seq, data)
	if err != nil {
		return fmt.Errorf("sqlitejournal: snapshot of %s after commit %d: %w", run, seq, err)
	}
	return nil
}

// LatestSnapshot implements journal.Snapshots.
func (s *Store) LatestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	if s.isClosed() {
		return 0, nil, ErrClosed
	}
	var seq int64
	var data []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT seq, data FROM snapshots WHERE run = ?1`, run).Scan(&seq, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, fmt.Errorf("sqlitejournal: snapshot of %s: %w", run, journal.ErrNotFound)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("sqlitejournal: snapshot of %s: %w", run, err)
	}
	return seq, data, nil
}

// PutSnapshotPart implements journal.Snapshots: one insert that keeps a
// part already stored.
func (s *Store) PutSnapshotPart(ctx context.Context, run, key string, data []byte) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := journal.ValidateSnapshotPart(run, key, data); err != nil {
		return fmt.Errorf("sqlitejournal: %w", err)
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO snapshot_parts (run, key, data) VALUES (?1, ?2, ?3)
		ON CONFLICT (run, key) DO NOTHING`, run, key, data)
	if err != nil {
		return fmt.Errorf("sqlitejournal: snapshot part %s of %s: %w", key, run, err)
	}
	return nil
}

// SnapshotPart implements journal.Snapshots.
func (s *Store) SnapshotPart(ctx context.Context, run, key string) ([]byte, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	var data []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT data FROM snapshot_parts WHERE run = ?1 AND key = ?2`, run, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlitejournal: snapshot part %s of %s: %w", key, run, journal.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitejournal: snapshot part %s of %s: %w", key, run, err)
	}
	return data, nil
}
