package observe

import (
	"context"
	"maps"
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

func (x snapshotter) PutSnapshotPart(ctx context.Context, run, key string, data []byte) error {
	return x.s.PutSnapshotPart(ctx, run, key, data)
}

func (x snapshotter) SnapshotPart(ctx context.Context, run, key string) ([]byte, error) {
	return x.s.SnapshotPart(ctx, run, key)
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
// both as journaled. An attempt this process saw scheduled is timed from
// memory; with WithJournal, one scheduled elsewhere (another Lambda
// container, before a restart) is timed from the run's journal, read once
// per run and then only past what was read. Without it such attempts are
// not timed.
type Tally struct {
	m       Metrics
	journal journal.Store
	mu      sync.Mutex
	open    map[attemptKey]time.Time
	read    map[string]int64 // run → the last commit read from the journal
}

// TallyOption configures a Tally.
type TallyOption func(*Tally)

// WithJournal lets the Tally read the StepScheduled of an attempt it did
// not see scheduled from store (the journal it observes, unwrapped).
func WithJournal(store journal.Store) TallyOption { return func(t *Tally) { t.journal = store } }

type attemptKey struct {
	run, step      string
	index, attempt int
}

// maxOpen bounds the attempts a Tally remembers.
const maxOpen = 100_000

// NewTally returns a Tally reporting to m.
func NewTally(m Metrics, opts ...TallyOption) *Tally {
	t := &Tally{m: m, open: map[attemptKey]time.Time{}, read: map[string]int64{}}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Committed implements Observer.
func (t *Tally) Committed(ctx context.Context, c journal.Commit, _ int64) {
	wf := Workflow(c)
	for i := range c.Events {
		t.event(ctx, wf, c.Run, &c.Events[i])
	}
}

func (t *Tally) event(ctx context.Context, wf, run string, e *journal.Event) {
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
		if took, ok := t.finished(ctx, run, e); ok {
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

func (t *Tally) finished(ctx context.Context, run string, e *journal.Event) (time.Duration, bool) {
	if e.Compensation {
		return 0, false
	}
	k := attemptKey{run, e.Step, e.Index, e.Attempt}
	t.mu.Lock()
	at, ok := t.open[k]
	delete(t.open, k)
	t.mu.Unlock()
	if !ok {
		at, ok = t.scheduledAt(ctx, k)
	}
	if !ok {
		return 0, false
	}
	return max(0, e.At.Sub(at)), true
}

// scheduledAt reads k's StepScheduled from the journal: the run's commits
// past those already read. Attempts scheduled there and not finished yet
// are remembered, so the run's other results need no read.
func (t *Tally) scheduledAt(ctx context.Context, k attemptKey) (time.Time, bool) {
	if t.journal == nil {
		return time.Time{}, false
	}
	t.mu.Lock()
	after := t.read[k.run]
	t.mu.Unlock()
	events, err := t.journal.Since(ctx, k.run, after)
	if err != nil || len(events) == 0 {
		return time.Time{}, false
	}
	var at time.Time
	found := false
	open := map[attemptKey]time.Time{}
	for _, e := range events {
		if e.Compensation || e.Step == "" {
			continue
		}
		ek := attemptKey{k.run, e.Step, e.Index, e.Attempt}
		switch e.Kind {
		case journal.StepScheduled:
			if ek == k {
				at, found = e.At, true
			} else {
				open[ek] = e.At
			}
		case journal.StepSucceeded, journal.StepFailed:
			delete(open, ek)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.open)+len(open) >= maxOpen || len(t.read) >= maxOpen {
		clear(t.open)
		clear(t.read)
	}
	maps.Copy(t.open, open)
	t.read[k.run] = max(t.read[k.run], events[len(events)-1].Seq)
	return at, found
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
