package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/memjournal"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

func newServer(t testing.TB) (*httptest.Server, *embedded.Runtime, chan string) {
	t.Helper()
	reg := step.NewRegistry()
	tokens := make(chan string, 4)
	reg.Register("hello", step.Func(func(ctx context.Context, in map[string]any) (string, error) {
		if in["decline"] == true {
			return "", step.Terminal(io.ErrUnexpectedEOF)
		}
		return "hello", nil
	}))
	reg.Register("later", step.Func(func(ctx context.Context, in any) (any, error) {
		req, _ := step.RequestFrom(ctx)
		tokens <- req.Token
		return nil, nil
	}))
	def := workflow.New("greet", workflow.Key("input.id"),
		workflow.Step("hi", "hello"),
		workflow.Await("go", "proceed", workflow.After("hi"), workflow.When("has(input.wait) && input.wait")),
		workflow.Step("cb", "later", workflow.After("go"), workflow.Async(), workflow.When("has(input.async) && input.async")),
	).MustBuild(workflow.Functions(reg.Has))
	rt := embedded.New(memjournal.New(), reg)
	t.Cleanup(func() { rt.Close() })
	if err := rt.Engine.Register(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(rt.Engine, rt, rt, api.WithFunctions(reg.Has), api.WithAuthenticator(testTokens)))
	t.Cleanup(srv.Close)
	return srv, rt, tokens
}

// testTokens are the test server's callers, one per role.
var testTokens = api.Tokens{
	"admin-token":    {Name: "alice", Role: api.Admin},
	"operator-token": {Name: "olga", Role: api.Operator},
	"viewer-token":   {Name: "victor", Role: api.Viewer},
}

// call sends a request as the admin.
func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	t.Helper()
	return callAs(t, srv, "admin-token", method, path, body)
}

// callAs sends a request with the bearer token.
func callAs(t *testing.T, srv *httptest.Server, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
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

func waitStatus(t *testing.T, rt *embedded.Runtime, run string, want journal.Status) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		head, _, err := rt.Engine.Store().Load(context.Background(), run)
		if err == nil && head.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %q (%v), want %s", run, head.Status, err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartListShow(t *testing.T) {
	srv, rt, _ := newServer(t)
	code, out := call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"a"}}`)
	if code != http.StatusCreated || out["run"] != "greet/a" || out["created"] != true {
		t.Fatalf("start: %d %v", code, out)
	}
	if code, out = call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"a"}}`); code != http.StatusOK || out["created"] != false {
		t.Fatalf("duplicate start: %d %v", code, out)
	}
	waitStatus(t, rt, "greet/a", journal.StatusCompleted)
	if code, out = call(t, srv, "GET", "/v1/runs?workflow=greet&status=completed", ""); code != 200 || len(out["runs"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	code, out = call(t, srv, "GET", "/v1/runs/greet/a", "")
	if code != 200 || len(out["events"].([]any)) < 3 {
		t.Fatalf("show: %d %v", code, out)
	}
}

func TestBadRequestsNameTheProblem(t *testing.T) {
	srv, _, _ := newServer(t)
	for _, tc := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/v1/runs", `{"input":{}}`, 400, `"workflow" is required`},
		{"POST", "/v1/runs", `{"workflow":"greet","input":`, 400, "request body"},
		{"POST", "/v1/runs", `{"workflow":"greet","bogus":1}`, 400, "unknown field"},
		{"POST", "/v1/runs", `{"workflow":"nope","input":{}}`, 404, "unknown workflow"},
		{"GET", "/v1/runs?limit=x", ``, 400, "limit"},
		{"GET", "/v1/runs/greet/missing", ``, 404, "not found"},
		{"POST", "/v1/runs/greet/missing/cancel", `{}`, 404, "not found"},
		{"POST", "/v1/runs/greet/a/jump", `{}`, 404, "unknown operation"},
		{"POST", "/v1/callbacks/not-a-token", `{}`, 400, "malformed token"},
		{"POST", "/v1/definitions", "name: x\nsteps:\n  - name: a\n    function: nope\n", 400, `function "nope" is not registered`},
		{"GET", "/v1/definitions/sha256:nope/graph", ``, 404, "unknown definition"},
	} {
		code, out := call(t, srv, tc.method, tc.path, tc.body)
		if msg, _ := out["error"].(string); code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s: %d %q, want %d mentioning %q", tc.method, tc.path, code, msg, tc.code, tc.want)
		}
	}
}

