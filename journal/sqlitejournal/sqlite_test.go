package sqlitejournal_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
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

// TestConformanceWithReader runs the suite against a writer and a
// read-only Store on one file, reads taking turns between them, as a
// read-only command beside a running writer would.
func TestConformanceWithReader(t *testing.T) {
	journaltest.Run(t, func(t *testing.T) journal.Store {
		path := filepath.Join(t.TempDir(), "journal.db")
		w := newStoreAt(t, path)
		r, err := sqlitejournal.New(t.Context(), path, sqlitejournal.ReadOnly())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return &alternating{writer: w, stores: [2]*sqlitejournal.Store{w, r}}
	})
}

// alternating is a journal.Store that sends writes to its writer and each
// read to the next of its stores in turn.
type alternating struct {
	writer *sqlitejournal.Store
	stores [2]*sqlitejournal.Store
	n      atomic.Uint64
}

func (a *alternating) next() *sqlitejournal.Store { return a.stores[a.n.Add(1)%2] }

func (a *alternating) Load(ctx context.Context, run string) (journal.Run, []journal.Event, error) {
	return a.next().Load(ctx, run)
}

func (a *alternating) Since(ctx context.Context, run string, after int64) ([]journal.Event, error) {
	return a.next().Since(ctx, run, after)
}

func (a *alternating) Append(ctx context.Context, c journal.Commit) (int64, error) {
	return a.writer.Append(ctx, c)
}

func (a *alternating) Runs(ctx context.Context, q journal.Query) ([]journal.Run, string, error) {
	return a.next().Runs(ctx, q)
}

func (a *alternating) PutDefinition(ctx context.Context, d journal.Definition) error {
	return a.writer.PutDefinition(ctx, d)
}

func (a *alternating) Definition(ctx context.Context, hash string) (journal.Definition, error) {
	return a.next().Definition(ctx, hash)
}

func (a *alternating) Definitions(ctx context.Context, name string) ([]journal.Definition, error) {
	return a.next().Definitions(ctx, name)
}

func TestInternalStreams(t *testing.T) {
	journaltest.RunInternal(t, func(t *testing.T) journaltest.Internal { return newStore(t) })
}

func TestInternalStreamsMemory(t *testing.T) {
	journaltest.RunInternal(t, func(t *testing.T) journaltest.Internal {
		s, err := sqlitejournal.New(t.Context(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
