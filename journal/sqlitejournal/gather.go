package sqlitejournal

import (
	"time"

	"github.com/ordoflow/ordo/journal"
)

// maxGather bounds how long the writer waits for appends to gather into
// a batch (options.maxGather; tests raise it).
const maxGather = 2 * time.Millisecond

// gatherer decides how long the writer waits before it writes a batch.
//
// Appenders that each wait for their append before making the next (a
// Drive: commit, invoke, decide, commit) fall into cohorts: while one
// cohort's batch is written, the cohort answered before it decides and
// queues its next appends, and each cohort then gets a commit (an fsync)
// of its own. When commits are slow (an fsync taking longer than twice
// applying the batch did: a busy disk), the writer waits, up to half as
// long as the last commit took, for the runs of the last batch to append
// again, so that the cohorts meet in one batch and share its fsync. When
// commits are fast, it does not: applying one cohort's appends while the
// other decides is worth more than the fsync a wait would save.
//
// Runs the last batch settled (or left waiting) are not waited for, and a
// lone appender never waits: its run is the one that comes back. A run
// that does not come back in time (its next step is slow) is waited for
// once; each wait in a row in which none came back halves the next
// (misses), so appenders that rarely come back soon cost little.
type gatherer struct {
	max    time.Duration   // the longest wait
	back   map[string]bool // runs of the last batch not yet back
	commit time.Duration   // how long the last batch took to commit
	apply  time.Duration   // and to apply
	misses int             // waits in a row in which none came back
	timer  *time.Timer
}

// maxMisses bounds the halvings of the wait: it never drops below 1/16
// of its full length, so the writer finds out when appenders come back
// soon again.
const maxMisses = 4

func newGatherer(longest time.Duration) *gatherer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &gatherer{max: longest, back: map[string]bool{}, timer: t}
}

// arrived notes that req is queued.
func (g *gatherer) arrived(req *appendReq) { delete(g.back, req.c.Run) }

// budget is how long to wait for the runs not back yet (0: do not wait).
func (g *gatherer) budget() time.Duration {
	if len(g.back) == 0 || g.commit <= 2*g.apply {
		return 0
	}
	return min(g.commit/2, g.max) >> g.misses
}

// waited notes how a wait ended: whether all it waited for came back, and
// whether any did.
func (g *gatherer) waited(all, any bool) {
	switch {
	case all:
		g.misses = 0
	case !any:
		g.misses = min(g.misses+1, maxMisses)
	}
}

// wrote notes the batch written and how long it took to apply and to
// commit.
func (g *gatherer) wrote(batch []*appendReq, apply, commit time.Duration) {
	clear(g.back)
	for _, req := range batch {
		if st := req.c.Status; st == "" || st == journal.StatusRunning {
			g.back[req.c.Run] = true
		}
	}
	g.apply, g.commit = apply, commit
}

// gather fills batch, holding its first request, with what is queued, then
// waits (gatherer) for more, up to maxBatch requests in all.
func (s *Store) gather(g *gatherer, batch []*appendReq) []*appendReq {
	g.arrived(batch[0])
	batch, open := s.drain(g, batch)
	if wait := g.budget(); open && wait > 0 && len(batch) < s.opts.maxBatch {
		batch = s.await(g, batch, wait)
	}
	return batch
}

// drain adds to batch what is queued, without waiting; open is false when
// the queue is closed.
func (s *Store) drain(g *gatherer, batch []*appendReq) (_ []*appendReq, open bool) {
	for len(batch) < s.opts.maxBatch {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return batch, false
			}
			g.arrived(r)
			batch = append(batch, r)
		default:
			return batch, true
		}
	}
	return batch, true
}

// await adds to batch what comes within wait, until the runs the gatherer
// waits for are all back or the batch is full.
func (s *Store) await(g *gatherer, batch []*appendReq, wait time.Duration) []*appendReq {
	g.timer.Reset(wait)
	defer g.timer.Stop()
	missing := len(g.back)
	for len(batch) < s.opts.maxBatch && len(g.back) > 0 {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return batch
			}
			g.arrived(r)
			batch = append(batch, r)
		case <-g.timer.C:
			g.waited(false, len(g.back) < missing)
			return batch
		}
	}
	g.waited(len(g.back) == 0, len(g.back) < missing)
	return batch
}
