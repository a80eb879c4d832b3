// Package journaltest is the conformance suite for journal.Store: every
// backend runs it, so that all of them keep the same contract.
//
// A new backend calls Run from one of its tests, with a function that
// builds a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		journaltest.Run(t, func(t *testing.T) journal.Store {
//			s, err := mybackend.New(t.Context(), ...)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run calls newStore once per subtest. Each call must return a store that no
// other subtest sees (a new file, table or key prefix): the listing tests
// count every run in the store. Subtests run in parallel, so newStore must be
// safe to call concurrently; it should use t.Cleanup to release the store.
//
// The suite checks only what the journal.Store contract promises: sentinel
// errors matched with errors.Is, error messages naming the run, sequence
// numbers and optimistic concurrency, exact event round trips (events are
// encoded with journal.EncodeEvents, which compacts JSON), head fields,
// listing order, filters and paging, and definitions. It also races
// appenders against one run and against many runs.
//
// Load must read its own writes; listings need not. Checks of Runs and
// Definitions poll for up to ten seconds per subtest, so a backend whose
// listing indexes are eventually consistent passes once they catch up, and
// heads returned by Runs are compared without Seq, which may lag. Query
// bounds (Since, Until) are tested only away from their edges. With -short
// the concurrency tests do less work.
package journaltest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
)

// Run runs the conformance suite against stores built by newStore.
func Run(t *testing.T, newStore func(t *testing.T) journal.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s journal.Store)
	}{
		{"LoadUnknown", testLoadUnknown},
		{"FirstAppendCreatesRun", testFirstAppend},
		{"SequenceNumbers", testSequenceNumbers},
		{"StaleAfterConflicts", testStaleAfter},
		{"AfterBeyondHeadConflicts", testAfterBeyondHead},
		{"StartExistingRunConflicts", testStartExisting},
		{"EventsRoundTrip", testEventsRoundTrip},
		{"Since", testSince},
		{"StatusMovesHead", testStatusMovesHead},
		{"LargePayload", testLargePayload},
		{"ManyEventsInOneCommit", testManyEvents},
		{"RunsFilters", testRunsFilters},
		{"RunsPaging", testRunsPaging},
		{"RunsPagingTies", testRunsPagingTies},
		{"RunsDefaultLimit", testRunsDefaultLimit},
		{"RunsBadCursor", testRunsBadCursor},
		{"Definitions", testDefinitions},
		{"RacingAppenders", testRacingAppenders},
		{"ManyRunsConcurrently", testManyRuns},
		{"ContextCancelled", testContextCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// base is the suite's clock origin. It is not UTC on purpose: stores must
// preserve instants, not locations.
var base = time.Date(2025, 3, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))

// at returns the i-th tick of the suite's clock, one second apart.
func at(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }

// start creates run with one RunStarted event at tick i and fails the test
// on error.
func start(t *testing.T, s journal.Store, run, workflow string, status journal.Status, i int) {
	t.Helper()
	seq, err := s.Append(t.Context(), startCommit(run, workflow, status, i))
	if err != nil {
		t.Fatalf("start %s: %v", run, err)
	}
	if seq != 1 {
		t.Fatalf("start %s: got seq %d, want 1", run, seq)
	}
}

func startCommit(run, workflow string, status journal.Status, i int) journal.Commit {
	return journal.Commit{
		Run:      run,
		After:    0,
		Workflow: workflow,
		DefHash:  "sha256:" + workflow,
		Status:   status,
		At:       at(i),
		Events: []journal.Event{{
			Kind:     journal.RunStarted,
			At:       at(i),
			Workflow: workflow,
			DefHash:  "sha256:" + workflow,
			Key:      "key-" + run,
			Trigger:  "msg-" + run,
			Input:    json.RawMessage(`{"run":"` + run + `"}`),
		}},
	}
}

// step returns a small StepSucceeded event.
func step(name string, attempt, i int) journal.Event {
	return journal.Event{
		Kind:    journal.StepSucceeded,
		At:      at(i),
		Step:    name,
		Attempt: attempt,
		Output:  json.RawMessage(fmt.Sprintf(`{"step":%q,"attempt":%d}`, name, attempt)),
	}
}

// mustAppend appends c and checks it gets sequence want.
func mustAppend(t *testing.T, s journal.Store, c journal.Commit, want int64) {
	t.Helper()
	got, err := s.Append(t.Context(), c)
	if err != nil {
		t.Fatalf("append %s after %d: %v", c.Run, c.After, err)
	}
	if got != want {
		t.Fatalf("append %s after %d: got seq %d, want %d", c.Run, c.After, got, want)
	}
}

// mustLoad loads run and fails the test on error.
func mustLoad(t *testing.T, s journal.Store, run string) (journal.Run, []journal.Event) {
	t.Helper()
	head, events, err := s.Load(t.Context(), run)
	if err != nil {
		t.Fatalf("load %s: %v", run, err)
	}
	return head, events
}

// withSeq returns a copy of events stamped with seq, as Load returns them.
func withSeq(seq int64, events ...journal.Event) []journal.Event {
	out := make([]journal.Event, len(events))
	for i, e := range events {
		e.Seq = seq
		out[i] = e
	}
	return out
}

// wantErr checks that err matches target and that its message names run.
func wantErr(t *testing.T, op string, err, target error, run string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", op, err, target)
	}
	if run != "" && !strings.Contains(err.Error(), run) {
		t.Errorf("%s: error %q does not name %q", op, err, run)
	}
}

