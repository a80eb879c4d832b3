package orchestrator

import (
	"context"
	"fmt"
	"sync"
)

// stateCache keeps the folded state of runs this engine drove, so the next
// Drive of a run catches up with Store.Since (the commits others appended
// meanwhile) instead of reloading and refolding its whole journal. An entry
// is taken out while a Drive owns it, so two Drives in one process never
// share one. It holds at most max runs; when full it starts over (a miss
// costs a load, never correctness).
type stateCache struct {
	mu  sync.Mutex
	m   map[string]cached
	max int
	// owed holds, by run, the attempts a Start journaled in the run's
	// first commit and this engine's next Drive must invoke
	// (WithStartDecision). They are kept apart from the states, which are
	// dropped when full or stale: an owed attempt lost would wait for its
	// lease to expire.
	owed map[string][]Invocation
}

// cached is a run's state; fresh when Start just created it. A fresh entry
// needs no catching up: whoever appends to a run meanwhile (an event, a
// callback, an operator) drops the entry (operate), and a runtime that
// appends by other means (effect outcomes) drives the run after a
// catch-up of a non-fresh entry. A Drive of another process may append to a
// child run this engine started: DriveResults, which drops results its
// state does not await, catches up even a fresh entry (loadCurrent).
type cached struct {
	rs    *RunState
	fresh bool
}

func newStateCache(max int) *stateCache {
	return &stateCache{m: map[string]cached{}, max: max, owed: map[string][]Invocation{}}
}

// owe records attempts the next Drive of run must invoke.
func (c *stateCache) owe(run string, invs []Invocation) {
	if len(invs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owed[run] = invs
}

// takeOwed removes and returns the attempts owed to run's next Drive.
func (c *stateCache) takeOwed(run string) []Invocation {
	c.mu.Lock()
	defer c.mu.Unlock()
	invs := c.owed[run]
	delete(c.owed, run)
	return invs
}

// take removes and returns run's cached state.
func (c *stateCache) take(run string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[run]
	delete(c.m, run)
	return v, ok
}

func (c *stateCache) put(run string, rs *RunState) { c.store(run, cached{rs: rs}) }

func (c *stateCache) store(run string, v cached) {
	if c.max <= 0 {
		return // no cache: every load is cold
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[run] = v
}

func (c *stateCache) drop(run string) {
	c.mu.Lock()
	delete(c.m, run)
	c.mu.Unlock()
}

// catchUp applies to rs the commits appended after rs.Seq. It reports
// false when rs cannot be brought up to date (the caller reloads).
func (e *Engine) catchUp(ctx context.Context, run string, rs *RunState) bool {
	events, err := e.store.Since(ctx, run, rs.seq)
	if err != nil {
		return false
	}
	for i := range events {
		if rs.touchesLazy(&events[i]) && rs.resolve(e.partGetter(ctx, run), needAll) != nil {
			return false
		}
		if err := rs.Apply(&events[i]); err != nil {
			return false
		}
	}
	rs.unsnapped += len(events)
	return true
}

// load returns the run's state: the cached one brought up to date, else
// folded from the journal (cold), every value resolved.
func (e *Engine) load(ctx context.Context, run string) (rs *RunState, cold bool, err error) {
	rs, cold, err = e.loadLazy(ctx, run)
	if err == nil {
		rs, err = e.resolve(ctx, run, rs)
	}
	return rs, cold, err
}

// loadLazy is load for a caller that decides with decideLazy: a state
// loaded from a snapshot may leave values in its parts.
func (e *Engine) loadLazy(ctx context.Context, run string) (rs *RunState, cold bool, err error) {
	if c, ok := e.cache.take(run); ok && (c.fresh || e.catchUp(ctx, run, c.rs)) {
		return c.rs, false, nil
	}
	rs, cold, err = e.loadCold(ctx, run)
	if err == nil {
		rs.SetFunctionTimeouts(e.functionTimeouts(ctx, rs.def))
	}
	return rs, cold, err
}

// loadCurrent is load for a caller that judges what it got against the
// state before appending (DriveResults: is this attempt still awaited?).
// A fresh entry is caught up too: a run this engine started may have been
// driven by another process since (a child run, whose drives go through
// the queue), and its Start's state would not know the attempts that
// Drive scheduled.
func (e *Engine) loadCurrent(ctx context.Context, run string) (rs *RunState, cold bool, err error) {
	if c, ok := e.cache.take(run); ok && e.catchUp(ctx, run, c.rs) {
		rs, err = e.resolve(ctx, run, c.rs)
		return rs, false, err
	}
	rs, cold, err = e.loadCold(ctx, run)
	if err == nil {
		rs.SetFunctionTimeouts(e.functionTimeouts(ctx, rs.def))
		rs, err = e.resolve(ctx, run, rs)
	}
	return rs, cold, err
}

// loadCold loads a run's state from its snapshot or its journal.
func (e *Engine) loadCold(ctx context.Context, run string) (rs *RunState, cold bool, err error) {
	if rs, ok := e.loadSnapshot(ctx, run); ok {
		return rs, true, nil
	}
	rs, err = e.loadFold(ctx, run)
	return rs, err == nil, err
}

// loadFold folds a run's whole journal.
func (e *Engine) loadFold(ctx context.Context, run string) (rs *RunState, err error) {
	head, events, err := e.store.Load(ctx, run)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", run, err)
	}
	def, err := e.Definition(ctx, head.DefHash)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", run, err)
	}
	rs, err = Fold(def, events)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", run, err)
	}
	rs.seq = head.Seq
	if n := len(events); n > 0 && events[n-1].Seq > rs.seq {
		rs.seq = events[n-1].Seq
	}
	rs.unsnapped = len(events)
	return rs, nil
}
