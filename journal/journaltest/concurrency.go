package journaltest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

// testRacingAppenders has several writers load and append to one run as fast
// as they can. Exactly one writer must win each sequence number, and the
// journal must hold every successful commit, once, with no gaps.
func testRacingAppenders(t *testing.T, s journal.Store) {
	const writers = 8
	target := int64(240)
	if testing.Short() {
		target = 60
	}
	deadline := time.Now().Add(20 * time.Second)
	start(t, s, "race", "order", journal.StatusRunning, 0)

	type win struct {
		writer, attempt int
	}
	var (
		wins      = make([]map[int64]int, writers) // per writer: seq -> attempt
		total     atomic.Int64
		conflicts atomic.Int64
		wg        sync.WaitGroup
	)
	for w := range writers {
		wins[w] = map[int64]int{}
		wg.Go(func() {
			for n := 0; total.Load() < target && time.Now().Before(deadline); n++ {
				head, events, err := s.Load(t.Context(), "race")
				if err != nil {
					t.Errorf("writer %d: load: %v", w, err)
					return
				}
				if int64(len(events)) != head.Seq {
					t.Errorf("writer %d: head seq %d but %d events", w, head.Seq, len(events))
					return
				}
				seq, err := s.Append(t.Context(), journal.Commit{
					Run: "race", After: head.Seq, At: at(n),
					Events: []journal.Event{step(fmt.Sprintf("w%d", w), n, n)},
				})
				if errors.Is(err, journal.ErrConflict) {
					conflicts.Add(1)
					continue
				}
				if err != nil {
					t.Errorf("writer %d: append after %d: %v", w, head.Seq, err)
					return
				}
				if seq != head.Seq+1 {
					t.Errorf("writer %d: append after %d returned seq %d", w, head.Seq, seq)
				}
				wins[w][seq] = n
				total.Add(1)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	owner := map[int64]win{}
	for w, m := range wins {
		for seq, n := range m {
			if prev, ok := owner[seq]; ok {
				t.Errorf("seq %d won by writer %d and writer %d", seq, prev.writer, w)
			}
			owner[seq] = win{w, n}
		}
	}
	head, events := mustLoad(t, s, "race")
	if want := 1 + total.Load(); head.Seq != want || int64(len(events)) != want {
		t.Fatalf("got head seq %d and %d events, want %d of each", head.Seq, len(events), want)
	}
	for i, e := range events {
		seq := int64(i + 1)
		if e.Seq != seq {
			t.Errorf("event %d: got seq %d, want %d", i, e.Seq, seq)
			continue
		}
		if seq == 1 {
			continue
		}
		w, ok := owner[seq]
		if !ok {
			t.Errorf("seq %d: in the journal but no writer was told it won", seq)
			continue
		}
		if want := fmt.Sprintf("w%d", w.writer); e.Step != want || e.Attempt != w.attempt {
			t.Errorf("seq %d: got %s attempt %d, want %s attempt %d", seq, e.Step, e.Attempt, want, w.attempt)
		}
	}
	t.Logf("%d commits, %d conflicts", total.Load(), conflicts.Load())
}

// testManyRuns appends to many runs at once, one writer per run: nothing may
// conflict, and every run must read back whole. On backends that batch
// writes (group commit), this is the case the batching serves.
func testManyRuns(t *testing.T, s journal.Store) {
	runs, commits := 64, 6
	if testing.Short() {
		runs = 16
	}
	var wg sync.WaitGroup
	for r := range runs {
		run := fmt.Sprintf("run-%03d", r)
		wg.Go(func() {
			c := startCommit(run, "order", journal.StatusRunning, 0)
			for seq := int64(1); seq <= int64(commits); seq++ {
				if seq > 1 {
					c = journal.Commit{Run: run, After: seq - 1, At: at(int(seq)),
						Events: []journal.Event{step(run, int(seq), int(seq)), step("next", 1, int(seq))}}
					if seq == int64(commits) {
						c.Status = journal.StatusCompleted
					}
				}
				got, err := s.Append(t.Context(), c)
				if err != nil {
					t.Errorf("append %s after %d: %v", run, seq-1, err)
					return
				}
				if got != seq {
					t.Errorf("append %s after %d: got seq %d", run, seq-1, got)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for r := range runs {
		run := fmt.Sprintf("run-%03d", r)
		head, events := mustLoad(t, s, run)
		if head.Seq != int64(commits) || head.Status != journal.StatusCompleted {
			t.Errorf("%s: got seq %d status %s, want %d %s", run, head.Seq, head.Status, commits, journal.StatusCompleted)
		}
		if want := 1 + 2*(commits-1); len(events) != want {
			t.Errorf("%s: got %d events, want %d", run, len(events), want)
			continue
		}
		for i, e := range events[1:] {
			seq := int64(i/2 + 2)
			if e.Seq != seq {
				t.Errorf("%s: event %d: got seq %d, want %d", run, i+1, e.Seq, seq)
			}
			if i%2 == 0 && (e.Step != run || int64(e.Attempt) != seq) {
				t.Errorf("%s: event %d: got %s attempt %d", run, i+1, e.Step, e.Attempt)
			}
		}
	}
	eventually(t, settle(), "listing", func() string {
		listed, err := page(t, s, journal.Query{Status: journal.StatusCompleted}, 25)
		if err != nil {
			return err.Error()
		}
		if len(listed) != runs {
			return fmt.Sprintf("listed %d completed runs, want %d", len(listed), runs)
		}
		return ""
	})
}