func testLoadUnknown(t *testing.T, s journal.Store) {
	_, _, err := s.Load(t.Context(), "run-unknown")
	wantErr(t, "load unknown run", err, journal.ErrNotFound, "run-unknown")
}

func testFirstAppend(t *testing.T, s journal.Store) {
	c := startCommit("run-1", "order", journal.StatusRunning, 0)
	mustAppend(t, s, c, 1)
	head, events := mustLoad(t, s, "run-1")
	want := journal.Run{
		ID:       "run-1",
		Workflow: "order",
		DefHash:  "sha256:order",
		Status:   journal.StatusRunning,
		Seq:      1,
		Created:  at(0),
		Updated:  at(0),
	}
	if diff := cmp.Diff(head, want); diff != "" {
		t.Errorf("head (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(events, withSeq(1, c.Events...)); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}

func testSequenceNumbers(t *testing.T, s journal.Store) {
	start(t, s, "run-1", "order", journal.StatusRunning, 0)
	for seq := int64(2); seq <= 6; seq++ {
		c := journal.Commit{Run: "run-1", After: seq - 1, At: at(int(seq)),
			Events: []journal.Event{step("s", int(seq), int(seq))}}
		mustAppend(t, s, c, seq)
	}
	head, events := mustLoad(t, s, "run-1")
	if head.Seq != 6 {
		t.Errorf("head seq: got %d, want 6", head.Seq)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Errorf("event %d: got seq %d, want %d", i, e.Seq, i+1)
		}
	}
}

func testStaleAfter(t *testing.T, s journal.Store) {
	start(t, s, "run-1", "order", journal.StatusRunning, 0)
	mustAppend(t, s, journal.Commit{Run: "run-1", After: 1, At: at(1),
		Events: []journal.Event{step("a", 1, 1)}}, 2)
	mustAppend(t, s, journal.Commit{Run: "run-1", After: 2, At: at(2),
		Events: []journal.Event{step("b", 1, 2)}}, 3)
	headBefore, eventsBefore := mustLoad(t, s, "run-1")

	for _, after := range []int64{1, 2} {
		_, err := s.Append(t.Context(), journal.Commit{Run: "run-1", After: after, At: at(9),
			Status: journal.StatusFailed, Events: []journal.Event{step("stale", 1, 9)}})
		wantErr(t, fmt.Sprintf("append after %d of 3", after), err, journal.ErrConflict, "run-1")
	}
	head, events := mustLoad(t, s, "run-1")
	if diff := cmp.Diff(head, headBefore); diff != "" {
		t.Errorf("head changed by a conflicting append (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(events, eventsBefore); diff != "" {
		t.Errorf("events changed by a conflicting append (-got +want):\n%s", diff)
	}
}

// testAfterBeyondHead appends past the head, with and without a status
// (a status commit moves the head by another path in some backends), to a
// run and to a run that does not exist.
func testAfterBeyondHead(t *testing.T, s journal.Store) {
	start(t, s, "run-1", "order", journal.StatusRunning, 0)
	headBefore, _ := mustLoad(t, s, "run-1")
	for _, status := range []journal.Status{"", journal.StatusReview, journal.StatusCompleted} {
		for _, after := range []int64{2, 5} {
			_, err := s.Append(t.Context(), journal.Commit{Run: "run-1", After: after, At: at(1),
				Status: status, Events: []journal.Event{step("a", 1, 1)}})
			wantErr(t, fmt.Sprintf("append after %d of 1 with status %q", after, status),
				err, journal.ErrConflict, "run-1")
			_, err = s.Append(t.Context(), journal.Commit{Run: "run-never", After: after, At: at(1),
				Status: status, Events: []journal.Event{step("a", 1, 1)}})
			wantErr(t, fmt.Sprintf("append after %d to an unknown run with status %q", after, status),
				err, journal.ErrConflict, "run-never")
		}
	}

	head, events := mustLoad(t, s, "run-1")
	if diff := cmp.Diff(head, headBefore); diff != "" {
		t.Errorf("head changed by appends past it (-got +want):\n%s", diff)
	}
	if len(events) != 1 {
		t.Errorf("got %d events, want 1", len(events))
	}
	// The run still takes its next commit.
	mustAppend(t, s, journal.Commit{Run: "run-1", After: 1, At: at(2), Status: journal.StatusWaiting,
		Events: []journal.Event{step("b", 1, 2)}}, 2)
	_, _, err := s.Load(t.Context(), "run-never")
	wantErr(t, "load run-never", err, journal.ErrNotFound, "run-never")
	runs, _, err := s.Runs(t.Context(), journal.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if r.ID == "run-never" {
			t.Errorf("run-never is listed: %+v", r)
		}
	}
}

func testStartExisting(t *testing.T, s journal.Store) {
	first := startCommit("run-1", "order", journal.StatusRunning, 0)
	mustAppend(t, s, first, 1)
	again := startCommit("run-1", "other", journal.StatusWaiting, 5)
	_, err := s.Append(t.Context(), again)
	wantErr(t, "second start", err, journal.ErrConflict, "run-1")

	head, events := mustLoad(t, s, "run-1")
	want := journal.Run{ID: "run-1", Workflow: "order", DefHash: "sha256:order",
		Status: journal.StatusRunning, Seq: 1, Created: at(0), Updated: at(0)}
	if diff := cmp.Diff(head, want); diff != "" {
		t.Errorf("head after a duplicate start (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(events, withSeq(1, first.Events...)); diff != "" {
		t.Errorf("events after a duplicate start (-got +want):\n%s", diff)
	}
}

// richEvents returns a commit's worth of events that between them set every
// field of journal.Event.
func richEvents(n int) []journal.Event {
	t := at(n).Add(time.Duration(n) * time.Nanosecond)
	return []journal.Event{
		{
			Kind: journal.StepSucceeded, At: t, Step: "charge", Attempt: n + 1,
			Output: json.RawMessage(`{"id":"ch_` + fmt.Sprint(n) + `","amount":4200,"note":"café ☕"}`),
			State:  json.RawMessage(`{"charged":true,"hold":null}`),
			Effects: []journal.Effect{
				{ID: fmt.Sprintf("eff-%d-1", n), Kind: "email", Target: "ops@example.com",
					Payload: json.RawMessage(`{"subject":"paid","to":["a","b"]}`)},
				{ID: fmt.Sprintf("eff-%d-2", n), Kind: "webhook"},
			},
		},
		{Kind: journal.StepScheduled, At: t, Step: "ship", Attempt: 1,
			Input: json.RawMessage(`[1,2.5,"x",{"y":false}]`)},
		{Kind: journal.StepFailed, At: t, Step: "ship", Attempt: 2,
			Error: &journal.Error{Message: "carrier down", Kind: "timeout", Terminal: true}},
		{Kind: journal.RetryScheduled, At: t, Step: "ship", Attempt: 3,
			Due: t.Add(90 * time.Second).In(time.UTC)},
		{Kind: journal.NeedsReview, At: t, Reason: "amount over limit", By: "alice"},
		{Kind: journal.EffectFailed, At: t, EffectID: fmt.Sprintf("eff-%d-1", n),
			Error: &journal.Error{Message: "smtp 451"}},
		{Kind: journal.Kind("FutureKind"), At: t.In(time.UTC), Step: "x"},
	}
}

func testEventsRoundTrip(t *testing.T, s journal.Store) {
	started := startCommit("run-1", "order", journal.StatusRunning, 0)
	started.Events[0].Input = json.RawMessage(`{"customer":"c-1","items":[{"sku":"A","qty":2}]}`)
	mustAppend(t, s, started, 1)
	want := withSeq(1, started.Events...)
	for seq := int64(2); seq <= 5; seq++ {
		events := richEvents(int(seq))
		mustAppend(t, s, journal.Commit{Run: "run-1", After: seq - 1, At: at(int(seq)), Events: events}, seq)
		want = append(want, withSeq(seq, events...)...)
	}
	_, got := mustLoad(t, s, "run-1")
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}

func testStatusMovesHead(t *testing.T, s journal.Store) {
	start(t, s, "run-1", "order", journal.StatusRunning, 0)
	steps := []struct {
		status      journal.Status
		wantStatus  journal.Status
		wantUpdated int
	}{
		{"", journal.StatusRunning, 0},
		{journal.StatusWaiting, journal.StatusWaiting, 2},
		{"", journal.StatusWaiting, 2},
		{"", journal.StatusWaiting, 2},
		{journal.StatusReview, journal.StatusReview, 5},
		{journal.StatusCompleted, journal.StatusCompleted, 6},
	}
	for i, st := range steps {
		seq := int64(i + 2)
		mustAppend(t, s, journal.Commit{Run: "run-1", After: seq - 1, At: at(i + 1), Status: st.status,
			Events: []journal.Event{step("s", i, i+1)}}, seq)
		head, _ := mustLoad(t, s, "run-1")
		want := journal.Run{ID: "run-1", Workflow: "order", DefHash: "sha256:order",
			Status: st.wantStatus, Seq: seq, Created: at(0), Updated: at(st.wantUpdated)}
		if diff := cmp.Diff(head, want); diff != "" {
			t.Errorf("after commit %d with status %q (-got +want):\n%s", seq, st.status, diff)
		}
	}
}

func testLargePayload(t *testing.T, s journal.Store) {
	var b strings.Builder
	for i := 0; b.Len() < 100<<10; i++ {
		fmt.Fprintf(&b, "%d-abcdefghijklmnopqrstuvwxyz-", i)
	}
	blob := json.RawMessage(`{"blob":"` + b.String() + `"}`)
	start(t, s, "run-1", "order", journal.StatusRunning, 0)
	e := step("big", 1, 1)
	e.Output = blob
	mustAppend(t, s, journal.Commit{Run: "run-1", After: 1, At: at(1), Events: []journal.Event{e}}, 2)
	_, events := mustLoad(t, s, "run-1")
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2", len(events))
	}
	if diff := cmp.Diff(events[1], withSeq(2, e)[0]); diff != "" {
		t.Errorf("large event (-got +want):\n%s", diff)
	}
}

func testManyEvents(t *testing.T, s journal.Store) {
	start(t, s, "run-1", "order", journal.StatusRunning, 0)
	var events []journal.Event
	for i := range 200 {
		events = append(events, step(fmt.Sprintf("fan-%03d", i), 1, 1))
	}
	mustAppend(t, s, journal.Commit{Run: "run-1", After: 1, At: at(1), Events: events}, 2)
	_, got := mustLoad(t, s, "run-1")
	if diff := cmp.Diff(got[1:], withSeq(2, events...)); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
}

func testContextCancelled(t *testing.T, s journal.Store) {
	start(t, s, "run-1", "order", journal.StatusRunning, 0)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, _, err := s.Load(ctx, "run-1")
	wantErr(t, "load", err, context.Canceled, "")
	_, err = s.Append(ctx, startCommit("run-2", "order", journal.StatusRunning, 1))
	wantErr(t, "append", err, context.Canceled, "")
	_, err = s.Append(ctx, journal.Commit{Run: "run-1", After: 1, At: at(1),
		Events: []journal.Event{step("a", 1, 1)}})
	wantErr(t, "append", err, context.Canceled, "")
	_, _, err = s.Runs(ctx, journal.Query{})
	wantErr(t, "runs", err, context.Canceled, "")
	err = s.PutDefinition(ctx, definition("order", "v1", 1))
	wantErr(t, "put definition", err, context.Canceled, "")
	_, err = s.Definition(ctx, definition("order", "v1", 1).Hash)
	wantErr(t, "definition", err, context.Canceled, "")
	_, err = s.Definitions(ctx, "")
	wantErr(t, "definitions", err, context.Canceled, "")

	// Nothing was written.
	_, _, err = s.Load(t.Context(), "run-2")
	wantErr(t, "load run-2", err, journal.ErrNotFound, "run-2")
	head, _ := mustLoad(t, s, "run-1")
	if head.Seq != 1 {
		t.Errorf("run-1 seq: got %d, want 1", head.Seq)
	}
	_, err = s.Definition(t.Context(), definition("order", "v1", 1).Hash)
	wantErr(t, "definition", err, journal.ErrNotFound, "")
}
