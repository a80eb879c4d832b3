package sqlitejournal

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
)

var errTestFault = errors.New("test fault")

// TestFaultInsideGroupCommit fails one batch of four appends in the middle
// of its transaction (two commits applied) and another right after its
// transaction committed, and checks what each caller learns: in the first,
// every caller gets the fault, nothing of the batch is written and each
// Append retried as is lands once; in the second, every caller gets the
// fault, every commit is durable (also after a reopen) and a retry of one
// fails with journal.ErrConflict instead of writing it twice.
func TestFaultInsideGroupCommit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		point   FaultPoint
		applied int
		written bool // the faulted batch's commits are durable
	}{
		{"in the batch", FaultInBatch, 2, false},
		{"before the commit", FaultInBatch, 4, false},
		{"after the commit", FaultAfterCommit, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "journal.db")
			hold, release := make(chan struct{}), make(chan struct{})
			var mu sync.Mutex
			batches, faulted := 0, 0
			hook := func(f Fault) error {
				mu.Lock()
				defer mu.Unlock()
				if f.Point == FaultInBatch && f.Applied == 0 {
					batches++
					if batches == 1 {
						// Hold the writer on the first batch while the next
						// four queue up behind it: they form one batch.
						mu.Unlock()
						close(hold)
						<-release
						mu.Lock()
					}
				}
				if batches == 2 && f.Point == tc.point && f.Applied == tc.applied {
					if f.Batch != 4 {
						return fmt.Errorf("the second batch holds %d commits, want 4", f.Batch)
					}
					faulted++
					return errTestFault
				}
				return nil
			}
			s, err := New(ctx, path, WithFaultHook(hook))
			if err != nil {
				t.Fatal(err)
			}
			first := make(chan error, 1)
			go func() { first <- appendRun(ctx, s, "held") }()
			<-hold
			const n = 4
			errs := make(chan error, n)
			for i := range n {
				go func() { errs <- appendRun(ctx, s, fmt.Sprintf("run-%d", i)) }()
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(s.reqs) < n {
				if time.Now().After(deadline) {
					t.Fatalf("%d appends queued behind the held batch, want %d", len(s.reqs), n)
				}
				time.Sleep(time.Millisecond)
			}
			close(release)
			if err := <-first; err != nil {
				t.Fatalf("the held batch: %v", err)
			}
			for range n {
				if err := <-errs; !errors.Is(err, errTestFault) {
					t.Errorf("a caller of the faulted batch got %v, want the fault", err)
				}
			}
			if faulted != 1 {
				t.Fatalf("fault injected %d times, want once", faulted)
			}
			for i := range n {
				run := fmt.Sprintf("run-%d", i)
				_, _, err := s.Load(ctx, run)
				if written := err == nil; written != tc.written {
					t.Errorf("%s written: %v (load: %v), want %v", run, written, err, tc.written)
				}
				// The caller retries its Append as is.
				err = appendRun(ctx, s, run)
				if tc.written && !errors.Is(err, journal.ErrConflict) {
					t.Errorf("%s: retry after a fault after the commit: %v, want journal.ErrConflict", run, err)
				}
				if !tc.written && err != nil {
					t.Errorf("%s: retry after a fault in the batch: %v, want it written", run, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Reopened, the file holds each run's first commit exactly once.
			s, err = New(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := range n {
				run := fmt.Sprintf("run-%d", i)
				head, events, err := s.Load(ctx, run)
				if err != nil || head.Seq != 1 || len(events) != 1 {
					t.Errorf("%s after a reopen: head %+v, %d events, %v; want one commit", run, head, len(events), err)
				}
			}
		})
	}
}

func appendRun(ctx context.Context, s *Store, run string) error {
	_, err := s.Append(ctx, journal.Commit{Run: run, After: 0, Workflow: "wf", DefHash: "h",
		Events: []journal.Event{{Kind: journal.RunStarted, Workflow: "wf"}}})
	return err
}
