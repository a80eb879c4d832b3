package sqlitejournal

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ordoflow/ordo/journal"
)

// defaultLimit and maxLimit bound a page of Runs.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Load implements journal.Store. Head and events come from one snapshot.
func (s *Store) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	head, events, err := s.load(ctx, run)
	if err != nil {
		return journal.Run{}, nil, fmt.Errorf("sqlitejournal: load %s: %w", run, err)
	}
	return head, events, nil
}

func (s *Store) load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	if s.isClosed() {
		return journal.Run{}, nil, ErrClosed
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return journal.Run{}, nil, err
	}
	defer tx.Rollback()

	head := journal.Run{ID: run}
	var status string
	var created, updated int64
	err = tx.StmtContext(ctx, s.selHead).QueryRowContext(ctx, run).
		Scan(&head.Workflow, &head.DefHash, &status, &head.Seq, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return journal.Run{}, nil, journal.ErrNotFound
	}
	if err != nil {
		return journal.Run{}, nil, err
	}
	head.Status = journal.Status(status)
	head.Created, head.Updated = fromNanos(created), fromNanos(updated)

	rows, err := tx.StmtContext(ctx, s.selCommits).QueryContext(ctx, run)
	if err != nil {
		return journal.Run{}, nil, err
	}
	defer rows.Close()
	var events []journal.Event
	want := int64(1)
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return journal.Run{}, nil, err
		}
		if seq != want {
			return journal.Run{}, nil, fmt.Errorf("journal has commit %d where %d was expected", seq, want)
		}
		want++
		es, err := journal.DecodeEvents(b, seq)
		if err != nil {
			return journal.Run{}, nil, err
		}
		events = append(events, es...)
	}
	if err := rows.Err(); err != nil {
		return journal.Run{}, nil, err
	}
	// The head records the seq of the run's last status change; the run
	// is at its last commit.
	if want-1 < max(head.Seq, 1) {
		return journal.Run{}, nil, fmt.Errorf("head is at seq %d but the journal has %d commits", head.Seq, want-1)
	}
	head.Seq = want - 1
	return head, events, nil
}

// Runs implements journal.Store. Pages are keyset-paginated on
// (updated, id), so runs created between pages do not shift later pages.
// Since is inclusive and Until exclusive.
func (s *Store) Runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	runs, cursor, err := s.runs(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("sqlitejournal: runs: %w", err)
	}
	return runs, cursor, nil
}

func (s *Store) runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	if s.isClosed() {
		return nil, "", ErrClosed
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)

	var where []string
	var args []any
	if q.Workflow != "" {
		where, args = append(where, "workflow = ?"), append(args, q.Workflow)
	}
	if q.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(q.Status))
	}
	if !q.Since.IsZero() {
		where, args = append(where, "updated >= ?"), append(args, nanos(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "updated < ?"), append(args, nanos(q.Until))
	}
	if q.Cursor != "" {
		updated, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "(updated, id) < (?, ?)"), append(args, updated, id)
	}
	// The head's seq moves only with its status; the run's last commit is
	// one index seek away.
	query := "SELECT id, workflow, def_hash, status, coalesce((SELECT max(seq) FROM commits WHERE run = runs.id), seq), created, updated FROM runs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY updated DESC, id DESC LIMIT ?"
	args = append(args, limit+1)

	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var runs []journal.Run
	for rows.Next() {
		var r journal.Run
		var status string
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.Workflow, &r.DefHash, &status, &r.Seq, &created, &updated); err != nil {
			return nil, "", err
		}
		r.Status = journal.Status(status)
		r.Created, r.Updated = fromNanos(created), fromNanos(updated)
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(runs) <= limit {
		return runs, "", nil
	}
	runs = runs[:limit]
	last := runs[limit-1]
	return runs, encodeCursor(nanos(last.Updated), last.ID), nil
}

// A cursor is the (updated, id) of the last run on a page.
func encodeCursor(updated int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(updated, 10) + ":" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if u, id, ok := strings.Cut(string(b), ":"); ok {
			if n, err := strconv.ParseInt(u, 10, 64); err == nil {
				return n, id, nil
			}
		}
	}
	return 0, "", fmt.Errorf("%w %.40q", journal.ErrBadCursor, c)
}

// PutDefinition implements journal.Store. A zero Created is set to now.
func (s *Store) PutDefinition(ctx context.Context, d journal.Definition) error {
	if err := s.putDefinition(ctx, d); err != nil {
		return fmt.Errorf("sqlitejournal: put definition %s: %w", d.Hash, err)
	}
	return nil
}

func (s *Store) putDefinition(ctx context.Context, d journal.Definition) error {
	if s.isClosed() {
		return ErrClosed
	}
	if s.opts.readOnly {
		return ErrReadOnly
	}
	if d.Hash == "" {
		return errors.New("definition has no hash")
	}
	created := d.Created
	if created.IsZero() {
		created = s.now()
	}
	js := d.JSON
	if js == nil {
		js = []byte{}
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO definitions (hash, name, version, json, created)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
		d.Hash, d.Name, d.Version, js, nanos(created))
	return err
}

// Definition implements journal.Store.
func (s *Store) Definition(ctx context.Context, hash string) (journal.Definition, error) {
	if s.isClosed() {
		return journal.Definition{}, fmt.Errorf("sqlitejournal: definition %s: %w", hash, ErrClosed)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT hash, name, version, json, created
		FROM definitions WHERE hash = ?`, hash)
	var defs []journal.Definition
	if err == nil {
		defs, err = scanDefinitions(rows)
	}
	if err == nil && len(defs) == 0 {
		err = journal.ErrNotFound
	}
	if err != nil {
		return journal.Definition{}, fmt.Errorf("sqlitejournal: definition %s: %w", hash, err)
	}
	return defs[0], nil
}

// Definitions implements journal.Store.
func (s *Store) Definitions(ctx context.Context, name string) ([]journal.Definition, error) {
	if s.isClosed() {
		return nil, fmt.Errorf("sqlitejournal: definitions %q: %w", name, ErrClosed)
	}
	query := `SELECT hash, name, version, json, created FROM definitions`
	var args []any
	if name != "" {
		query += ` WHERE name = ?`
		args = append(args, name)
	}
	query += ` ORDER BY created DESC, hash DESC`
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	var defs []journal.Definition
	if err == nil {
		defs, err = scanDefinitions(rows)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlitejournal: definitions %q: %w", name, err)
	}
	return defs, nil
}

func scanDefinitions(rows *sql.Rows) ([]journal.Definition, error) {
	defer rows.Close()
	var defs []journal.Definition
	for rows.Next() {
		var d journal.Definition
		var created int64
		if err := rows.Scan(&d.Hash, &d.Name, &d.Version, &d.JSON, &created); err != nil {
			return nil, err
		}
		d.Created = fromNanos(created)
		defs = append(defs, d)
	}
	return defs, rows.Err()
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}
