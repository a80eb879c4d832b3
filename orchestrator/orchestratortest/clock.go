package orchestratortest

import (
	"sync"
	"time"
)

// Epoch is the time a Harness's clock starts at unless WithStart says
// otherwise: fixed, so that journals written by tests are reproducible.
var Epoch = time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)

// Clock is a manual clock: it moves only when told to. The harness gives
// its Now to the engine, so retry backoffs, timers and timeouts fall due
// when the test advances it, not when real time passes.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (a negative d is ignored).
func (c *Clock) Advance(d time.Duration) {
	if d > 0 {
		c.mu.Lock()
		c.now = c.now.Add(d)
		c.mu.Unlock()
	}
}

// AdvanceTo moves the clock to t if t is later than its reading.
func (c *Clock) AdvanceTo(t time.Time) {
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
}
