package sqlitejournal_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// TestReadOnlyOpenOfAFileThatIsNotAJournal: a read-only open of a file
// that is not a SQLite database fails with an error naming why (it used to
// panic while cleaning up).
func TestReadOnlyOpenOfAFileThatIsNotAJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(path, []byte("this is not a journal\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitejournal.New(context.Background(), path, sqlitejournal.ReadOnly())
	if err == nil {
		s.Close()
		t.Fatal("opened a file that is not a journal")
	}
	t.Log(err)
}
