package stephttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/stephttp"
)

// TestClientClassifies checks how an attempt ends for each kind of answer a
// step server may give.
func TestClientClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		want     step.Result
		wantErr  string // substring; "" means success
		terminal bool
		kind     string
	}{
		{name: "result", status: 200, body: `{"output":{"ok":true},"state":{"n":1},"effects":[{"kind":"log","payload":1}]}`,
			want: step.Result{Output: json.RawMessage(`{"ok":true}`), State: json.RawMessage(`{"n":1}`),
				Effects: []step.Effect{{Kind: "log", Payload: json.RawMessage(`1`)}}}},
		{name: "empty result", status: 200, body: `{}`},
		{name: "terminal failure", status: 200, body: `{"error":{"message":"declined","kind":"card-declined","terminal":true}}`,
			wantErr: "declined", terminal: true, kind: "card-declined"},
		{name: "retryable failure", status: 200, body: `{"error":{"message":"busy"}}`, wantErr: "busy"},
		{name: "not JSON", status: 200, body: `<html>oops</html>`, wantErr: "not a step response", terminal: true, kind: "protocol"},
		{name: "unknown field", status: 200, body: `{"result":42}`, wantErr: `unknown field "result"`, terminal: true, kind: "protocol"},
		{name: "state not an object", status: 200, body: `{"state":[1]}`, wantErr: "not a JSON object", terminal: true, kind: "protocol"},
		{name: "effect without kind", status: 200, body: `{"effects":[{"target":"q"}]}`, wantErr: "effect 0 has no kind", terminal: true, kind: "protocol"},
		{name: "error without message", status: 200, body: `{"error":{"kind":"x"}}`, wantErr: "error without a message", terminal: true, kind: "protocol"},
		{name: "server error", status: 503, body: `overloaded`, wantErr: "503 Service Unavailable: overloaded", kind: "http"},
		{name: "throttled", status: 429, body: ``, wantErr: "429", kind: "http"},
		{name: "bad request", status: 400, body: `no`, wantErr: "400 Bad Request: no", terminal: true, kind: "http"},
		{name: "not found", status: 404, body: ``, wantErr: "404", terminal: true, kind: "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			got, err := stephttp.NewClient(srv.URL).Handle(context.Background(), step.Request{Workflow: "w", Run: "w/1", Step: "s", Function: "f", Attempt: 1, IdempotencyKey: "k"})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(got, tt.want); diff != "" {
					t.Fatalf("result (-got +want):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			f := step.FailureOf(err)
			if f.Terminal != tt.terminal || f.Kind != tt.kind {
				t.Fatalf("failure %+v, want terminal %t kind %q", f, tt.terminal, tt.kind)
			}
			if tt.kind == "protocol" && !errors.Is(err, stephttp.ErrProtocol) {
				t.Fatalf("error %v does not wrap ErrProtocol", err)
			}
		})
	}
}

func TestClientUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := stephttp.NewClient(url).Handle(context.Background(), step.Request{Function: "f"})
	if err == nil || step.IsTerminal(err) {
		t.Fatalf("error %v: want a retryable one", err)
	}
}

func TestHandlerRejectsNonRequests(t *testing.T) {
	t.Parallel()
	h := stephttp.Handler(step.Func(func(ctx context.Context, in any) (any, error) { return in, nil }))
	for _, tt := range []struct {
		method, body string
		want         int
	}{
		{"POST", `{"workflow":"w","run":"w/1","step":"s","attempt":1,"idempotencyKey":"k","input":5}`, 200},
		{"POST", `{"wat":1}`, 400},
		{"POST", `nope`, 400},
		{"GET", ``, 405},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, "/", strings.NewReader(tt.body)))
		if rec.Code != tt.want {
			t.Errorf("%s %s: status %d, want %d (%s)", tt.method, tt.body, rec.Code, tt.want, rec.Body)
		}
	}
}

func TestMapping(t *testing.T) {
	t.Parallel()
	m, err := stephttp.ParseEnv("a=http://127.0.0.1:1/a, b=https://steps.example/b")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, stephttp.Mapping{"a": "http://127.0.0.1:1/a", "b": "https://steps.example/b"}); diff != "" {
		t.Fatal(diff)
	}
	for _, bad := range []string{"a", "a=ftp://x", "a=/relative", "=http://x/"} {
		if _, err := stephttp.ParseEnv(bad); err == nil {
			t.Errorf("ParseEnv(%q): no error", bad)
		}
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "steps.yaml")
	os.WriteFile(good, []byte("steps:\n  receive: http://127.0.0.1:9001/\n"), 0o644)
	if m, err := stephttp.LoadFile(good); err != nil || m["receive"] != "http://127.0.0.1:9001/" {
		t.Fatalf("LoadFile = %v, %v", m, err)
	}
	for name, body := range map[string]string{
		"typo.yaml":  "step:\n  receive: http://x/\n",
		"empty.yaml": "steps: {}\n",
		"url.yaml":   "steps:\n  receive: localhost:9001\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := stephttp.LoadFile(p); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("LoadFile(%s): error %v, want one naming the file", name, err)
		}
	}
	reg := step.NewRegistry()
	reg.Register("receive", step.Func(func(ctx context.Context, in any) (any, error) { return in, nil }))
	if err := (stephttp.Mapping{"receive": "http://x/"}).Register(reg); err == nil || !strings.Contains(err.Error(), "receive") {
		t.Fatalf("Register over an in-process step: error %v", err)
	}
}