func TestReviewResubmitCancel(t *testing.T) {
	srv, rt, _ := newServer(t)
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"d","decline":true}}`)
	waitStatus(t, rt, "greet/d", journal.StatusReview)
	if code, out := call(t, srv, "POST", "/v1/runs/greet/d/resubmit", `{"by":"ops","step":"hi","input":{"id":"d"}}`); code != 200 {
		t.Fatalf("resubmit: %d %v", code, out)
	}
	waitStatus(t, rt, "greet/d", journal.StatusCompleted)
	if code, _ := call(t, srv, "POST", "/v1/runs/greet/d/resubmit", `{}`); code != http.StatusConflict {
		t.Fatalf("resubmit of a completed run: %d, want 409", code)
	}
	if code, _ := call(t, srv, "POST", "/v1/runs/greet/d/cancel", `{}`); code != http.StatusConflict {
		t.Fatalf("cancel of a completed run: %d, want 409", code)
	}
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"w","wait":true}}`)
	waitStatus(t, rt, "greet/w", journal.StatusRunning)
	if code, out := call(t, srv, "POST", "/v1/runs/greet/w/cancel", `{"by":"ops","reason":"customer asked"}`); code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	waitStatus(t, rt, "greet/w", journal.StatusCancelled)
}

func TestEventsAndCallbacks(t *testing.T) {
	srv, rt, tokens := newServer(t)
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"e","wait":true,"async":true}}`)
	if code, out := call(t, srv, "POST", "/v1/runs/greet/e/events", `{"name":"proceed","payload":{"ok":1}}`); code != http.StatusAccepted {
		t.Fatalf("event: %d %v", code, out)
	}
	var tok string
	select {
	case tok = <-tokens:
	case <-time.After(5 * time.Second):
		t.Fatal("the async step never got its token")
	}
	if code, out := call(t, srv, "POST", "/v1/callbacks/"+tok+"/heartbeat", ``); code != 200 {
		t.Fatalf("heartbeat: %d %v", code, out)
	}
	// A completion carries an output only.
	if code, out := call(t, srv, "POST", "/v1/callbacks/"+tok, `{"output":"done","state":{"approved":true}}`); code != http.StatusBadRequest ||
		!strings.Contains(fmt.Sprint(out), "output only") {
		t.Fatalf("complete with a state patch: %d %v, want 400", code, out)
	}
	if code, out := call(t, srv, "POST", "/v1/callbacks/"+tok, `{"output":"done"}`); code != 200 {
		t.Fatalf("complete: %d %v", code, out)
	}
	waitStatus(t, rt, "greet/e", journal.StatusCompleted)
	if code, _ := call(t, srv, "POST", "/v1/callbacks/"+tok, `{"output":"again"}`); code != http.StatusConflict {
		t.Fatalf("completing a finished token: %d, want 409", code)
	}
}

func TestPushDefinition(t *testing.T) {
	srv, rt, _ := newServer(t)
	code, out := call(t, srv, "POST", "/v1/definitions", "name: greet\nversion: \"2\"\nkey: input.id\nsteps:\n  - name: hi\n    function: hello\n")
	if code != http.StatusCreated || out["version"] != "2" {
		t.Fatalf("push: %d %v", code, out)
	}
	if d, _ := rt.Engine.Workflow("greet"); d.Version != "2" {
		t.Fatalf("latest greet is version %s, want 2", d.Version)
	}
}
