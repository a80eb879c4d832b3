package sqlitejournal_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// The journal holds every run, and whoever can write it acts as any role:
// the file and the files beside it are created private (0600), whatever
// the umask lets others have.
func TestJournalFilesArePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	path := filepath.Join(t.TempDir(), "ordo.db")
	ctx := context.Background()
	s, err := sqlitejournal.New(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, journal.Commit{Run: "w/1", Workflow: "w", DefHash: "sha256:x", Status: journal.StatusRunning, At: time.Now(),
		Events: []journal.Event{{Kind: journal.RunStarted, At: time.Now(), Workflow: "w", Input: json.RawMessage(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 2 {
		t.Fatalf("want the journal and its sidecars, got %v", entries)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), perm)
		}
	}
}
