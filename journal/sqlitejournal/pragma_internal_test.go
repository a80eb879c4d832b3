package sqlitejournal

import (
	"path/filepath"
	"testing"
)

func TestDurableSettings(t *testing.T) {
	s, err := New(t.Context(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []struct {
		db, pragma, want string
	}{
		{"writer", "journal_mode", "wal"},
		{"writer", "synchronous", "2"}, // FULL
		{"writer", "busy_timeout", "10000"},
		{"reader", "journal_mode", "wal"},
		{"reader", "query_only", "1"},
	} {
		db := s.wdb
		if p.db == "reader" {
			db = s.rdb
		}
		var got string
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+p.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != p.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", p.db, p.pragma, got, p.want)
		}
	}
}
