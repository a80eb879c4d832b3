package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
)

func TestUnauthenticatedRequestsRefused(t *testing.T) {
	srv, _, _ := newServer(t)
	for name, auth := range map[string]string{"no token": "", "unknown token": "Bearer guess", "basic": "Basic YWRtaW46YWRtaW4="} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/v1/runs", nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s: %d, want 401 with WWW-Authenticate", name, resp.StatusCode)
			}
		})
	}
}

func TestServerWithoutAuthenticatorRefusesAll(t *testing.T) {
	_, rt, _ := newServer(t)
	srv := httptest.NewServer(api.New(rt.Engine, rt, rt))
	defer srv.Close()
	if code, out := callAs(t, srv, "admin-token", "GET", "/v1/runs", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET without an authenticator: %d %v, want 401", code, out)
	}
}

func TestRoles(t *testing.T) {
	srv, rt, _ := newServer(t)
	callAs(t, srv, "operator-token", "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"d","decline":true}}`)
	waitStatus(t, rt, "greet/d", journal.StatusReview)
	push := `{"name":"greet","version":"9","key":"input.id","steps":[{"name":"hi","function":"hello"}]}`
	for _, tc := range []struct {
		token, method, path, body string
		want                      int
	}{
		{"viewer-token", "GET", "/v1/runs", "", 200},
		{"viewer-token", "GET", "/v1/runs/greet/d", "", 200},
		{"viewer-token", "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"v"}}`, 403},
		{"viewer-token", "POST", "/v1/runs/greet/d/cancel", `{}`, 403},
		{"viewer-token", "POST", "/v1/callbacks/x.y", `{}`, 403},
		{"operator-token", "POST", "/v1/definitions", push, 403},
		{"operator-token", "POST", "/v1/runs/greet/d/events", `{"name":"x"}`, 202},
		{"admin-token", "POST", "/v1/definitions", push, 201},
	} {
		code, out := callAs(t, srv, tc.token, tc.method, tc.path, tc.body)
		if code != tc.want {
			t.Errorf("%s %s %s: %d %v, want %d", tc.token, tc.method, tc.path, code, out, tc.want)
		}
		if code == 403 && !strings.Contains(out["error"].(string), "role") {
			t.Errorf("403 without naming the role: %v", out)
		}
	}
	if head, _, _ := rt.Engine.Store().Load(context.Background(), "greet/d"); head.Status != journal.StatusReview {
		t.Fatalf("a viewer changed the run: %s", head.Status)
	}
}

func TestOperatorActionsJournalWho(t *testing.T) {
	srv, rt, _ := newServer(t)
	callAs(t, srv, "operator-token", "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"w","wait":true}}`)
	callAs(t, srv, "operator-token", "POST", "/v1/runs/greet/w/events", `{"name":"other"}`)
	// The body claims someone else: the journal names the caller first.
	if code, out := callAs(t, srv, "operator-token", "POST", "/v1/runs/greet/w/cancel", `{"by":"mallory"}`); code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	_, events, err := rt.Engine.Store().Load(context.Background(), "greet/w")
	if err != nil {
		t.Fatal(err)
	}
	by := map[journal.Kind]string{}
	for _, e := range events {
		if e.By != "" {
			by[e.Kind] = e.By
		}
	}
	want := map[journal.Kind]string{journal.RunStarted: "olga", journal.EventReceived: "olga", journal.Cancelled: "olga (for mallory)"}
	for k, v := range want {
		if by[k] != v {
			t.Errorf("%s by %q, want %q (all: %v)", k, by[k], v, by)
		}
	}
}

func TestPushRefusesUnknownFunctionsAndJournalsWho(t *testing.T) {
	srv, rt, _ := newServer(t)
	bad := `{"name":"greet","version":"8","key":"input.id","steps":[{"name":"hi","function":"hello"},{"name":"steal","function":"exfiltrate","after":["hi"]}]}`
	code, out := call(t, srv, "POST", "/v1/definitions", bad)
	if msg, _ := out["error"].(string); code != 400 || !strings.Contains(msg, "steal") || !strings.Contains(msg, "exfiltrate") {
		t.Fatalf("push with an unknown function: %d %v, want 400 naming step and function", code, out)
	}
	if d, _ := rt.Engine.Workflow("greet"); d.Version == "8" {
		t.Fatal("the refused definition was registered")
	}
	good := `{"name":"greet","version":"9","key":"input.id","steps":[{"name":"hi","function":"hello"}]}`
	if code, out := call(t, srv, "POST", "/v1/definitions", good); code != 201 {
		t.Fatalf("push: %d %v", code, out)
	}
	events, err := rt.Engine.Pushes(context.Background(), "greet")
	if err != nil || len(events) == 0 {
		t.Fatalf("audit trail: %d events, %v", len(events), err)
	}
	last := events[len(events)-1]
	var pushed map[string]string
	json.Unmarshal(last.Input, &pushed)
	if last.Kind != journal.DefinitionPushed || last.By != "alice" || pushed["version"] != "9" {
		t.Fatalf("audit event %+v (%v), want DefinitionPushed by alice of version 9", last, pushed)
	}
}

// The attack seen on `ordo dev`: a page on another site posting to the
// local API, through a DNS name rebound to 127.0.0.1 or directly.
func TestLoopbackRefusesCrossSiteWrites(t *testing.T) {
	_, rt, _ := newServer(t)
	srv := httptest.NewServer(api.Loopback(api.New(rt.Engine, rt, rt, api.WithAuthenticator(testTokens))))
	defer srv.Close()
	call(t, srv, "POST", "/v1/runs", `{"workflow":"greet","input":{"id":"d","decline":true}}`)
	waitStatus(t, rt, "greet/d", journal.StatusReview)
	for _, tc := range []struct {
		name, host, origin, ctype string
		want                      int
	}{
		{"rebound name", "evil.example:18080", "http://evil.example:18080", "text/plain", 403},
		{"rebound name, JSON", "evil.example:18080", "", "application/json", 403},
		{"cross-site form", "", "http://evil.example", "text/plain", 403},
		{"cross-site JSON", "", "http://evil.example", "application/json", 403},
		{"no origin, text/plain", "", "", "text/plain", 415},
		{"same origin", "", "self", "application/json", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/v1/runs/greet/d/cancel", strings.NewReader(`{"reason":"x"}`))
			req.Header.Set("Authorization", "Bearer operator-token")
			req.Header.Set("Content-Type", tc.ctype)
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.origin == "self" {
				tc.origin = srv.URL
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]string
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("%d %v, want %d", resp.StatusCode, out, tc.want)
			}
			head, _, _ := rt.Engine.Store().Load(context.Background(), "greet/d")
			if tc.want != 200 && head.Status != journal.StatusReview {
				t.Fatalf("a refused request changed the run: %s", head.Status)
			}
		})
	}
	for _, host := range []string{"localhost:8080", "127.0.0.1", "[::1]:9"} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/runs", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer viewer-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET with Host %s: %d, want 200", host, resp.StatusCode)
		}
	}
}

func TestTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ordo.db.tokens")
	tf, err := api.LoadTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := api.LoadTokenFile(path)
	if err != nil || again[api.Admin] != tf[api.Admin] || tf[api.Admin] == tf[api.Viewer] {
		t.Fatalf("reloaded %v (%v), first %v", again, err, tf)
	}
	p, err := tf.Tokens().Authenticate(&http.Request{Header: http.Header{"Authorization": {"Bearer " + tf[api.Operator]}}})
	if err != nil || p != (api.Principal{Name: "local-operator", Role: api.Operator}) {
		t.Fatalf("operator token authenticates as %+v (%v)", p, err)
	}
	os.Chmod(path, 0o644)
	if _, err := api.LoadTokenFile(path); err == nil {
		t.Fatal("a world-readable token file was accepted")
	}
}

func TestBoundedInput(t *testing.T) {
	srv, _, _ := newServer(t)
	big := `{"workflow":"greet","input":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	for _, tc := range []struct {
		method, path, body string
		want               int
		msg                string
	}{
		{"GET", "/v1/runs?limit=9223372036854775807", "", 400, "from 0 to 1000"},
		{"GET", "/v1/runs?cursor=zzzz", "", 400, "invalid cursor"},
		{"POST", "/v1/runs", `{"workflow":"greet","input":{"id":"g"}} trailing`, 400, "more after the JSON value"},
		{"POST", "/v1/runs", `{"workflow":"greet","input":{"id":"g"}}{"workflow":"greet"}`, 400, "more after the JSON value"},
		{"POST", "/v1/runs", big, 413, "too large"},
		{"POST", "/v1/runs", `{"workflow":"greet","key":"a\u0000b"}`, 400, "control character"},
	} {
		code, out := call(t, srv, tc.method, tc.path, tc.body)
		if msg, _ := out["error"].(string); code != tc.want || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s %s: %d %.200v, want %d mentioning %q", tc.method, tc.path, code, out, tc.want, tc.msg)
		}
	}
}
