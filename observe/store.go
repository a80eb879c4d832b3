package observe

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// Observer is told of each commit appended through a Store.
type Observer interface {
	Committed(ctx context.Context, c journal.Commit, seq int64)
}

// Store is a journal.Store that reports each appended commit to its
// observers, after the append succeeded.
type Store struct {
	journal.Store
	observers []Observer
}

// Wrap returns store reporting its commits to observers. The result
// implements journal.Streams, journal.Reviews and journal.Snapshots when
// store does (internal streams, review items and snapshots are not runs:
// they are passed through unobserved). Dropping Snapshots would turn off
// the engine's snapshot loads without a word.
func Wrap(store journal.Store, observers ...Observer) journal.Store {
	w := &Store{Store: store, observers: observers}
	streams, isStreams := store.(journal.Streams)
	reviews, isReviews := store.(journal.Reviews)
	snaps, isSnaps := store.(journal.Snapshots)
	st, rv, sn := streamer{streams}, reviewer{reviews}, snapshotter{snaps}
	switch {
	case isStreams && isReviews && isSnaps:
		return struct {
			*Store
			streamer
			reviewer
			snapshotter
		}{w, st, rv, sn}
	case isStreams && isReviews:
		return struct {
			*Store
			streamer
			reviewer
		}{w, st, rv}
	case isStreams && isSnaps:
		return struct {
			*Store
			streamer
			snapshotter
		}{w, st, sn}
	case isReviews && isSnaps:
		return struct {
			*Store
			reviewer
			snapshotter
		}{w, rv, sn}
	case isStreams:
		return struct {
			*Store
			streamer
		}{w, st}
	case isReviews:
		return struct {
			*Store
			reviewer
		}{w, rv}
	case isSnaps:
		return struct {
			*Store
			snapshotter
		}{w, sn}
	}
	return w
}

type snapshotter struct{ s journal.Snapshots }

func (x snapshotter) PutSnapshot(ctx context.Context, run string, seq int64, data []byte) error {
	return x.s.PutSnapshot(ctx, run, seq, data)
}

func (x snapshotter) LatestSnapshot(ctx context.Context, run string) (int64, []byte, error) {
	return x.s.LatestSnapshot(ctx, run)
}

// streamer and reviewer pass a journal's optional ports through (an
// embedded journal.Reviews would be a field named Reviews, hiding its
// method of that name).
type streamer struct{ s journal.Streams }

func (x streamer) AppendStream(ctx context.Context, stream string, after int64, events []journal.Event) (int64, error) {
	return x.s.AppendStream(ctx, stream, after, events)
}

func (x streamer) ReadStream(ctx context.Context, stream string) ([]journal.Event, error) {
	return x.s.ReadStream(ctx, stream)
}

type reviewer struct{ r journal.Reviews }

func (x reviewer) PutReview(ctx context.Context, it journal.ReviewItem) (bool, error) {
	return x.r.PutReview(ctx, it)
}

func (x reviewer) Review(ctx context.Context, id string) (journal.ReviewItem, error) {
	return x.r.Review(ctx, id)
}

func (x reviewer) Reviews(ctx context.Context, q journal.ReviewQuery) ([]journal.ReviewItem, string, error) {
	return x.r.Reviews(ctx, q)
}

func (x reviewer) ResolveReview(ctx context.Context, id string, res journal.Resolution) (journal.ReviewItem, error) {
	return x.r.ResolveReview(ctx, id, res)
}

// Append implements journal.Store.
func (s *Store) Append(ctx context.Context, c journal.Commit) (int64, error) {
	seq, err := s.Store.Append(ctx, c)
	if err != nil {
		return seq, err
	}
	for _, o := range s.observers {
		o.Committed(ctx, c, seq)
	}
	return seq, nil
}

// Unwrap returns the wrapped store (for optional interfaces such as a
// status counter).
func (s *Store) Unwrap() journal.Store { return s.Store }

// Metrics receives what commits say happened to runs, steps and effects.
type Metrics interface {
	RunStarted(workflow string)
	// RunEnded reports a run reaching completed, failed, cancelled or
	// review.
	RunEnded(workflow string, status journal.Status)
	StepFinished(workflow, step string, ok bool, took time.Duration)
	Retry(workflow, step string)
	Effect(workflow, outcome string)
}

// Tally is an Observer that turns commits into Metrics calls. Step
// latencies are measured from an attempt's StepScheduled to its result,
// both as journaled; attempts scheduled before this process started (or
// more than maxOpen at once) are not timed.
type Tally struct {
	m    Metrics
	mu   sync.Mutex
	open map[attemptKey]time.Time
}

type attemptKey struct {
	run, step      string
	index, attempt int
}

// maxOpen bounds the attempts a Tally remembers.
const maxOpen = 100_000

// NewTally returns a Tally reporting to m.
func NewTally(m Metrics) *Tally { return &Tally{m: m, open: map[attemptKey]time.Time{}} }

// Committed implements Observer.
func (t *Tally) Committed(_ context.Context, c journal.Commit, _ int64) {
	wf := Workflow(c)
	for i := range c.Events {
		t.event(wf, c.Run, &c.Events[i])
	}
}

func (t *Tally) event(wf, run string, e *journal.Event) {
	switch e.Kind {
	case journal.RunStarted:
		t.m.RunStarted(wf)
	case journal.RunCompleted:
		t.m.RunEnded(wf, journal.StatusCompleted)
	case journal.RunFailed:
		t.m.RunEnded(wf, journal.StatusFailed)
	case journal.Cancelled:
		t.m.RunEnded(wf, journal.StatusCancelled)
	case journal.NeedsReview:
		t.m.RunEnded(wf, journal.StatusReview)
	case journal.RetryScheduled:
		t.m.Retry(wf, e.Step)
	case journal.EffectSucceeded:
		t.m.Effect(wf, "succeeded")
	case journal.EffectFailed:
		t.m.Effect(wf, "failed")
	case journal.StepScheduled:
		t.scheduled(run, e)
	case journal.StepSucceeded, journal.StepFailed:
		if took, ok := t.finished(run, e); ok {
			t.m.StepFinished(wf, e.Step, e.Kind == journal.StepSucceeded, took)
		}
	}
}

func (t *Tally) scheduled(run string, e *journal.Event) {
	if e.Compensation {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.open) >= maxOpen {
		clear(t.open)
	}
	t.open[attemptKey{run, e.Step, e.Index, e.Attempt}] = e.At
}

func (t *Tally) finished(run string, e *journal.Event) (time.Duration, bool) {
	k := attemptKey{run, e.Step, e.Index, e.Attempt}
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.open[k]
	if !ok || e.Compensation {
		return 0, false
	}
	delete(t.open, k)
	return max(0, e.At.Sub(at)), true
}

// Workflow is a commit's workflow: named on a run's first commit, else the
// run id's prefix (run ids are workflow/key).
func Workflow(c journal.Commit) string {
	if c.Workflow != "" {
		return c.Workflow
	}
	wf, _, _ := strings.Cut(c.Run, "/")
	return wf
}
