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
