package orchestrator

import (
	"context"
	"errors"
	"fmt"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// Deferred runs: a workflow with a DeferredKey lets at most one run per key
// be active. The queue for a key is an internal journal stream (see
// QueueStream and journal.Streams), not a run: Deferred (queued), Acquired
// and Released events, so the stream's conditional appends order
// concurrent starts, on every backend, with no other locking.

// QueueStream is the name of the deferral queue stream of the deferred key
// key of workflowName.
func QueueStream(workflowName, key string) string { return "deferred/" + workflowName + "/" + key }

// ErrNoStreams is returned when a deferred workflow runs on a journal
// without internal streams (journal.Streams).
var ErrNoStreams = errors.New("the journal has no internal streams (journal.Streams), which deferred workflows need")

// streams returns the journal's internal streams.
func (e *Engine) streams() (journal.Streams, error) {
	if s, ok := e.store.(journal.Streams); ok {
		return s, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrNoStreams, e.store)
}

// queue is a deferral queue folded from its stream.
type queue struct {
	seq     int64
	active  string
	waiting []string
	known   map[string]bool
}

func (e *Engine) loadQueue(ctx context.Context, id string) (queue, error) {
	q := queue{known: map[string]bool{}}
	streams, err := e.streams()
	if err != nil {
		return q, err
	}
	events, err := streams.ReadStream(ctx, id)
	if err != nil {
		return q, err
	}
	for _, ev := range events {
		q.seq = max(q.seq, ev.Seq)
		switch ev.Kind {
		case journal.Deferred:
			q.waiting = append(q.waiting, ev.Child)
			q.known[ev.Child] = true
		case journal.Acquired:
			q.active = ev.Child
			q.known[ev.Child] = true
			for i, w := range q.waiting {
				if w == ev.Child {
					q.waiting = append(q.waiting[:i:i], q.waiting[i+1:]...)
					break
				}
			}
		case journal.Released:
			if q.active == ev.Child {
				q.active = ""
			}
		}
	}
	return q, nil
}

func (e *Engine) appendQueue(ctx context.Context, id string, after int64, events ...journal.Event) error {
	streams, err := e.streams()
	if err != nil {
		return err
	}
	_, err = streams.AppendStream(ctx, id, after, events)
	return err
}

// Holder returns the run holding the deferred key that the deferred run
// waits for, and the queue stream; "" when run is not deferred, or the key
// is free (its release is on its way).
func (e *Engine) Holder(ctx context.Context, run string) (holder, queueStream string, err error) {
	_, events, err := e.store.Load(ctx, run)
	if err != nil {
		return "", "", err
	}
	for _, ev := range events {
		switch ev.Kind {
		case journal.Deferred:
			queueStream = ev.Child
		case journal.Released:
			return "", "", nil
		}
	}
	if queueStream == "" {
		return "", "", nil
	}
	q, err := e.loadQueue(ctx, queueStream)
	if err != nil || q.active == run {
		return "", queueStream, err
	}
	return q.active, queueStream, nil
}

// enqueue takes run's place in its deferral queue. It returns the queue id
// when run must wait, "" when run may start now, or the existing run when
// this is a duplicate start.
func (e *Engine) enqueue(ctx context.Context, def *workflow.Definition, run string, input any) (string, *Started, error) {
	key, err := deferKey(def, input)
	if err != nil {
		return "", nil, err
	}
	id := QueueStream(def.Name, key)
	for {
		if head, _, err := e.store.Load(ctx, run); err == nil {
			return "", &Started{Run: run, Status: head.Status}, nil
		} else if !errors.Is(err, journal.ErrNotFound) {
			return "", nil, fmt.Errorf("start %s: %w", run, err)
		}
		q, err := e.loadQueue(ctx, id)
		if err != nil {
			return "", nil, fmt.Errorf("start %s: deferral queue: %w", run, err)
		}
		if q.known[run] {
			// Queued by an earlier delivery of this start that did not get to
			// create the run: create it now, in the state the queue says.
			if q.active == run {
				return "", nil, nil
			}
			return id, nil, nil
		}
		ev := journal.Event{Kind: journal.Acquired, At: e.now(), Child: run}
		if q.active != "" {
			ev.Kind = journal.Deferred
		}
		err = e.appendQueue(ctx, id, q.seq, ev)
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		if err != nil {
			return "", nil, fmt.Errorf("start %s: deferral queue: %w", run, err)
		}
		if ev.Kind == journal.Acquired {
			return "", nil, nil
		}
		return id, nil, nil
	}
}

// release hands the deferred key of a run that ended to the next queued
// run, and makes sure that run is released; the Receipt names it when it
// needs a drive.
func (e *Engine) release(ctx context.Context, run string, rs *RunState) (Receipt, error) {
	rs, err := e.resolve(ctx, run, rs)
	if err != nil {
		return Receipt{}, err
	}
	key, err := deferKey(rs.def, rs.inputValue())
	if err != nil {
		return Receipt{}, err
	}
	id := QueueStream(rs.def.Name, key)
	var next string
	for {
		q, err := e.loadQueue(ctx, id)
		if err != nil {
			return Receipt{}, fmt.Errorf("release %s: %w", run, err)
		}
		if q.active != run {
			next = q.active // released before; make sure its successor runs
			break
		}
		events := []journal.Event{{Kind: journal.Released, At: e.now(), Child: run}}
		if len(q.waiting) > 0 {
			next = q.waiting[0]
			events = append(events, journal.Event{Kind: journal.Acquired, At: e.now(), Child: next})
		}
		err = e.appendQueue(ctx, id, q.seq, events...)
		if errors.Is(err, journal.ErrConflict) {
			continue
		}
		if err != nil {
			return Receipt{}, fmt.Errorf("release %s: %w", run, err)
		}
		break
	}
	if next == "" || next == run {
		return Receipt{}, nil
	}
	nrs, _, err := e.load(ctx, next)
	switch {
	case errors.Is(err, journal.ErrNotFound):
		return Receipt{}, nil // its start has not created it yet; that start will find it acquired
	case err != nil:
		return Receipt{}, fmt.Errorf("release %s to %s: %w", run, next, err)
	case nrs.status.Terminal():
		// Cancelled while it waited: it hands the key on in turn.
		return e.release(ctx, next, nrs)
	}
	err = e.operate(ctx, next, func(n *RunState) (journal.Event, journal.Status, error) {
		if n.status != journal.StatusDeferred {
			return journal.Event{}, "", errSkip
		}
		return journal.Event{Kind: journal.Released, Child: id}, journal.StatusRunning, nil
	})
	switch {
	case errors.Is(err, errSkip):
		return Receipt{}, nil
	case errors.Is(err, journal.ErrNotFound):
		return Receipt{}, nil // its start has not created it yet; that start will find it acquired
	case err != nil:
		return Receipt{}, fmt.Errorf("release %s to %s: %w", run, next, err)
	}
	return wakeOne(next), nil
}

// releaseIfAcquired releases the new deferred run st if its queue already
// gave it the key.
func (e *Engine) releaseIfAcquired(ctx context.Context, queue string, st Started) (Started, error) {
	q, err := e.loadQueue(ctx, queue)
	if err != nil || q.active != st.Run {
		return st, err
	}
	e.cache.drop(st.Run)
	err = e.operate(ctx, st.Run, func(n *RunState) (journal.Event, journal.Status, error) {
		if n.status != journal.StatusDeferred {
			return journal.Event{}, "", errSkip
		}
		return journal.Event{Kind: journal.Released, Child: queue}, journal.StatusRunning, nil
	})
	if err != nil && !errors.Is(err, errSkip) {
		return st, fmt.Errorf("release %s: %w", st.Run, err)
	}
	st.Status = journal.StatusRunning
	return st, nil
}
