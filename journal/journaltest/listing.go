package journaltest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
)

// listingFixture creates eight runs over two workflows. Two of them have
// later commits: r01 moves to completed at tick 9 (so it sorts first), r02
// gets a commit without a status at tick 10 (so its Updated stays at 2).
// Ordered by Updated, newest first: r01 r08 r07 r06 r05 r04 r03 r02.
func listingFixture(t *testing.T, s journal.Store) {
	t.Helper()
	runs := []struct {
		id       string
		workflow string
		status   journal.Status
	}{
		{"r01", "a", journal.StatusRunning},
		{"r02", "b", journal.StatusRunning},
		{"r03", "a", journal.StatusCompleted},
		{"r04", "a", journal.StatusWaiting},
		{"r05", "b", journal.StatusFailed},
		{"r06", "a", journal.StatusRunning},
		{"r07", "b", journal.StatusRunning},
		{"r08", "a", journal.StatusReview},
	}
	for i, r := range runs {
		start(t, s, r.id, r.workflow, r.status, i+1)
	}
	mustAppend(t, s, journal.Commit{Run: "r01", After: 1, At: at(9), Status: journal.StatusCompleted,
		Events: []journal.Event{{Kind: journal.RunCompleted, At: at(9)}}}, 2)
	mustAppend(t, s, journal.Commit{Run: "r02", After: 1, At: at(10),
		Events: []journal.Event{step("s", 1, 10)}}, 2)
}

// half returns the instant halfway between ticks i and i+1, to keep query
// bounds away from any run's Updated.
func half(i int) time.Time { return at(i).Add(500 * time.Millisecond) }

var listingQueries = []struct {
	name string
	q    journal.Query
	want []string
}{
	{"all", journal.Query{}, []string{"r01", "r08", "r07", "r06", "r05", "r04", "r03", "r02"}},
	{"workflow", journal.Query{Workflow: "a"}, []string{"r01", "r08", "r06", "r04", "r03"}},
	{"status", journal.Query{Status: journal.StatusRunning}, []string{"r07", "r06", "r02"}},
	{"status moved", journal.Query{Status: journal.StatusCompleted}, []string{"r01", "r03"}},
	{"workflow and status", journal.Query{Workflow: "b", Status: journal.StatusRunning}, []string{"r07", "r02"}},
	{"since", journal.Query{Since: half(3)}, []string{"r01", "r08", "r07", "r06", "r05", "r04"}},
	{"until", journal.Query{Until: half(6)}, []string{"r06", "r05", "r04", "r03", "r02"}},
	{"since until workflow", journal.Query{Workflow: "a", Since: half(3), Until: half(7)}, []string{"r06", "r04"}},
	{"unknown workflow", journal.Query{Workflow: "zzz"}, nil},
	{"no match", journal.Query{Workflow: "b", Status: journal.StatusReview}, nil},
}

func ids(runs []journal.Run) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out
}

func testRunsFilters(t *testing.T, s journal.Store) {
	listingFixture(t, s)
	deadline := settle()
	for _, tc := range listingQueries {
		eventually(t, deadline, tc.name, func() string { return pageIDs(t, s, tc.q, 0, tc.want) })
	}

	// Heads in listings carry the same fields as Load, except that Seq may lag.
	want := []journal.Run{
		{ID: "r01", Workflow: "a", DefHash: "sha256:a", Status: journal.StatusCompleted, Created: at(1), Updated: at(9)},
		{ID: "r03", Workflow: "a", DefHash: "sha256:a", Status: journal.StatusCompleted, Created: at(3), Updated: at(3)},
	}
	ignoreSeq := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Seq" }, cmp.Ignore())
	eventually(t, deadline, "listed heads", func() string {
		got, _, err := s.Runs(t.Context(), journal.Query{Workflow: "a", Status: journal.StatusCompleted})
		if err != nil {
			return err.Error()
		}
		if diff := cmp.Diff(got, want, ignoreSeq); diff != "" {
			return "(-got +want):\n" + diff
		}
		return ""
	})
}

// settleTime bounds how long a subtest's listing checks wait, in all, for
// a backend whose listing indexes are eventually consistent (such as
// DynamoDB GSIs).
const settleTime = 10 * time.Second

