package orchestrator

import (
	"context"
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
}

// cached is a run's state; fresh when Start just created it. A fresh entry
// needs no catching up: whoever appends to a run meanwhile (an event, a
// callback, an operator) also wakes it, and that later Drive catches up.
type cached struct {
	rs    *RunState
	fresh bool
}

func newStateCache(max int) *stateCache {
	return &stateCache{m: map[string]cached{}, max: max}
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
	events, err := e.store.Since(ctx, run, rs.Seq)
	if err != nil {
		return false
	}
	for i := range events {
		if err := rs.Apply(&events[i]); err != nil {
			return false
		}
	}
	return true
}
