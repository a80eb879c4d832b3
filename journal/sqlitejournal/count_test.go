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

func TestCountInFlight(t *testing.T) {
	s, err := sqlitejournal.New(t.Context(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, r := range []struct {
		wf, hash string
		st       journal.Status
	}{
		{"order", "h1", journal.StatusRunning}, {"order", "h1", journal.StatusReview}, {"order", "h2", journal.StatusWaiting},
		{"order", "h2", journal.StatusCompleted}, {"refund", "h3", journal.StatusDeferred}, {"refund", "h3", journal.StatusFailed},
	} {
		_, err := s.Append(t.Context(), journal.Commit{Run: fmt.Sprintf("%s/%d", r.wf, i), Workflow: r.wf, DefHash: r.hash,
			Status: r.st, At: time.Now(), Events: []journal.Event{{Kind: journal.RunStarted}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for wf, want := range map[string]map[string]int{
		"":       {"h1": 2, "h2": 1, "h3": 1},
		"order":  {"h1": 2, "h2": 1},
		"refund": {"h3": 1},
	} {
		got, err := s.CountInFlight(t.Context(), wf)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("workflow %q (-got +want):\n%s", wf, diff)
		}
	}
}
