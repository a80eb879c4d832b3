package sqlitejournal

import (
	"context"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/journal"
)

// CountRuns counts the runs matching q's workflow and time bounds, per
// status, in one query (q's Status, Limit and Cursor are ignored).
func (s *Store) CountRuns(ctx context.Context, q journal.Query) (map[journal.Status]int, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	var where []string
	var args []any
	if q.Workflow != "" {
		where, args = append(where, "workflow = ?"), append(args, q.Workflow)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "updated >= ?"), append(args, nanos(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "updated < ?"), append(args, nanos(q.Until))
	}
	query := "SELECT status, COUNT(*) FROM runs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " GROUP BY status"
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitejournal: count runs: %w", err)
	}
	defer rows.Close()
	counts := map[journal.Status]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlitejournal: count runs: %w", err)
		}
		counts[journal.Status(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitejournal: count runs: %w", err)
	}
	return counts, nil
}

// CountInFlight counts the runs not finished (running, waiting, in review
// or deferred) per definition hash, optionally of one workflow.
func (s *Store) CountInFlight(ctx context.Context, workflow string) (map[string]int, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	query := "SELECT def_hash, COUNT(*) FROM runs WHERE status IN (?, ?, ?, ?)"
	args := []any{string(journal.StatusRunning), string(journal.StatusWaiting), string(journal.StatusReview), string(journal.StatusDeferred)}
	if workflow != "" {
		query, args = query+" AND workflow = ?", append(args, workflow)
	}
	rows, err := s.rdb.QueryContext(ctx, query+" GROUP BY def_hash", args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitejournal: count runs in flight: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var hash string
		var n int
		if err := rows.Scan(&hash, &n); err != nil {
			return nil, fmt.Errorf("sqlitejournal: count runs in flight: %w", err)
		}
		counts[hash] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitejournal: count runs in flight: %w", err)
	}
	return counts, nil
}