// settle returns the deadline for a subtest's listing checks.
func settle() time.Time { return time.Now().Add(settleTime) }

// eventually calls check until it reports no problem or the deadline
// passes, and then reports the last problem as an error; past the deadline
// check gets one try. Loads are strongly consistent and never need this;
// listings may lag behind writes.
func eventually(t *testing.T, deadline time.Time, what string, check func() string) {
	t.Helper()
	for wait := time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		problem := check()
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %s", what, problem)
			return
		}
		time.Sleep(wait)
	}
}

// page lists every run matching q, limit runs at a time (0: the backend's
// default). It reports a run listed twice, a page over the limit or paging
// that does not end. A backend may hand out a cursor to an empty last page.
func page(t *testing.T, s journal.Store, q journal.Query, limit int) ([]journal.Run, error) {
	t.Helper()
	q.Limit = limit
	var all []journal.Run
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			return nil, fmt.Errorf("paging %s did not end", describe(q))
		}
		got, cursor, err := s.Runs(t.Context(), q)
		if err != nil {
			return nil, fmt.Errorf("runs %s: %w", describe(q), err)
		}
		if limit > 0 && len(got) > limit {
			return nil, fmt.Errorf("runs %s: got %d runs, more than limit %d", describe(q), len(got), limit)
		}
		for _, r := range got {
			if seen[r.ID] {
				return nil, fmt.Errorf("runs %s: %s listed twice", describe(q), r.ID)
			}
			seen[r.ID] = true
		}
		all = append(all, got...)
		if cursor == "" {
			return all, nil
		}
		q.Cursor = cursor
	}
}

// describe formats the fields of q that are set.
func describe(q journal.Query) string {
	var f []string
	add := func(name string, v any) { f = append(f, fmt.Sprintf("%s=%v", name, v)) }
	if q.Workflow != "" {
		add("workflow", q.Workflow)
	}
	if q.Status != "" {
		add("status", q.Status)
	}
	if !q.Since.IsZero() {
		add("since", q.Since)
	}
	if !q.Until.IsZero() {
		add("until", q.Until)
	}
	add("limit", q.Limit)
	if q.Cursor != "" {
		add("cursor", q.Cursor)
	}
	return "{" + strings.Join(f, " ") + "}"
}

// pageIDs pages through q and returns a diff of the ids against want, or a
// paging error, or "" when they match.
func pageIDs(t *testing.T, s journal.Store, q journal.Query, limit int, want []string) string {
	t.Helper()
	got, err := page(t, s, q, limit)
	if err != nil {
		return err.Error()
	}
	if diff := cmp.Diff(ids(got), want); diff != "" {
		return "ids (-got +want):\n" + diff
	}
	return ""
}

func testRunsPaging(t *testing.T, s journal.Store) {
	listingFixture(t, s)
	deadline := settle()
	for _, tc := range listingQueries {
		for _, limit := range []int{1, 2, 3} {
			eventually(t, deadline, fmt.Sprintf("%s, limit %d", tc.name, limit), func() string {
				return pageIDs(t, s, tc.q, limit, tc.want)
			})
		}
	}
}

// testRunsPagingTies pages through runs that share their Updated time: the
// order among them is the backend's choice, but no run may be lost or
// repeated.
func testRunsPagingTies(t *testing.T, s journal.Store) {
	var want []string
	for i := range 11 {
		id := fmt.Sprintf("tie-%02d", i)
		tick := 1
		if i%4 == 0 {
			tick = 2
		}
		start(t, s, id, "tie", journal.StatusRunning, tick)
		want = append(want, id)
	}
	deadline := settle()
	for _, limit := range []int{1, 2, 3, 4} {
		eventually(t, deadline, fmt.Sprintf("limit %d", limit), func() string {
			got, err := page(t, s, journal.Query{Workflow: "tie"}, limit)
			if err != nil {
				return err.Error()
			}
			for i := 1; i < len(got); i++ {
				if got[i].Updated.After(got[i-1].Updated) {
					return fmt.Sprintf("%s (updated %v) listed after %s (updated %v)",
						got[i].ID, got[i].Updated, got[i-1].ID, got[i-1].Updated)
				}
			}
			gotIDs := ids(got)
			sort.Strings(gotIDs)
			if diff := cmp.Diff(gotIDs, want); diff != "" {
				return "ids (-got +want):\n" + diff
			}
			return ""
		})
	}
}

