package sqlitejournal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ordoflow/ordo/journal"
)

var (
	_ journal.Streams = (*Store)(nil)
	_ journal.Reviews = (*Store)(nil)
)

// streamSchema holds internal streams and review items, in tables of their
// own: the runs table and its indexes never see them.
var streamSchema = []string{
	`CREATE TABLE IF NOT EXISTS stream_commits (
		stream TEXT NOT NULL,
		seq    INTEGER NOT NULL,
		at     INTEGER NOT NULL,
		events BLOB NOT NULL,
		PRIMARY KEY (stream, seq)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS review_items (
		id       TEXT PRIMARY KEY,
		kind     TEXT NOT NULL,
		resolved INTEGER NOT NULL,
		created  INTEGER NOT NULL,
		item     BLOB NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS review_items_by_state ON review_items (resolved, created, id)`,
}

// AppendStream implements journal.Streams: one INSERT that takes the next
// sequence only if after is the stream's last.
func (s *Store) AppendStream(ctx context.Context, stream string, after int64, events []journal.Event) (int64, error) {
	seq, err := s.appendStream(ctx, stream, after, events)
	if err != nil {
		return 0, fmt.Errorf("sqlitejournal: append to stream %s after %d: %w", stream, after, err)
	}
	return seq, nil
}

func (s *Store) appendStream(ctx context.Context, stream string, after int64, events []journal.Event) (int64, error) {
	if err := s.writable(); err != nil {
		return 0, err
	}
	if err := journal.ValidateStreamAppend(stream, after, events); err != nil {
		return 0, err
	}
	b, err := journal.EncodeEvents(events)
	if err != nil {
		return 0, err
	}
	if len(b) > s.opts.maxCommitSize {
		return 0, fmt.Errorf("%d bytes of events, limit %d: %w", len(b), s.opts.maxCommitSize, journal.ErrTooLarge)
	}
	res, err := s.wdb.ExecContext(ctx, `INSERT INTO stream_commits (stream, seq, at, events)
		SELECT ?1, ?2 + 1, ?3, ?4
		WHERE (SELECT coalesce(max(seq), 0) FROM stream_commits WHERE stream = ?1) = ?2
		ON CONFLICT (stream, seq) DO NOTHING`, stream, after, nanos(s.now()), b)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if n == 0 {
		return 0, journal.ErrConflict
	}
	return after + 1, nil
}

// ReadStream implements journal.Streams.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]journal.Event, error) {
	if s.isClosed() {
		return nil, ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, events FROM stream_commits WHERE stream = ?1 ORDER BY seq`, stream)
	if err != nil {
		return nil, fmt.Errorf("sqlitejournal: read stream %s: %w", stream, err)
	}
	defer rows.Close()
	var events []journal.Event
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return nil, fmt.Errorf("sqlitejournal: read stream %s: %w", stream, err)
		}
		evs, err := journal.DecodeEvents(b, seq)
		if err != nil {
			return nil, fmt.Errorf("sqlitejournal: read stream %s commit %d: %w", stream, seq, err)
		}
		events = append(events, evs...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitejournal: read stream %s: %w", stream, err)
	}
	return events, nil
}

// PutReview implements journal.Reviews.
func (s *Store) PutReview(ctx context.Context, it journal.ReviewItem) (bool, error) {
	if err := s.writable(); err != nil {
		return false, fmt.Errorf("sqlitejournal: put review %s: %w", it.ID, err)
	}
	if err := it.Validate(); err != nil {
		return false, fmt.Errorf("sqlitejournal: put review: %w", err)
	}
	it.Resolution = nil
	b, err := json.Marshal(it)
	if err != nil {
		return false, fmt.Errorf("sqlitejournal: put review %s: %w", it.ID, err)
	}
	res, err := s.wdb.ExecContext(ctx, `INSERT INTO review_items (id, kind, resolved, created, item)
		VALUES (?1, ?2, 0, ?3, ?4)
		ON CONFLICT (id) DO UPDATE SET kind = ?2, resolved = 0, created = ?3, item = ?4 WHERE resolved = 1`,
		it.ID, string(it.Kind), nanos(it.Created), b)
	if err != nil {
		return false, fmt.Errorf("sqlitejournal: put review %s: %w", it.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlitejournal: put review %s: %w", it.ID, err)
	}
	return n > 0, nil
}

// Review implements journal.Reviews.
func (s *Store) Review(ctx context.Context, id string) (journal.ReviewItem, error) {
	it, err := s.review(ctx, s.rdb, id)
	if err != nil {
		return it, fmt.Errorf("sqlitejournal: review item %s: %w", id, err)
	}
	return it, nil
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) review(ctx context.Context, db queryRower, id string) (journal.ReviewItem, error) {
	var it journal.ReviewItem
	if s.isClosed() {
		return it, ErrClosed
	}
	var b []byte
	err := db.QueryRowContext(ctx, `SELECT item FROM review_items WHERE id = ?1`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return it, journal.ErrNotFound
	}
	if err != nil {
		return it, err
	}
	return it, json.Unmarshal(b, &it)
}

// Reviews implements journal.Reviews, oldest first; the cursor is the
// offset of the next page.
func (s *Store) Reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	items, next, err := s.reviews(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("sqlitejournal: reviews %+v: %w", q, err)
	}
	return items, next, nil
}

func (s *Store) reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	if s.isClosed() {
		return nil, "", ErrClosed
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("invalid cursor %q", q.Cursor)
		}
		offset = n
	}
	resolved := 0
	if q.Resolved {
		resolved = 1
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT item FROM review_items
		WHERE resolved = ?1 AND (?2 = '' OR kind = ?2)
		ORDER BY created, id LIMIT ?3 OFFSET ?4`, resolved, string(q.Kind), limit+1, offset)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []journal.ReviewItem
	for rows.Next() {
		var b []byte
		var it journal.ReviewItem
		if err := rows.Scan(&b); err != nil {
			return nil, "", err
		}
		if err := json.Unmarshal(b, &it); err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(items) > limit {
		return items[:limit], strconv.Itoa(offset + limit), nil
	}
	return items, "", nil
}

// ResolveReview implements journal.Reviews.
func (s *Store) ResolveReview(ctx context.Context, id string, r journal.Resolution) (journal.ReviewItem, error) {
	it, err := s.resolveReview(ctx, id, r)
	if err != nil {
		return it, fmt.Errorf("sqlitejournal: resolve review item %s: %w", id, err)
	}
	return it, nil
}

func (s *Store) resolveReview(ctx context.Context, id string, r journal.Resolution) (journal.ReviewItem, error) {
	if err := s.writable(); err != nil {
		return journal.ReviewItem{}, err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return journal.ReviewItem{}, err
	}
	defer tx.Rollback()
	it, err := s.review(ctx, tx, id)
	if err != nil {
		return it, err
	}
	if it.Resolution != nil {
		return it, fmt.Errorf("already %s: %w", it.Resolution.Action, journal.ErrConflict)
	}
	it.Resolution = &r
	b, err := json.Marshal(it)
	if err != nil {
		return it, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE review_items SET resolved = 1, item = ?2 WHERE id = ?1`, id, b); err != nil {
		return it, err
	}
	return it, tx.Commit()
}
