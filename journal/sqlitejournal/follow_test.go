package sqlitejournal_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// A journal of schema version 3 (before trigger commits_follow; its heads
// moved on every commit) is refused by a reader until a writer opens it,
// which adds the trigger; its runs load as they were, appends follow their
// last commit and nothing else.
func TestMigratesVersion3(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "journal.db")
	s, err := sqlitejournal.New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, startCommit("r1"))
	mustAppend(t, s, journal.Commit{Run: "r1", After: 1, Events: transition(1)})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// What a version 3 build left: no trigger, the head at the last commit.
	for _, q := range []string{"DROP TRIGGER commits_follow", "UPDATE runs SET seq = 2 WHERE id = 'r1'", "PRAGMA user_version = 3"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	if r, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly()); err == nil {
		r.Close()
		t.Fatal("a reader opened a version 3 journal")
	} else if !strings.Contains(err.Error(), "schema version 3") {
		t.Fatalf("reader of a version 3 journal: %v", err)
	}
	s, err = sqlitejournal.New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if head, events, err := s.Load(ctx, "r1"); err != nil || head.Seq != 2 || len(events) != 4 {
		t.Fatalf("Load after migrating: seq %d, %d events, %v; want 2, 4", head.Seq, len(events), err)
	}
	for _, after := range []int64{1, 3, 4} {
		if _, err := s.Append(ctx, journal.Commit{Run: "r1", After: after, Events: transition(9)}); !errors.Is(err, journal.ErrConflict) {
			t.Errorf("append after %d to a run at 2: %v, want ErrConflict", after, err)
		}
	}
	mustAppend(t, s, journal.Commit{Run: "r1", After: 2, Events: transition(2)})
	if head, _, err := s.Load(ctx, "r1"); err != nil || head.Seq != 3 {
		t.Fatalf("Load after appending: seq %d, %v; want 3", head.Seq, err)
	}
}

// TestHeadSeqIsLastCommit: commits that leave the status alone do not
// write the head, yet Load and Runs report the run's last commit as its
// Seq, and the head's status and Updated move with a commit that sets
// them.
func TestHeadSeqIsLastCommit(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	mustAppend(t, s, startCommit("r1"))
	for after := int64(1); after < 4; after++ {
		mustAppend(t, s, journal.Commit{Run: "r1", After: after, Events: transition(int(after))})
	}
	check := func(want int64, status journal.Status) {
		t.Helper()
		head, _, err := s.Load(ctx, "r1")
		if err != nil || head.Seq != want || head.Status != status {
			t.Errorf("Load: seq %d, status %s, %v; want %d, %s", head.Seq, head.Status, err, want, status)
		}
		runs, _, err := s.Runs(ctx, journal.Query{})
		if err != nil || len(runs) != 1 || runs[0].Seq != want || runs[0].Status != status {
			t.Errorf("Runs: %+v, %v; want seq %d, status %s", runs, err, want, status)
		}
	}
	check(4, journal.StatusRunning)
	mustAppend(t, s, journal.Commit{Run: "r1", After: 4, Status: journal.StatusCompleted, Events: transition(4)})
	check(5, journal.StatusCompleted)
	mustAppend(t, s, journal.Commit{Run: "r1", After: 5, Events: transition(5)})
	check(6, journal.StatusCompleted)
}
