package journaltest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ordoflow/ordo/journal"
)

// Internal is what a backend with internal streams implements: the run
// journal, streams and review items, in one store.
type Internal interface {
	journal.Store
	journal.Streams
	journal.Reviews
}

// RunInternal runs the conformance suite of journal.Streams and
// journal.Reviews against stores built by newStore (fresh and empty per
// subtest, as for Run). It also checks that streams and review items stay
// out of the run journal: Load, Since and Runs never see them.
func RunInternal(t *testing.T, newStore func(t *testing.T) Internal) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s Internal)
	}{
		{"StreamReadUnknown", testStreamReadUnknown},
		{"StreamSequence", testStreamSequence},
		{"StreamRacingAppenders", testStreamRacing},
		{"StreamsAreNotRuns", testStreamsAreNotRuns},
		{"ReviewPutIsIdempotent", testReviewPut},
		{"ReviewResolve", testReviewResolve},
		{"ReviewReopen", testReviewReopen},
		{"ReviewListing", testReviewListing},
		{"ReviewInvalid", testReviewInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func queued(child string, i int) journal.Event {
	return journal.Event{Kind: journal.Deferred, At: at(i), Child: child}
}

func testStreamReadUnknown(t *testing.T, s Internal) {
	events, err := s.ReadStream(t.Context(), "queue/none")
	if err != nil || len(events) != 0 {
		t.Fatalf("read of an unknown stream: %v, %v; want no events and no error", events, err)
	}
}

func testStreamSequence(t *testing.T, s Internal) {
	ctx := t.Context()
	const q = "deferred/order/cus-1"
	for i, after := range []int64{0, 1} {
		seq, err := s.AppendStream(ctx, q, after, []journal.Event{queued(fmt.Sprint("r", i), i)})
		if err != nil || seq != after+1 {
			t.Fatalf("append after %d: seq %d, %v; want %d", after, seq, err, after+1)
		}
	}
	for _, after := range []int64{0, 1, 5, -1} {
		_, err := s.AppendStream(ctx, q, after, []journal.Event{queued("late", 9)})
		if !errors.Is(err, journal.ErrConflict) {
			t.Errorf("append after %d to a stream at 2: %v, want ErrConflict", after, err)
		} else if !strings.Contains(err.Error(), q) {
			t.Errorf("conflict error %q does not name the stream", err)
		}
	}
	seq, err := s.AppendStream(ctx, q, 2, []journal.Event{queued("r2", 2), {Kind: journal.Acquired, At: at(3), Child: "r0"}})
	if err != nil || seq != 3 {
		t.Fatalf("append of two events after 2: seq %d, %v", seq, err)
	}
	got, err := s.ReadStream(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want := []journal.Event{queued("r0", 0), queued("r1", 1), queued("r2", 2), {Kind: journal.Acquired, At: at(3), Child: "r0"}}
	for i, seq := range []int64{1, 2, 3, 3} {
		want[i].Seq = seq
	}
	if d := cmp.Diff(got, want, timeEqual); d != "" {
		t.Errorf("stream events (-got +want):\n%s", d)
	}
	if _, err := s.AppendStream(ctx, q, 3, nil); err == nil {
		t.Error("an append without events succeeded")
	}
	if _, err := s.AppendStream(ctx, "", 0, []journal.Event{queued("x", 0)}); err == nil {
		t.Error("an append without a stream name succeeded")
	}
}

// timeEqual compares instants, not locations.
var timeEqual = cmpopts.EquateApproxTime(0)

// testStreamRacing has writers append to one stream at once, each
// reloading after a conflict: every entry lands once, in a total order.
func testStreamRacing(t *testing.T, s Internal) {
	ctx := t.Context()
	writers, each := 8, 6
	if testing.Short() {
		writers, each = 4, 3
	}
	const q = "race"
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				for {
					events, err := s.ReadStream(ctx, q)
					if err != nil {
						errs[w] = err
						return
					}
					var last int64
					for _, e := range events {
						last = max(last, e.Seq)
					}
					_, err = s.AppendStream(ctx, q, last, []journal.Event{queued(fmt.Sprintf("w%d-%d", w, i), i)})
					if errors.Is(err, journal.ErrConflict) {
						continue
					}
					errs[w] = err
					break
				}
				if errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	events, err := s.ReadStream(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range events {
		if e.Seq != int64(i+1) || seen[e.Child] {
			t.Fatalf("entry %d: seq %d child %s (seen before: %t)", i, e.Seq, e.Child, seen[e.Child])
		}
		seen[e.Child] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d entries, want %d", len(seen), writers*each)
	}
}

// testStreamsAreNotRuns writes a stream and a review item whose names a
// run could have, and a run of the same name: neither side sees the other.
func testStreamsAreNotRuns(t *testing.T, s Internal) {
	ctx := t.Context()
	const name = "_deferred/order/cus-1"
	if _, err := s.AppendStream(ctx, name, 0, []journal.Event{queued("order/1", 0)}); err != nil {
		t.Fatal(err)
	}
	it := reviewItem(journal.ReviewMalformedTrigger, "sqs:m1", 1)
	if _, err := s.PutReview(ctx, it); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{name, it.ID, "RUN#" + name} {
		if _, _, err := s.Load(ctx, id); !errors.Is(err, journal.ErrNotFound) {
			t.Errorf("Load(%q) after writing internal streams: %v, want ErrNotFound", id, err)
		}
		if evs, err := s.Since(ctx, id, 0); err != nil || len(evs) != 0 {
			t.Errorf("Since(%q): %v, %v; want nothing", id, evs, err)
		}
	}
	runs, _, err := s.Runs(ctx, journal.Query{})
	if err != nil || len(runs) != 0 {
		t.Errorf("Runs after writing internal streams: %v, %v; want none", ids(runs), err)
	}
	for _, st := range journal.Statuses {
		if runs, _, _ := s.Runs(ctx, journal.Query{Status: st}); len(runs) != 0 {
			t.Errorf("Runs(status %s): %v, want none", st, ids(runs))
		}
	}
	// A run of the same name is its own.
	start(t, s, name, "order", journal.StatusRunning, 2)
	events, err := s.ReadStream(ctx, name)
	if err != nil || len(events) != 1 || events[0].Child != "order/1" {
		t.Errorf("stream after a run of the same name started: %v, %v", events, err)
	}
	_, runEvents := mustLoad(t, s, name)
	if len(runEvents) != 1 || runEvents[0].Kind != journal.RunStarted {
		t.Errorf("run sharing a stream's name loads %v", runEvents)
	}
}

func reviewItem(kind journal.ReviewKind, source string, i int) journal.ReviewItem {
	return journal.ReviewItem{ID: journal.ReviewID(kind, source), Kind: kind, Reason: "reason " + source,
		Payload: json.RawMessage(`{"source":"` + source + `"}`), Source: "sqs:orders", Run: "order/" + source, Created: at(i)}
}

func testReviewPut(t *testing.T, s Internal) {
	ctx := t.Context()
	it := reviewItem(journal.ReviewFailedEffect, "eff-1", 1)
	if created, err := s.PutReview(ctx, it); err != nil || !created {
		t.Fatalf("first put: created %t, %v", created, err)
	}
	again := it
	again.Reason, again.Created = "a redelivery", at(5)
	if created, err := s.PutReview(ctx, again); err != nil || created {
		t.Fatalf("second put of an open item: created %t, %v; want false", created, err)
	}
	got, err := s.Review(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(got, it, timeEqual); d != "" {
		t.Errorf("stored item (-got +want):\n%s", d)
	}
	if _, err := s.Review(ctx, "failed-effect/none"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("unknown item: %v, want ErrNotFound", err)
	}
}

func testReviewResolve(t *testing.T, s Internal) {
	ctx := t.Context()
	it := reviewItem(journal.ReviewMalformedTrigger, "sqs:m2", 1)
	if _, err := s.PutReview(ctx, it); err != nil {
		t.Fatal(err)
	}
	r := journal.Resolution{Action: journal.ResolutionDiscarded, By: "ops", Note: "test message", At: at(3)}
	got, err := s.ResolveReview(ctx, it.ID, r)
	if err != nil {
		t.Fatal(err)
	}
	want := it
	want.Resolution = &r
	if d := cmp.Diff(got, want, timeEqual); d != "" {
		t.Errorf("resolved item (-got +want):\n%s", d)
	}
	if got, err = s.Review(ctx, it.ID); err != nil || cmp.Diff(got, want, timeEqual) != "" {
		t.Errorf("reloaded resolved item: %+v, %v", got, err)
	}
	if _, err := s.ResolveReview(ctx, it.ID, r); !errors.Is(err, journal.ErrConflict) {
		t.Errorf("resolving twice: %v, want ErrConflict", err)
	}
	if _, err := s.ResolveReview(ctx, "malformed-trigger/none", r); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("resolving an unknown item: %v, want ErrNotFound", err)
	}
}

func testReviewReopen(t *testing.T, s Internal) {
	ctx := t.Context()
	it := reviewItem(journal.ReviewFailedEffect, "eff-2", 1)
	if _, err := s.PutReview(ctx, it); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveReview(ctx, it.ID, journal.Resolution{Action: journal.ResolutionRedispatched, At: at(2)}); err != nil {
		t.Fatal(err)
	}
	again := it
	again.Reason, again.Created = "failed again", at(4)
	if created, err := s.PutReview(ctx, again); err != nil || !created {
		t.Fatalf("put after resolution: created %t, %v; want a reopened item", created, err)
	}
	got, err := s.Review(ctx, it.ID)
	if err != nil || got.Resolution != nil || got.Reason != "failed again" {
		t.Fatalf("reopened item: %+v, %v", got, err)
	}
}

func reviewIDs(items []journal.ReviewItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// listReviews pages through q, limit items at a time.
func listReviews(t *testing.T, s Internal, q journal.ReviewQuery, limit int) ([]string, error) {
	t.Helper()
	q.Limit = limit
	var all []string
	for range 100 {
		items, next, err := s.Reviews(t.Context(), q)
		if err != nil {
			return nil, err
		}
		if limit > 0 && len(items) > limit {
			return nil, fmt.Errorf("page of %d, limit %d", len(items), limit)
		}
		all = append(all, reviewIDs(items)...)
		if next == "" {
			return all, nil
		}
		q.Cursor = next
	}
	return nil, errors.New("paging does not end")
}

func testReviewListing(t *testing.T, s Internal) {
	ctx := t.Context()
	var malformed, failed []string
	for i := range 5 {
		m := reviewItem(journal.ReviewMalformedTrigger, fmt.Sprintf("sqs:m%d", i), 10-2*i) // created newest first
		f := reviewItem(journal.ReviewFailedEffect, fmt.Sprintf("e%d", i), 1+2*i)
		for _, it := range []journal.ReviewItem{m, f} {
			if _, err := s.PutReview(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		malformed = append([]string{m.ID}, malformed...)
		failed = append(failed, f.ID)
	}
	if _, err := s.ResolveReview(ctx, failed[0], journal.Resolution{Action: journal.ResolutionRedispatched, At: at(20)}); err != nil {
		t.Fatal(err)
	}
	// Oldest first: m4 (tick 2), e1 (3), m3 (4), e2 (5), ...; e0 is resolved.
	open := []string{malformed[0], failed[1], malformed[1], failed[2], malformed[2], failed[3], malformed[3], failed[4], malformed[4]}
	for _, tc := range []struct {
		q    journal.ReviewQuery
		want []string
	}{
		{journal.ReviewQuery{}, open},
		{journal.ReviewQuery{Kind: journal.ReviewMalformedTrigger}, malformed},
		{journal.ReviewQuery{Kind: journal.ReviewFailedEffect}, failed[1:]},
		{journal.ReviewQuery{Kind: journal.ReviewFailedEffect, Resolved: true}, failed[:1]},
		{journal.ReviewQuery{Resolved: true}, failed[:1]},
	} {
		for _, limit := range []int{0, 2} {
			eventually(t, settle(), fmt.Sprintf("Reviews(%+v) by %d", tc.q, limit), func() string {
				got, err := listReviews(t, s, tc.q, limit)
				if err != nil {
					return err.Error()
				}
				return cmp.Diff(got, tc.want)
			})
		}
	}
}

func testReviewInvalid(t *testing.T, s Internal) {
	for _, it := range []journal.ReviewItem{
		{ID: "x/1", Kind: "x", Created: at(1)},
		{ID: "sqs:1", Kind: journal.ReviewMalformedTrigger, Created: at(1)},
		{ID: "malformed-trigger/", Kind: journal.ReviewMalformedTrigger, Created: at(1)},
		{ID: "malformed-trigger/sqs:1", Kind: journal.ReviewMalformedTrigger},
	} {
		if _, err := s.PutReview(t.Context(), it); err == nil {
			t.Errorf("PutReview(%+v) succeeded", it)
		}
	}
}
