package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// redeliveries records what the API hands back to the platform.
type redeliveries struct {
	mu    sync.Mutex
	calls []string
}

func (r *redeliveries) Redispatch(_ context.Context, run string, e journal.Effect) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "redispatch "+run+" "+e.ID)
	return nil
}

func (r *redeliveries) Redeliver(_ context.Context, source, trigger string, body json.RawMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "redeliver "+source+" "+trigger+" "+string(body))
	return nil
}

func reviewServer(t *testing.T, opts ...api.Option) (*httptest.Server, *memjournal.Store) {
	t.Helper()
	store := memjournal.New()
	rt := embedded.New(store, step.NewRegistry())
	t.Cleanup(func() { rt.Close() })
	srv := httptest.NewServer(api.New(rt.Engine, rt, rt, append(opts, api.WithAuthenticator(testTokens))...))
	t.Cleanup(srv.Close)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	effect, _ := json.Marshal(journal.Effect{ID: "order/o1/ship/1/0", Kind: "http", Target: "https://example.test"})
	for _, it := range []journal.ReviewItem{
		{ID: "malformed-trigger/sqs:m1", Kind: journal.ReviewMalformedTrigger, Source: "sqs:orders", Payload: json.RawMessage(`{"tpye":"x"}`), Reason: "no binding", Created: now},
		{ID: "failed-effect/order/o1/ship/1/0", Kind: journal.ReviewFailedEffect, Run: "order/o1", Payload: effect, Reason: "503", Created: now.Add(time.Second)},
	} {
		if _, err := store.PutReview(context.Background(), it); err != nil {
			t.Fatal(err)
		}
	}
	return srv, store
}

func itemIDs(out map[string]any) []string {
	var ids []string
	items, _ := out["items"].([]any)
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

func TestReviewItems(t *testing.T) {
	r := &redeliveries{}
	srv, _ := reviewServer(t, api.WithRedeliverer(r))
	if code, out := call(t, srv, "GET", "/v1/review", ""); code != 200 || strings.Join(itemIDs(out), " ") != "malformed-trigger/sqs:m1 failed-effect/order/o1/ship/1/0" {
		t.Fatalf("list: %d %v", code, out)
	}
	if code, out := call(t, srv, "GET", "/v1/review?kind=failed-effect", ""); code != 200 || len(itemIDs(out)) != 1 {
		t.Fatalf("list by kind: %d %v", code, out)
	}
	if code, out := call(t, srv, "GET", "/v1/review/failed-effect/order/o1/ship/1/0", ""); code != 200 || out["run"] != "order/o1" {
		t.Fatalf("show: %d %v", code, out)
	}
	code, out := call(t, srv, "POST", "/v1/review/failed-effect/order/o1/ship/1/0/resolve", `{"by":"ops"}`)
	if res, _ := out["resolution"].(map[string]any); code != 200 || res["action"] != journal.ResolutionRedispatched || res["by"] != "alice (for ops)" {
		t.Fatalf("resolve the failed effect: %d %v", code, out)
	}
	code, out = call(t, srv, "POST", "/v1/review/malformed-trigger/sqs:m1/resolve", `{"action":"resubmit","body":{"type":"x"}}`)
	if code != 200 {
		t.Fatalf("resubmit the malformed trigger: %d %v", code, out)
	}
	want := `redispatch order/o1 order/o1/ship/1/0|redeliver sqs:orders sqs:m1 {"type":"x"}`
	if got := strings.Join(r.calls, "|"); got != want {
		t.Errorf("redeliveries %q, want %q", got, want)
	}
	if code, out := call(t, srv, "GET", "/v1/review", ""); code != 200 || len(itemIDs(out)) != 0 {
		t.Fatalf("open items after resolving both: %d %v", code, out)
	}
	if code, out := call(t, srv, "GET", "/v1/review?resolved=true", ""); code != 200 || len(itemIDs(out)) != 2 {
		t.Fatalf("resolved items: %d %v", code, out)
	}
	if code, out := call(t, srv, "GET", "/v1/runs", ""); code != 200 || len(out["runs"].([]any)) != 0 {
		t.Fatalf("runs: %d %v, want none (review items are not runs)", code, out)
	}
}

func TestReviewErrors(t *testing.T) {
	srv, _ := reviewServer(t) // no redeliverer: only discarding works
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"GET", "/v1/review?kind=oops", ``, 400, "want one of malformed-trigger, failed-effect"},
		{"GET", "/v1/review?resolved=maybe", ``, 400, "resolved"},
		{"GET", "/v1/review/failed-effect/none", ``, 404, "not found"},
		{"POST", "/v1/review/failed-effect/none/resolve", `{}`, 404, "not found"},
		{"POST", "/v1/review/malformed-trigger/sqs:m1/resolve", `{}`, 400, "say resubmit or discard"},
		{"POST", "/v1/review/malformed-trigger/sqs:m1/resolve", `{"action":"redispatch"}`, 400, `"redispatch", want resubmit or discard`},
		{"POST", "/v1/review/malformed-trigger/sqs:m1", `{}`, 404, "unknown operation"},
		{"POST", "/v1/review/failed-effect/order/o1/ship/1/0/resolve", `{}`, 501, "cannot hand review items back"},
		{"POST", "/v1/review/malformed-trigger/sqs:m1/resolve", `{"action":"discard"}`, 200, ""},
		{"POST", "/v1/review/malformed-trigger/sqs:m1/resolve", `{"action":"discard"}`, 409, "already discarded"},
	} {
		code, out := call(t, srv, tc.method, tc.path, tc.body)
		if msg, _ := out["error"].(string); code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s %s: %d %q, want %d mentioning %q", tc.method, tc.path, tc.body, code, msg, tc.code, tc.want)
		}
	}
	// A failed redelivery leaves the item open.
	if code, out := call(t, srv, "GET", "/v1/review?kind=failed-effect", ""); code != 200 || len(itemIDs(out)) != 1 {
		t.Fatalf("failed effect after a refused redispatch: %d %v, want it still open", code, out)
	}
}
