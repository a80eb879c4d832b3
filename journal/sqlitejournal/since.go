package sqlitejournal

import (
	"context"
	"fmt"

	"github.com/ordoflow/ordo/journal"
)

// Since implements journal.Store.
func (s *Store) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, events FROM commits WHERE run = ?1 AND seq > ?2 ORDER BY seq`, run, after)
	if err != nil {
		return nil, fmt.Errorf("sqlitejournal: since %s after %d: %w", run, after, err)
	}
	defer rows.Close()
	var events []journal.Event
	want := after + 1
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return nil, fmt.Errorf("sqlitejournal: since %s: %w", run, err)
		}
		if seq != want {
			return nil, fmt.Errorf("sqlitejournal: since %s: commit %d where %d was expected", run, seq, want)
		}
		want++
		es, err := journal.DecodeEvents(b, seq)
		if err != nil {
			return nil, fmt.Errorf("sqlitejournal: since %s: %w", run, err)
		}
		events = append(events, es...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitejournal: since %s: %w", run, err)
	}
	return events, nil
}
