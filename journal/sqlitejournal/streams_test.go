package sqlitejournal_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

var reviewAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestInternalStreamsReadOnly reads streams and review items from a
// read-only store beside the writer, and checks that it writes none.
func TestInternalStreamsReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	w := writerAt(t, path)
	if _, err := w.AppendStream(ctx, "q", 0, []journal.Event{{Kind: journal.Deferred, At: reviewAt, Child: "r1"}}); err != nil {
		t.Fatal(err)
	}
	it := journal.ReviewItem{ID: "malformed-trigger/sqs:1", Kind: journal.ReviewMalformedTrigger, Created: reviewAt}
	if _, err := w.PutReview(ctx, it); err != nil {
		t.Fatal(err)
	}
	r, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if events, err := r.ReadStream(ctx, "q"); err != nil || len(events) != 1 {
		t.Fatalf("read-only ReadStream: %v %v", events, err)
	}
	if items, _, err := r.Reviews(ctx, journal.ReviewQuery{}); err != nil || len(items) != 1 {
		t.Fatalf("read-only Reviews: %v %v", items, err)
	}
	if _, err := r.AppendStream(ctx, "q", 1, []journal.Event{{Kind: journal.Acquired, At: reviewAt, Child: "r1"}}); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("read-only AppendStream: %v, want ErrReadOnly", err)
	}
	if _, err := r.PutReview(ctx, it); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("read-only PutReview: %v, want ErrReadOnly", err)
	}
	if _, err := r.ResolveReview(ctx, it.ID, journal.Resolution{Action: journal.ResolutionDiscarded, At: reviewAt}); !errors.Is(err, sqlitejournal.ErrReadOnly) {
		t.Errorf("read-only ResolveReview: %v, want ErrReadOnly", err)
	}
}

// TestMigratesVersion1 opens a journal of schema version 1 (before
// internal streams): read-only, it asks for a migration; opened for
// writing, it gains the streams and review items and keeps its runs.
func TestMigratesVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	s, err := sqlitejournal.New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, journal.Commit{Run: "order/1", Workflow: "order", DefHash: "h", At: reviewAt,
		Events: []journal.Event{{Kind: journal.RunStarted, At: reviewAt}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE stream_commits", "DROP TABLE review_items", "PRAGMA user_version = 1"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()

	if _, err := sqlitejournal.New(ctx, path, sqlitejournal.ReadOnly()); err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("read-only open of a version 1 journal: %v, want an error asking for a migration", err)
	}
	s = writerAt(t, path)
	if _, _, err := s.Load(ctx, "order/1"); err != nil {
		t.Fatalf("run after the migration: %v", err)
	}
	if _, err := s.PutReview(ctx, journal.ReviewItem{ID: "failed-effect/e1", Kind: journal.ReviewFailedEffect, Created: reviewAt}); err != nil {
		t.Fatalf("review item after the migration: %v", err)
	}
}

func writerAt(t *testing.T, path string) *sqlitejournal.Store {
	t.Helper()
	s, err := sqlitejournal.New(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
