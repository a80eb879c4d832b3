package sqlitejournal_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
)

func TestCountRuns(t *testing.T) {
	s, err := sqlitejournal.New(t.Context(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(i int, wf string, st journal.Status) {
		_, err := s.Append(t.Context(), journal.Commit{Run: fmt.Sprintf("%s/%d", wf, i), Workflow: wf, DefHash: "h",
			Status: st, At: t0.Add(time.Duration(i) * time.Hour), Events: []journal.Event{{Kind: journal.RunStarted}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(1, "order", journal.StatusCompleted)
	add(2, "order", journal.StatusCompleted)
	add(3, "order", journal.StatusReview)
	add(4, "refund", journal.StatusRunning)
	for _, tc := range []struct {
		q    journal.Query
		want map[journal.Status]int
	}{
		{journal.Query{}, map[journal.Status]int{"completed": 2, "review": 1, "running": 1}},
		{journal.Query{Workflow: "order"}, map[journal.Status]int{"completed": 2, "review": 1}},
		{journal.Query{Since: t0.Add(2 * time.Hour), Until: t0.Add(4 * time.Hour)}, map[journal.Status]int{"completed": 1, "review": 1}},
		{journal.Query{Workflow: "none"}, map[journal.Status]int{}},
	} {
		got, err := s.CountRuns(t.Context(), tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, tc.want); diff != "" {
			t.Errorf("%+v (-got +want):\n%s", tc.q, diff)
		}
	}
}
