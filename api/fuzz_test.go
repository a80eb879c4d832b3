package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzBodies posts arbitrary bodies to every write endpoint as an admin:
// no panic, never a 500, and every refusal a JSON error.
func FuzzBodies(f *testing.F) {
	paths := []string{"/v1/runs", "/v1/runs/greet/f/resubmit", "/v1/runs/greet/f/cancel", "/v1/runs/greet/f/events",
		"/v1/callbacks/eA.AAAA", "/v1/callbacks/eA.AAAA/heartbeat", "/v1/definitions"}
	for i := range paths {
		for _, b := range []string{`{"workflow":"greet","input":{"id":"f"}}`, `{"by":"x","reason":"y"}`, `{"name":"go","payload":1}`,
			`{"output":1,"effects":[{"kind":"http","target":"http://169.254.169.254/"}]}`,
			"name: greet\nversion: \"2\"\nsteps:\n  - {name: hi, function: hello}\n", `{} {}`, `[`, ``} {
			f.Add(uint8(i), []byte(b))
		}
	}
	srv, _, _ := newServer(f)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		req := httptest.NewRequest("POST", paths[int(which)%len(paths)], strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer admin-token")
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.Config.Handler.ServeHTTP(w, req)
		resp := w.Result()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("POST %s %q: %d %s", req.URL.Path, body, resp.StatusCode, b)
		}
		if resp.StatusCode >= 400 {
			var e struct{ Error string }
			if json.Unmarshal(b, &e) != nil || e.Error == "" {
				t.Fatalf("POST %s: %d without a JSON error: %s", req.URL.Path, resp.StatusCode, b)
			}
		}
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusAccepted {
			if !json.Valid(b) {
				t.Fatalf("POST %s: %d with a body that is not JSON: %s", req.URL.Path, resp.StatusCode, b)
			}
		}
	})
}
