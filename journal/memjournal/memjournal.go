// Package memjournal is an in-memory journal.Store for unit tests and
// examples. It has the semantics of the durable backends (it passes
// journaltest) but keeps nothing across processes.
package memjournal

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// Store is an in-memory journal.Store.
type Store struct {
	mu      sync.RWMutex
	runs    map[string]*run
	defs    map[string]journal.Definition
	defList []string

	internalOnce sync.Once
	in           *internal // streams and review items (streams.go)

	snapMu sync.Mutex
	snaps  map[string]snapshot  // by run (snapshot.go)
	parts  map[[2]string][]byte // snapshot parts by run and key
}

type run struct {
	head    journal.Run
	commits [][]byte
}

var _ journal.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{runs: map[string]*run{}, defs: map[string]journal.Definition{}}
}

// Load implements journal.Store.
func (s *Store) Load(ctx context.Context, id string) (journal.Run, []journal.Event, error) {
	if err := ctx.Err(); err != nil {
		return journal.Run{}, nil, err
	}
	s.mu.RLock()
	r, ok := s.runs[id]
	if !ok {
		s.mu.RUnlock()
		return journal.Run{}, nil, fmt.Errorf("memjournal: load %s: %w", id, journal.ErrNotFound)
	}
	head, commits := r.head, slices.Clone(r.commits)
	s.mu.RUnlock()
	var events []journal.Event
	for i, c := range commits {
		evs, err := journal.DecodeEvents(c, int64(i+1))
		if err != nil {
			return journal.Run{}, nil, err
		}
		events = append(events, evs...)
	}
	return head, events, nil
}

// Since implements journal.Store.
func (s *Store) Since(ctx context.Context, id string, after int64) ([]journal.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	r, ok := s.runs[id]
	var commits [][]byte
	if ok && after < int64(len(r.commits)) {
		commits = slices.Clone(r.commits[max(after, 0):])
	}
	s.mu.RUnlock()
	var events []journal.Event
	for i, c := range commits {
		evs, err := journal.DecodeEvents(c, max(after, 0)+int64(i)+1)
		if err != nil {
			return nil, err
		}
		events = append(events, evs...)
	}
	return events, nil
}

// Append implements journal.Store.
func (s *Store) Append(ctx context.Context, c journal.Commit) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.Validate(); err != nil {
		return 0, fmt.Errorf("memjournal: append %s: %w", c.Run, err)
	}
	b, err := journal.EncodeEvents(c.Events)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[c.Run]
	switch {
	case c.After == 0 && ok, c.After > 0 && (!ok || int64(len(r.commits)) != c.After), c.After < 0:
		return 0, fmt.Errorf("memjournal: append %s after %d: %w", c.Run, c.After, journal.ErrConflict)
	case !ok:
		r = &run{head: journal.Run{ID: c.Run, Workflow: c.Workflow, DefHash: c.DefHash, Status: c.Status,
			Created: c.At, Updated: c.At}}
		if r.head.Status == "" {
			r.head.Status = journal.StatusRunning
		}
		s.runs[c.Run] = r
	case c.Status != "":
		r.head.Status, r.head.Updated = c.Status, c.At
	}
	r.commits = append(r.commits, b)
	r.head.Seq = int64(len(r.commits))
	return r.head.Seq, nil
}

// Runs implements journal.Store.
func (s *Store) Runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	s.mu.RLock()
	var out []journal.Run
	for _, r := range s.runs {
		h := r.head
		if (q.Workflow == "" || h.Workflow == q.Workflow) && (q.Status == "" || h.Status == q.Status) &&
			(q.Since.IsZero() || !h.Updated.Before(q.Since)) && (q.Until.IsZero() || h.Updated.Before(q.Until)) {
			out = append(out, h)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b journal.Run) int {
		if c := b.Updated.Compare(a.Updated); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return page(out, q.Cursor, q.Limit)
}

// PutDefinition implements journal.Store.
func (s *Store) PutDefinition(ctx context.Context, d journal.Definition) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.Created.IsZero() {
		d.Created = time.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.defs[d.Hash]; ok {
		return nil
	}
	s.defs[d.Hash] = d
	s.defList = append(s.defList, d.Hash)
	return nil
}

// Definition implements journal.Store.
func (s *Store) Definition(ctx context.Context, hash string) (journal.Definition, error) {
	if err := ctx.Err(); err != nil {
		return journal.Definition{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.defs[hash]
	if !ok {
		return journal.Definition{}, fmt.Errorf("memjournal: definition %s: %w", hash, journal.ErrNotFound)
	}
	return d, nil
}

// Definitions implements journal.Store.
func (s *Store) Definitions(ctx context.Context, name string) ([]journal.Definition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var out []journal.Definition
	for i := len(s.defList) - 1; i >= 0; i-- {
		if d := s.defs[s.defList[i]]; name == "" || d.Name == name {
			out = append(out, d)
		}
	}
	s.mu.RUnlock()
	slices.SortStableFunc(out, func(a, b journal.Definition) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// page returns the page of items a cursor (an offset, "" for the first
// page) and limit (0: 100) select, and the cursor of the next page ("" at
// the end).
func page[T any](items []T, cursor string, limit int) ([]T, string, error) {
	start := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("memjournal: %w %.40q", journal.ErrBadCursor, cursor)
		}
		start = min(n, len(items))
	}
	if limit <= 0 {
		limit = 100
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}
