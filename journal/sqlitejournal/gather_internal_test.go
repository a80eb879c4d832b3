package sqlitejournal

import (
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

func req(run string, status journal.Status) *appendReq {
	return &appendReq{c: journal.Commit{Run: run, Status: status}}
}

// TestGatherWaitsForLastBatchRuns: after a batch whose commit was slow,
// the writer waits (half as long as the commit took) for the runs it holds
// that will append again, and no longer once they are all back.
func TestGatherWaitsForLastBatchRuns(t *testing.T) {
	g := newGatherer(maxGather)
	if got := g.budget(); got != 0 {
		t.Fatalf("before any batch: wait %s, want 0", got)
	}
	g.wrote([]*appendReq{req("a", ""), req("b", journal.StatusRunning), req("c", journal.StatusCompleted),
		req("d", journal.StatusWaiting), req("e", journal.StatusReview)}, 100*time.Microsecond, 800*time.Microsecond)
	if got := g.budget(); got != 400*time.Microsecond {
		t.Errorf("with a and b to come back: wait %s, want 400µs (half the commit's 800µs)", got)
	}
	g.arrived(req("x", "")) // a run of its own: not waited for, waits for nothing
	g.arrived(req("a", ""))
	if got := g.budget(); got != 400*time.Microsecond {
		t.Errorf("with b to come back: wait %s, want 400µs", got)
	}
	g.arrived(req("b", ""))
	if got := g.budget(); got != 0 {
		t.Errorf("with a and b back (c, d and e settled or waiting): wait %s, want 0", got)
	}
}

// TestGatherNotOnFastCommits: when committing took at most twice as long as
// applying the batch, the writer does not wait: it applies the next cohort
// while the last one decides.
func TestGatherNotOnFastCommits(t *testing.T) {
	g := newGatherer(maxGather)
	g.wrote([]*appendReq{req("a", ""), req("b", "")}, 400*time.Microsecond, 800*time.Microsecond)
	if got := g.budget(); got != 0 {
		t.Errorf("commit 800µs after 400µs of applying: wait %s, want 0", got)
	}
	g.wrote([]*appendReq{req("a", ""), req("b", "")}, 400*time.Microsecond, 801*time.Microsecond)
	if got := g.budget(); got == 0 {
		t.Errorf("commit 801µs after 400µs of applying: no wait, want one")
	}
}

// TestGatherLoneAppender: an appender alone never waits, its run being the
// one that comes back; and no wait is longer than maxGather.
func TestGatherLoneAppender(t *testing.T) {
	g := newGatherer(maxGather)
	for range 3 {
		g.arrived(req("a", ""))
		if got := g.budget(); got != 0 {
			t.Fatalf("lone appender: wait %s, want 0", got)
		}
		g.wrote([]*appendReq{req("a", "")}, 0, time.Second)
	}
	g.wrote([]*appendReq{req("a", ""), req("b", "")}, 0, time.Second)
	g.arrived(req("a", ""))
	if got := g.budget(); got != maxGather {
		t.Errorf("after a commit of 1s: wait %s, want maxGather (%s)", got, maxGather)
	}
}

// TestGatherMisses: each wait in a row in which none of the runs came back
// halves the next, down to 1/16; a wait in which all came back restores it.
func TestGatherMisses(t *testing.T) {
	g := newGatherer(maxGather)
	full := 500 * time.Microsecond
	want := []time.Duration{full, full / 2, full / 4, full / 8, full / 16, full / 16}
	for i, w := range want {
		g.wrote([]*appendReq{req("a", ""), req("b", "")}, 0, 2*full)
		if got := g.budget(); got != w {
			t.Errorf("after %d misses: wait %s, want %s", i, got, w)
		}
		g.waited(false, false)
	}
	g.waited(false, true) // some came back: no change
	g.wrote([]*appendReq{req("a", ""), req("b", "")}, 0, 2*full)
	if got := g.budget(); got != full/16 {
		t.Errorf("after a wait in which some came back: %s, want %s", got, full/16)
	}
	g.waited(true, true)
	if got := g.budget(); got != full {
		t.Errorf("after a wait in which all came back: %s, want %s", got, full)
	}
}

// TestGatherMergesCohorts: the writer, holding a batch of run b's commit,
// waits for run a of the last batch to append again (however long it
// takes, up to the wait's bound) and writes both in one batch.
func TestGatherMergesCohorts(t *testing.T) {
	s := &Store{opts: options{maxBatch: 256}, reqs: make(chan *appendReq, 8)}
	g := newGatherer(time.Minute)
	g.wrote([]*appendReq{req("a", "")}, 0, time.Hour)
	go func() { s.reqs <- req("a", "") }()
	done := make(chan []*appendReq, 1)
	go func() {
		batch := s.gather(g, []*appendReq{req("b", "")})
		done <- batch
	}()
	select {
	case batch := <-done:
		var runs []string
		for _, r := range batch {
			runs = append(runs, r.c.Run)
		}
		if len(runs) != 2 || runs[0] != "b" || runs[1] != "a" {
			t.Errorf("batch holds %v, want [b a]", runs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gather still waiting 30s after run a came back")
	}
	if got := g.budget(); got != 0 {
		t.Errorf("after the batch gathered: wait %s, want 0", got)
	}
}
