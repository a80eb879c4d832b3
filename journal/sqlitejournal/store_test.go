package sqlitejournal_test

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/journaltest"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	s, err := sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(t.Context(), startCommit("run-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}

	s, err = sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head, events, err := s.Load(t.Context(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 1 || len(events) != 2 {
		t.Errorf("got seq %d and %d events, want 1 and 2", head.Seq, len(events))
	}
}

func TestClosed(t *testing.T) {
	s, err := sqlitejournal.New(t.Context(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Appends racing with Close either land or fail with ErrClosed.
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Append(t.Context(), startCommit(fmt.Sprint("run-", i))) })
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, sqlitejournal.ErrClosed) {
			t.Errorf("append %d: %v", i, err)
		}
	}
	_, err = s.Append(t.Context(), startCommit("late"))
	if !errors.Is(err, sqlitejournal.ErrClosed) {
		t.Errorf("append after close: got %v, want ErrClosed", err)
	}
	if _, _, err := s.Load(t.Context(), "run-1"); !errors.Is(err, sqlitejournal.ErrClosed) {
		t.Errorf("load after close: got %v, want ErrClosed", err)
	}
}

func TestInvalidCommits(t *testing.T) {
	s := newStore(t, sqlitejournal.WithMaxCommitSize(1000))
	big := startCommit("big")
	big.Events[0].Output = []byte(`"` + strings.Repeat("x", 1000) + `"`)
	tests := []struct {
		name   string
		c      journal.Commit
		target error
	}{
		{"too large", big, journal.ErrTooLarge},
		{"no run", journal.Commit{Workflow: "w", DefHash: "h", Events: transition(1)}, nil},
		{"no events", journal.Commit{Run: "r", Workflow: "w", DefHash: "h"}, nil},
		{"no workflow", journal.Commit{Run: "r", DefHash: "h", Events: transition(1)}, nil},
		{"negative after", journal.Commit{Run: "r", After: -1, Events: transition(1)}, journal.ErrConflict},
	}
	for _, tc := range tests {
		_, err := s.Append(t.Context(), tc.c)
		if err == nil || (tc.target != nil && !errors.Is(err, tc.target)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.target)
		}
	}
	if _, _, err := s.Load(t.Context(), "big"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("load big: got %v, want ErrNotFound", err)
	}
}

func TestBadCursor(t *testing.T) {
	s := newStore(t)
	for _, c := range []string{"!!", "bm9jb2xvbg", "YWJjOmRlZg"} {
		if _, _, err := s.Runs(t.Context(), journal.Query{Cursor: c}); err == nil {
			t.Errorf("cursor %q: no error", c)
		}
	}
}

// TestFailureIsolated makes one append fail for a reason other than a
// conflict (a trigger refuses its head update, after its commit row went
// in) while others are queued: only that append fails, and it leaves
// nothing behind.
func TestFailureIsolated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	s, err := sqlitejournal.New(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(t.Context(), startCommit("bad")); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER refuse_bad BEFORE UPDATE ON runs WHEN NEW.id = 'bad'
		BEGIN SELECT RAISE(ABORT, 'refused by test'); END`); err != nil {
		t.Fatal(err)
	}

	for round := range 5 {
		var wg sync.WaitGroup
		errs := make([]error, 32)
		for i := range errs {
			wg.Go(func() {
				if i == 16 {
					_, errs[i] = s.Append(t.Context(), journal.Commit{Run: "bad", After: 1, Events: transition(1), Status: journal.StatusReview})
					return
				}
				_, errs[i] = s.Append(t.Context(), startCommit(fmt.Sprintf("ok-%d-%d", round, i)))
			})
		}
		wg.Wait()
		for i, err := range errs {
			switch {
			case i == 16 && (err == nil || errors.Is(err, journal.ErrConflict)):
				t.Errorf("round %d: bad append: got %v, want a constraint error", round, err)
			case i != 16 && err != nil:
				t.Errorf("round %d: append %d: %v", round, i, err)
			}
		}
	}
	head, events, err := s.Load(t.Context(), "bad")
	if err != nil || head.Seq != 1 || len(events) != 2 || head.Status != journal.StatusRunning {
		t.Errorf("bad run: seq %d, %d events, status %s, %v; want 1, 2, running", head.Seq, len(events), head.Status, err)
	}
	runs, _, err := s.Runs(t.Context(), journal.Query{Limit: 1000})
	if err != nil || len(runs) != 1+5*31 {
		t.Errorf("got %d runs, %v; want %d", len(runs), err, 1+5*31)
	}
}

// TestCommitSizeLimit appends commits of exactly the default limit (16 MiB
// of encoded events) and one byte more.
func TestCommitSizeLimit(t *testing.T) {
	s := newStore(t)
	mustAppend(t, s, startCommit("run-big"))
	at, err := journaltest.Sized(journal.Commit{Run: "run-big", After: 1, Events: transition(1)}, 16<<20, "")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, at)
	over, err := journaltest.Sized(journal.Commit{Run: "run-big", After: 2, Events: transition(2)}, 16<<20+1, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Append(t.Context(), over)
	var tl *journal.TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, journal.ErrTooLarge) {
		t.Fatalf("append of 16 MiB + 1: got %v, want a journal.TooLargeError", err)
	}
	want := journal.TooLargeError{Run: "run-big", Seq: 3, Steps: []string{"step-2", "step-3", "big"},
		Size: 16<<20 + 1, Limit: 16 << 20, What: "encoded events"}
	if diff := cmp.Diff(*tl, want); diff != "" {
		t.Errorf("error (-got +want):\n%s", diff)
	}
	for _, s := range []string{"run-big", "step-2", "16777217", "16777216"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	head, events, err := s.Load(t.Context(), "run-big")
	if err != nil || head.Seq != 2 {
		t.Fatalf("load: seq %d, %v", head.Seq, err)
	}
	if got := len(events[len(events)-1].Output); got < 16<<20-1000 {
		t.Errorf("the 16 MiB commit read back with a %d-byte output", got)
	}
}
