package sqlitejournal_test

import (
	"path/filepath"
	"testing"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/journaltest"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

// newStore opens a durable, file-backed store in a fresh directory.
func newStore(t testing.TB, opts ...sqlitejournal.Option) *sqlitejournal.Store {
	t.Helper()
	s, err := sqlitejournal.New(t.Context(), filepath.Join(t.TempDir(), "journal.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) journal.Store { return newStore(t) })
}

func TestConformanceMemory(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) journal.Store {
		s, err := sqlitejournal.New(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConformanceNoGroupCommit(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) journal.Store { return newStore(t, sqlitejournal.WithMaxBatch(1)) })
}
