package review_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/review"
)

// recorder is a Redeliverer that records what it is asked, or fails.
type recorder struct {
	calls []string
	fail  error
}

func (r *recorder) Redispatch(_ context.Context, run string, e journal.Effect) error {
	r.calls = append(r.calls, "redispatch "+run+" "+e.ID)
	return r.fail
}

func (r *recorder) Redeliver(_ context.Context, source, trigger string, body json.RawMessage) error {
	r.calls = append(r.calls, "redeliver "+source+" "+trigger+" "+string(body))
	return r.fail
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixture(t *testing.T) *memjournal.Store {
	t.Helper()
	s := memjournal.New()
	effect, _ := json.Marshal(journal.Effect{ID: "order/o1/ship/1/0", Kind: "http", Target: "https://example.test"})
	for _, it := range []journal.ReviewItem{
		{ID: "failed-effect/order/o1/ship/1/0", Kind: journal.ReviewFailedEffect, Run: "order/o1", Payload: effect, Reason: "503", Created: t0},
		{ID: "malformed-trigger/sqs:m1", Kind: journal.ReviewMalformedTrigger, Source: "sqs:orders", Payload: json.RawMessage(`{"typo":1}`), Reason: "no binding", Created: t0},
	} {
		if _, err := s.PutReview(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct {
		name      string
		req       review.Request
		fail      error
		wantErr   error
		wantCalls []string
		wantOpen  bool
	}{
		{name: "failed effect: redispatched by default", req: review.Request{ID: "failed-effect/order/o1/ship/1/0", By: "ops"},
			wantCalls: []string{"redispatch order/o1 order/o1/ship/1/0"}},
		{name: "failed effect: discarded", req: review.Request{ID: "failed-effect/order/o1/ship/1/0", Action: review.Discard}},
		{name: "failed effect: resubmit is not an action for it", req: review.Request{ID: "failed-effect/order/o1/ship/1/0", Action: review.Resubmit},
			wantErr: review.ErrBadAction, wantOpen: true},
		{name: "failed effect: redispatch fails, item reopened", req: review.Request{ID: "failed-effect/order/o1/ship/1/0"}, fail: errors.New("queue down"),
			wantErr: errQueueDown, wantCalls: []string{"redispatch order/o1 order/o1/ship/1/0"}, wantOpen: true},
		{name: "malformed trigger: needs an action", req: review.Request{ID: "malformed-trigger/sqs:m1"}, wantErr: review.ErrBadAction, wantOpen: true},
		{name: "malformed trigger: resubmitted as it was", req: review.Request{ID: "malformed-trigger/sqs:m1", Action: review.Resubmit},
			wantCalls: []string{`redeliver sqs:orders sqs:m1 {"typo":1}`}},
		{name: "malformed trigger: resubmitted edited", req: review.Request{ID: "malformed-trigger/sqs:m1", Action: review.Resubmit, Body: json.RawMessage(`{"type":"greet"}`)},
			wantCalls: []string{`redeliver sqs:orders sqs:m1 {"type":"greet"}`}},
		{name: "malformed trigger: an edited body that is not JSON", req: review.Request{ID: "malformed-trigger/sqs:m1", Action: review.Resubmit, Body: json.RawMessage(`{`)},
			wantErr: review.ErrBadAction, wantOpen: true},
		{name: "malformed trigger: a body with discard", req: review.Request{ID: "malformed-trigger/sqs:m1", Action: review.Discard, Body: json.RawMessage(`{}`)},
			wantErr: review.ErrBadAction, wantOpen: true},
		{name: "malformed trigger: discarded", req: review.Request{ID: "malformed-trigger/sqs:m1", Action: review.Discard}},
		{name: "unknown item", req: review.Request{ID: "failed-effect/none"}, wantErr: journal.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fixture(t)
			r := &recorder{fail: tc.fail}
			_, err := review.Resolve(context.Background(), s, r, tc.req, t0.Add(time.Minute))
			if tc.wantErr == errQueueDown {
				if err == nil || !errors.Is(err, tc.fail) {
					t.Fatalf("err %v, want the redeliverer's", err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if d := cmp.Diff(r.calls, tc.wantCalls); d != "" {
				t.Errorf("redeliveries (-got +want):\n%s", d)
			}
			if tc.wantErr == journal.ErrNotFound {
				return
			}
			it, err := s.Review(context.Background(), tc.req.ID)
			if err != nil {
				t.Fatal(err)
			}
			if open := it.Resolution == nil; open != tc.wantOpen {
				t.Fatalf("item open: %t, want %t (%+v)", open, tc.wantOpen, it.Resolution)
			}
			if !tc.wantOpen {
				if _, err := review.Resolve(context.Background(), s, r, tc.req, t0); !errors.Is(err, journal.ErrConflict) {
					t.Errorf("resolving again: %v, want ErrConflict", err)
				}
			}
		})
	}
}

// errQueueDown marks cases that expect the redeliverer's own error.
var errQueueDown = errors.New("the redeliverer's error")
