package semantictest_test

import (
	"path/filepath"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator/semantictest"
)

func TestSemanticsSQLite(t *testing.T) {
	semantictest.Run(t, newSQLite)
}

// newSQLite returns a store on a new file in t's temporary directory.
func newSQLite(t *testing.T) journal.Store {
	t.Helper()
	s, err := sqlitejournal.New(t.Context(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
