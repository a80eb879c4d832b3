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
