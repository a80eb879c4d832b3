package memjournal

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/ordoflow/ordo/journal"
)

var (
	_ journal.Streams = (*Store)(nil)
	_ journal.Reviews = (*Store)(nil)
)

// internal holds a Store's internal streams and review items, apart from
// its runs.
type internal struct {
	mu      sync.RWMutex
	streams map[string][][]byte
	reviews map[string]journal.ReviewItem
}

func (s *Store) internal() *internal {
	s.internalOnce.Do(func() {
		s.in = &internal{streams: map[string][][]byte{}, reviews: map[string]journal.ReviewItem{}}
	})
	return s.in
}

// AppendStream implements journal.Streams.
func (s *Store) AppendStream(ctx context.Context, stream string, after int64, events []journal.Event) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := journal.ValidateStreamAppend(stream, after, events); err != nil {
		return 0, fmt.Errorf("memjournal: append to stream %s: %w", stream, err)
	}
	b, err := journal.EncodeEvents(events)
	if err != nil {
		return 0, err
	}
	in := s.internal()
	in.mu.Lock()
	defer in.mu.Unlock()
	if int64(len(in.streams[stream])) != after {
		return 0, fmt.Errorf("memjournal: append to stream %s after %d: %w", stream, after, journal.ErrConflict)
	}
	in.streams[stream] = append(in.streams[stream], b)
	return after + 1, nil
}

// ReadStream implements journal.Streams.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]journal.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in := s.internal()
	in.mu.RLock()
	commits := slices.Clone(in.streams[stream])
	in.mu.RUnlock()
	var events []journal.Event
	for i, c := range commits {
		evs, err := journal.DecodeEvents(c, int64(i+1))
		if err != nil {
			return nil, fmt.Errorf("memjournal: read stream %s: %w", stream, err)
		}
		events = append(events, evs...)
	}
	return events, nil
}

// PutReview implements journal.Reviews.
func (s *Store) PutReview(ctx context.Context, it journal.ReviewItem) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := it.Validate(); err != nil {
		return false, fmt.Errorf("memjournal: put review: %w", err)
	}
	it.Resolution = nil
	in := s.internal()
	in.mu.Lock()
	defer in.mu.Unlock()
	if old, ok := in.reviews[it.ID]; ok && old.Resolution == nil {
		return false, nil
	}
	in.reviews[it.ID] = it
	return true, nil
}

// Review implements journal.Reviews.
func (s *Store) Review(ctx context.Context, id string) (journal.ReviewItem, error) {
	if err := ctx.Err(); err != nil {
		return journal.ReviewItem{}, err
	}
	in := s.internal()
	in.mu.RLock()
	defer in.mu.RUnlock()
	it, ok := in.reviews[id]
	if !ok {
		return journal.ReviewItem{}, fmt.Errorf("memjournal: review item %s: %w", id, journal.ErrNotFound)
	}
	return it, nil
}

// Reviews implements journal.Reviews.
func (s *Store) Reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	in := s.internal()
	in.mu.RLock()
	var out []journal.ReviewItem
	for _, it := range in.reviews {
		if (q.Kind == "" || it.Kind == q.Kind) && (it.Resolution != nil) == q.Resolved {
			out = append(out, it)
		}
	}
	in.mu.RUnlock()
	slices.SortFunc(out, func(a, b journal.ReviewItem) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return page(out, q.Cursor, q.Limit)
}

// ResolveReview implements journal.Reviews.
func (s *Store) ResolveReview(ctx context.Context, id string, r journal.Resolution) (journal.ReviewItem, error) {
	if err := ctx.Err(); err != nil {
		return journal.ReviewItem{}, err
	}
	in := s.internal()
	in.mu.Lock()
	defer in.mu.Unlock()
	it, ok := in.reviews[id]
	switch {
	case !ok:
		return it, fmt.Errorf("memjournal: resolve review item %s: %w", id, journal.ErrNotFound)
	case it.Resolution != nil:
		return it, fmt.Errorf("memjournal: resolve review item %s: already %s: %w", id, it.Resolution.Action, journal.ErrConflict)
	}
	it.Resolution = &r
	in.reviews[id] = it
	return it, nil
}