func testRunsDefaultLimit(t *testing.T, s journal.Store) {
	var want []string
	for i := range 100 {
		id := fmt.Sprintf("run-%03d", i)
		start(t, s, id, "order", journal.StatusRunning, i)
		want = append([]string{id}, want...)
	}
	deadline := settle()
	eventually(t, deadline, "default page", func() string {
		got, cursor, err := s.Runs(t.Context(), journal.Query{})
		if err != nil {
			return err.Error()
		}
		if diff := cmp.Diff(ids(got), want); diff != "" {
			return "ids (-got +want):\n" + diff
		}
		if cursor != "" {
			// A backend may hand out a cursor to an empty last page.
			more, _, err := s.Runs(t.Context(), journal.Query{Cursor: cursor})
			if err != nil || len(more) != 0 {
				return fmt.Sprintf("unexpected next page %v, %v", ids(more), err)
			}
		}
		return ""
	})
}

// definition returns a definition whose hash is derived from its content.
func definition(name, version string, tick int) journal.Definition {
	js := fmt.Sprintf(`{"name":%q,"version":%q,"steps":[{"name":"a"},{"name":"b","after":["a"]}]}`, name, version)
	return journal.Definition{
		Hash:    "sha256:" + strings.ReplaceAll(name+"-"+version, " ", "_"),
		Name:    name,
		Version: version,
		JSON:    []byte(js),
		Created: at(tick),
	}
}

func testDefinitions(t *testing.T, s journal.Store) {
	ctx := t.Context()
	d1 := definition("order", "v1", 1)
	d2 := definition("order", "v2", 2)
	d3 := definition("refund", "v1", 3)
	for _, d := range []journal.Definition{d1, d3, d2} {
		if err := s.PutDefinition(ctx, d); err != nil {
			t.Fatalf("put %s: %v", d.Hash, err)
		}
	}
	// Storing the same hash again is a no-op, whatever else it carries.
	again := d1
	again.Created = at(50)
	if err := s.PutDefinition(ctx, again); err != nil {
		t.Fatalf("put %s again: %v", d1.Hash, err)
	}

	for _, want := range []journal.Definition{d1, d2, d3} {
		got, err := s.Definition(ctx, want.Hash)
		if err != nil {
			t.Errorf("definition %s: %v", want.Hash, err)
			continue
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("definition %s (-got +want):\n%s", want.Hash, diff)
		}
	}
	_, err := s.Definition(ctx, "sha256:unknown")
	wantErr(t, "definition sha256:unknown", err, journal.ErrNotFound, "")

	lists := []struct {
		name string
		want []journal.Definition
	}{
		{"order", []journal.Definition{d2, d1}},
		{"refund", []journal.Definition{d3}},
		{"", []journal.Definition{d3, d2, d1}},
		{"unknown", nil},
	}
	deadline := settle()
	for _, l := range lists {
		eventually(t, deadline, fmt.Sprintf("definitions %q", l.name), func() string {
			got, err := s.Definitions(ctx, l.name)
			if err != nil {
				return err.Error()
			}
			if len(got) == 0 && len(l.want) == 0 {
				return ""
			}
			if diff := cmp.Diff(got, l.want); diff != "" {
				return "(-got +want):\n" + diff
			}
			return ""
		})
	}
}

// testRunsBadCursor: a cursor the store never handed out is ErrBadCursor
// (callers answer it as bad input), whatever the filters.
func testRunsBadCursor(t *testing.T, s journal.Store) {
	start(t, s, "r1", "order", journal.StatusRunning, 1)
	for _, q := range []journal.Query{{Cursor: "zzzz"}, {Cursor: "%%%"}, {Workflow: "order", Cursor: "zzzz"},
		{Status: journal.StatusRunning, Cursor: "e30"}} {
		if _, _, err := s.Runs(t.Context(), q); !errors.Is(err, journal.ErrBadCursor) {
			t.Errorf("Runs(%+v) = %v, want ErrBadCursor", q, err)
		}
	}
}
