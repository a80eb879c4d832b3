package sqlitejournal_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/journaltest"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

func TestSnapshots(t *testing.T) {
	journaltest.RunSnapshots(t, func(t *testing.T) journaltest.WithSnapshots { return newStore(t) })
}

// A journal written by a build before snapshots (schema version 2, no
// snapshots table) is refused by a reader until a writer opens it, which
// adds the table; its runs are kept.
func TestSnapshotsMigrateVersion2(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "journal.db")
	s, err := sqlitejournal.New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, journal.Commit{Run: "r1", Workflow: "wf", DefHash: "h", Status: journal.StatusRunning,
		Events: []journal.Event{{Kind: journal.RunStarted, Workflow: "wf", DefHash: "h"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE snapshots", "PRAGMA user_version = 2"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	if r, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly()); err == nil {
		r.Close()
		t.Fatal("a reader opened a version 2 journal")
	} else if !strings.Contains(err.Error(), "schema version 2") {
		t.Fatalf("reader of a version 2 journal: %v", err)
	}
	s, err = sqlitejournal.New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, events, err := s.Load(ctx, "r1"); err != nil || len(events) != 1 {
		t.Fatalf("Load after migrating: %d events, %v", len(events), err)
	}
	if err := s.PutSnapshot(ctx, "r1", 1, []byte("state")); err != nil {
		t.Fatalf("PutSnapshot after migrating: %v", err)
	}
	if seq, data, err := s.LatestSnapshot(ctx, "r1"); err != nil || seq != 1 || string(data) != "state" {
		t.Fatalf("LatestSnapshot after migrating: %d %q %v", seq, data, err)
	}
}
