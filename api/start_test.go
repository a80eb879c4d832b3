package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// keylessServer serves a workflow without a key expression ("note") beside
// one with a key ("keyed").
func keylessServer(t *testing.T) (*httptest.Server, journal.Store) {
	t.Helper()
	store := memjournal.New()
	rt := embedded.New(store, step.NewRegistry())
	t.Cleanup(func() { rt.Close() })
	note := workflow.New("note", workflow.Pass("echo", "input")).MustBuild()
	keyed := workflow.New("keyed", workflow.Key("input.id"), workflow.Pass("echo", "input")).MustBuild()
	if err := rt.Engine.Register(context.Background(), note, keyed); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(rt.Engine, rt, rt, api.WithAuthenticator(testTokens)))
	t.Cleanup(srv.Close)
	return srv, store
}

// start posts a start with an optional Idempotency-Key header.
func start(t *testing.T, srv *httptest.Server, body, idem string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/runs", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer operator-token")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func runsOf(t *testing.T, store journal.Store, wf string) []journal.Run {
	t.Helper()
	runs, _, err := store.Runs(context.Background(), journal.Query{Workflow: wf})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func TestKeylessStartsAreNewRuns(t *testing.T) {
	srv, store := keylessServer(t)
	seen := map[string]bool{}
	for i := range 2 {
		code, out := start(t, srv, `{"workflow":"note","input":{"x":1}}`, "")
		run, _ := out["run"].(string)
		if code != http.StatusCreated || out["created"] != true || !strings.HasPrefix(run, "note/") {
			t.Fatalf("start %d: %d %v, want 201 with a new run", i, code, out)
		}
		seen[run] = true
	}
	if len(seen) != 2 {
		t.Fatalf("two keyless starts returned runs %v, want two different runs", seen)
	}
	if runs := runsOf(t, store, "note"); len(runs) != 2 {
		t.Fatalf("journal holds %d note runs, want 2", len(runs))
	}
}

func TestIdempotencyKeyHeaderDeduplicates(t *testing.T) {
	srv, store := keylessServer(t)
	code, first := start(t, srv, `{"workflow":"note","input":{"x":1}}`, "req-7")
	if code != http.StatusCreated {
		t.Fatalf("first start: %d %v", code, first)
	}
	code, again := start(t, srv, `{"workflow":"note","input":{"x":1}}`, "req-7")
	if code != http.StatusOK || again["created"] != false || again["run"] != first["run"] {
		t.Fatalf("retried start: %d %v, want 200 reporting %v", code, again, first["run"])
	}
	if code, other := start(t, srv, `{"workflow":"note","input":{"x":1}}`, "req-8"); code != http.StatusCreated || other["run"] == first["run"] {
		t.Fatalf("start with another key: %d %v", code, other)
	}
	if runs := runsOf(t, store, "note"); len(runs) != 2 {
		t.Fatalf("journal holds %d note runs, want 2", len(runs))
	}
}

func TestDefinitionKeyWinsOverIdempotencyKey(t *testing.T) {
	srv, _ := keylessServer(t)
	code, out := start(t, srv, `{"workflow":"keyed","input":{"id":"k1"}}`, "req-1")
	if code != http.StatusCreated || out["run"] != "keyed/k1" {
		t.Fatalf("start: %d %v, want run keyed/k1", code, out)
	}
	code, out = start(t, srv, `{"workflow":"keyed","input":{"id":"k1"}}`, "req-2")
	if code != http.StatusOK || out["run"] != "keyed/k1" || out["created"] != false {
		t.Fatalf("same key, other Idempotency-Key: %d %v, want the existing run keyed/k1", code, out)
	}
}

func TestIdempotencyKeyIsChecked(t *testing.T) {
	srv, _ := keylessServer(t)
	code, out := start(t, srv, `{"workflow":"note","input":{}}`, strings.Repeat("k", 300))
	if msg, _ := out["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "Idempotency-Key") {
		t.Fatalf("a 300-character Idempotency-Key: %d %v, want 400 naming the header", code, out)
	}
}

func TestListRejectsUnknownStatus(t *testing.T) {
	srv, _ := keylessServer(t)
	code, out := call(t, srv, "GET", "/v1/runs?status=reveiw", "")
	if msg, _ := out["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, `"reveiw"`) || !strings.Contains(msg, "review") {
		t.Fatalf("status=reveiw: %d %v, want 400 listing the statuses", code, out)
	}
}

func TestListRejectsUnknownWorkflow(t *testing.T) {
	srv, _ := keylessServer(t)
	code, out := call(t, srv, "GET", "/v1/runs?workflow=nte", "")
	if msg, _ := out["error"].(string); code != http.StatusBadRequest || !strings.Contains(msg, `"nte"`) || !strings.Contains(msg, "keyed, note") {
		t.Fatalf("workflow=nte: %d %v, want 400 listing the workflows", code, out)
	}
	if code, out := call(t, srv, "GET", "/v1/runs?workflow=note", ""); code != http.StatusOK {
		t.Fatalf("workflow=note: %d %v", code, out)
	}
}
