package lambdatest

import (
	"context"
	"fmt"

	"github.com/ordoflow/ordo/journal"
)

// The wrapped journal's internal streams and review items pass through
// Store (deferral queues, malformed triggers and failed effects need them):
// a crashed process's calls fail like its appends.
var (
	_ journal.Streams = Store{}
	_ journal.Reviews = Store{}
)

func (s Store) streams(ctx context.Context) (journal.Streams, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	st, ok := s.Store.(journal.Streams)
	if !ok {
		return nil, fmt.Errorf("lambdatest: %T has no internal streams (journal.Streams)", s.Store)
	}
	return st, nil
}

func (s Store) reviews(ctx context.Context) (journal.Reviews, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	r, ok := s.Store.(journal.Reviews)
	if !ok {
		return nil, fmt.Errorf("lambdatest: %T has no review items (journal.Reviews)", s.Store)
	}
	return r, nil
}

// AppendStream implements journal.Streams.
func (s Store) AppendStream(ctx context.Context, stream string, after int64, events []journal.Event) (int64, error) {
	st, err := s.streams(ctx)
	if err != nil {
		return 0, err
	}
	return st.AppendStream(ctx, stream, after, events)
}

// ReadStream implements journal.Streams.
func (s Store) ReadStream(ctx context.Context, stream string) ([]journal.Event, error) {
	st, err := s.streams(ctx)
	if err != nil {
		return nil, err
	}
	return st.ReadStream(ctx, stream)
}

// PutReview implements journal.Reviews.
func (s Store) PutReview(ctx context.Context, it journal.ReviewItem) (bool, error) {
	r, err := s.reviews(ctx)
	if err != nil {
		return false, err
	}
	return r.PutReview(ctx, it)
}

// Review implements journal.Reviews.
func (s Store) Review(ctx context.Context, id string) (journal.ReviewItem, error) {
	r, err := s.reviews(ctx)
	if err != nil {
		return journal.ReviewItem{}, err
	}
	return r.Review(ctx, id)
}

// Reviews implements journal.Reviews.
func (s Store) Reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	r, err := s.reviews(ctx)
	if err != nil {
		return nil, "", err
	}
	return r.Reviews(ctx, q)
}

// ResolveReview implements journal.Reviews.
func (s Store) ResolveReview(ctx context.Context, id string, res journal.Resolution) (journal.ReviewItem, error) {
	r, err := s.reviews(ctx)
	if err != nil {
		return journal.ReviewItem{}, err
	}
	return r.ResolveReview(ctx, id, res)
}
