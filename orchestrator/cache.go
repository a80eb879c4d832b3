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
	m   map[string]*RunState
	max int
}

func newStateCache(max int) *stateCache {
	return &stateCache{m: map[string]*RunState{}, max: max}
}

// take removes and returns run's cached state.
func (c *stateCache) take(run string) (*RunState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs, ok := c.m[run]
	delete(c.m, run)
	return rs, ok
}

func (c *stateCache) put(run string, rs *RunState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[run] = rs
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
